"""`I18nService`: the `Translations` service. A plugin's catalogs are found where the kernel
declared them at its start, compiled the first time a locale is asked for, and compiled
anew when the plugin reloads (a new declaration); the kernel's own catalog (`locales/`) is
every plugin's fallback."""

from __future__ import annotations

import gettext
from pathlib import Path

from mindframe.sdk import PluginContext
from mindframe.sdk.i18n import (
    KERNEL_CATALOG,
    LOCALES,
    Localizer,
    PluginCatalogs,
    Translations,
    declared_catalogs,
)

from .catalogs import load_locale


class I18nService(Translations):
    def __init__(self, ctx: PluginContext, default_locale: str, kernel_locales: Path | None):
        self.default_locale = default_locale
        self._ctx = ctx
        self._kernel = PluginCatalogs(KERNEL_CATALOG, (kernel_locales,) if kernel_locales else ())
        self._compiled: dict[tuple[str, str], tuple[PluginCatalogs | None, Localizer]] = {}

    def localizer(self, plugin: str, locale: str | None = None) -> Localizer:
        locale = locale if locale in LOCALES else self.default_locale
        declared = (
            self._kernel if plugin == KERNEL_CATALOG else declared_catalogs(self._ctx, plugin)
        )
        compiled = self._compiled.get((plugin, locale))
        if compiled is None or compiled[0] is not declared:
            compiled = declared, self._compile(declared, locale)
            self._compiled[plugin, locale] = compiled
        return compiled[1]

    def _compile(self, declared: PluginCatalogs | None, locale: str) -> Localizer:
        catalog = load_locale(declared.folders, locale) if declared is not None else None
        if declared is not self._kernel:
            fallback = self.localizer(KERNEL_CATALOG, locale).catalog
            if catalog is None:
                return Localizer(locale, fallback)
            catalog.add_fallback(fallback)
        return Localizer(locale, catalog or gettext.NullTranslations())
