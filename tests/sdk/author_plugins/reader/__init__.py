"""Serves the time the clock plugin's service tells."""

from typing import Any

from litestar import get
from mindframe_plugins.clock.contracts import Clock

from mindframe.sdk import PluginContext, hookimpl


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    @get("/now")
    async def now() -> str:
        return ctx.resolve(Clock).now()

    return [now]
