"""mcp: every agent as a Model Context Protocol tool at `/api/mcp/` (streamable HTTP, API
tokens holding `mcp.use`); connected clients hear when the tool list changes."""

from __future__ import annotations

from typing import Any

from mindframe.sdk import PluginContext, hookimpl
from mindframe.sdk.agents import AgentRegistry
from mindframe.sdk.auth import declare_permissions

from .changes import ToolListChanges
from .mount import USE, endpoint
from .server import build_server

PERMISSIONS = {USE: "Use the agents as tools over the Model Context Protocol"}


class McpService:
    """This plugin's state: the server, its session manager and the change announcer."""

    def __init__(self, ctx: PluginContext) -> None:
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

        self.changes = ToolListChanges()
        self.server = build_server(ctx, self.changes)
        self.sessions = StreamableHTTPSessionManager(app=self.server)

    async def serve(self) -> None:
        """Run the session manager until the plugin unloads."""
        import anyio

        async with self.sessions.run():
            await anyio.sleep_forever()


@hookimpl
def register_services(ctx: PluginContext) -> None:
    ctx.provide(McpService, McpService(ctx))
    declare_permissions(ctx, PERMISSIONS)


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    return [endpoint(ctx.resolve(McpService).sessions)]


@hookimpl
async def startup(ctx: PluginContext) -> None:
    service = ctx.resolve(McpService)
    ctx.spawn(service.serve, name="mcp sessions")
    ctx.spawn(service.changes.announce_forever, name="mcp tool list changes")
    ctx.on_unload(ctx.resolve(AgentRegistry).watch(service.changes.changed), "registry watch")


@hookimpl
def health(ctx: PluginContext) -> dict[str, Any]:
    changes = ctx.resolve(McpService).changes
    return {"ok": True, "announced_changes": changes.announced}
