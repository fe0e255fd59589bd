"""Implements a hook name with a typo."""

from mindframe.sdk import PluginContext, hookimpl


@hookimpl
async def startp(ctx: PluginContext) -> None:
    pass
