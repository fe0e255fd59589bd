"""The example plugin: every kind of hook a feature plugin usually needs, in a few lines."""

from __future__ import annotations

from typing import Any

from mindframe.sdk import PluginContext, hookimpl

from . import models, routes
from .events import Greeted
from .service import GreetingService
from .settings import HelloSettings


@hookimpl
def settings_model() -> type[HelloSettings]:
    return HelloSettings


@hookimpl
def register_services(ctx: PluginContext) -> None:
    ctx.provide(GreetingService, GreetingService(ctx))


@hookimpl
def register_tables(ctx: PluginContext) -> Any:
    return models.metadata


@hookimpl
def register_subscriptions(ctx: PluginContext) -> None:
    async def count_greeting(event: Greeted) -> None:
        ctx.log.debug("greeted %s", event.name)

    ctx.subscribe(Greeted.topic, count_greeting)


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    return [routes.create_greeting, routes.show_greeting, routes.list_names]


@hookimpl
async def health(ctx: PluginContext) -> dict[str, Any]:
    greetings = await ctx.resolve(GreetingService).count()
    return {"ok": True, "greetings": greetings}
