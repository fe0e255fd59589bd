"""mcp: every agent as a Model Context Protocol tool at `/api/mcp/` (streamable HTTP, API
tokens holding `mcp.use`); connected clients hear when the tool list changes."""

from __future__ import annotations

from typing import Any

from mindframe.sdk import PluginContext, hookimpl
from mindframe.sdk.agents import AgentRegistry
from mindframe.sdk.auth import declare_permissions

from .mount import USE, endpoint
from .service import McpService

PERMISSIONS = {USE: "Use the agents as tools over the Model Context Protocol"}


@hookimpl
def register_services(ctx: PluginContext) -> None:
    ctx.provide(McpService, McpService(ctx))
    declare_permissions(ctx, PERMISSIONS)


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    return [endpoint(ctx.resolve(McpService).handle)]


@hookimpl
def startup(ctx: PluginContext) -> None:
    service = ctx.resolve(McpService)
    ctx.on_unload(ctx.resolve(AgentRegistry).watch(service.registry_changed), "registry watch")


@hookimpl
def health(ctx: PluginContext) -> dict[str, Any]:
    service = ctx.resolve(McpService)
    changes = service.changes
    return {
        "ok": True,
        "serving": service.sessions is not None,
        "announced_changes": changes.announced if changes is not None else 0,
    }
