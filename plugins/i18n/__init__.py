"""Translations for every plugin: the `.po` catalogs the kernel declares as each plugin
starts (compiled in memory when a locale is first asked for), the locale chosen per request,
Babel formats, and the `mindframe i18n` command for catalog upkeep."""

from __future__ import annotations

from typing import Any

import click

from mindframe.sdk import PluginContext, hookimpl
from mindframe.sdk.i18n import Translations

from . import routes
from .service import I18nService
from .settings import I18nSettings


@hookimpl
def settings_model() -> type[I18nSettings]:
    return I18nSettings


@hookimpl
def register_services(ctx: PluginContext) -> None:
    kernel_locales = ctx.folder.parent.parent / "locales" if ctx.folder else None
    ctx.provide(Translations, I18nService(ctx, ctx.settings.default_locale, kernel_locales))


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    return [routes.list_locales, routes.preview]


@hookimpl
def register_cli(group: click.Group) -> None:
    from .cli import i18n

    group.add_command(i18n)
