"""A plugin whose startup raises after it had registered a service."""

from mindframe.sdk import PluginContext, hookimpl


class Leaky:
    pass


@hookimpl
def register_services(ctx: PluginContext) -> None:
    ctx.provide(Leaky, Leaky())


@hookimpl
async def startup(ctx: PluginContext) -> None:
    raise RuntimeError("database password missing")
