"""Healthy itself, but requires a plugin that fails to start."""

from mindframe.sdk import PluginContext, hookimpl


@hookimpl
async def startup(ctx: PluginContext) -> None:
    ctx.log.info("never reached")
