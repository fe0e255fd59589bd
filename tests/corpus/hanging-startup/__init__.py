"""A plugin whose startup never returns."""

import anyio

from mindframe.sdk import PluginContext, hookimpl


@hookimpl
async def startup(ctx: PluginContext) -> None:
    await anyio.sleep_forever()
