"""A healthy plugin that must keep running whatever its neighbours do."""

from typing import Any

from litestar import get

from mindframe.sdk import PluginContext, hookimpl


@get("/ping")
async def ping() -> dict[str, str]:
    return {"pong": "steady"}


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    return [ping]
