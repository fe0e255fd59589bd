"""The MCP server: a low-level `mcp` `Server` whose tools are the agents in the registry,
answering each caller with the agents they may run, in their language."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mindframe.sdk import PluginContext
from mindframe.sdk.agents import AgentRegistry
from mindframe.sdk.auth import Identity
from mindframe.sdk.i18n import AS_WRITTEN, Localizer, Translations

from . import tools
from .changes import ToolListChanges

if TYPE_CHECKING:
    from mcp.server import Server

IDENTITY_KEY = "mindframe.mcp.identity"
"""Where the mounted app leaves the authenticated caller in the ASGI scope, for the tools."""


def build_server(ctx: PluginContext, changes: ToolListChanges) -> Server[Any]:
    import mcp_types

    from mcp.server import Server
    from mcp.server.subscriptions import ListenHandler

    registry = ctx.resolve(AgentRegistry)

    def caller(request_context: Any) -> Identity:
        request = request_context.request
        identity = request.scope.get(IDENTITY_KEY) if request is not None else None
        if identity is None:
            raise PermissionError("an MCP call without an authenticated caller")
        return identity

    def localizer(identity: Identity, agent: str) -> Localizer:
        registration = ctx.registration("translations")
        if registration is None:
            return AS_WRITTEN
        translations: Translations = registration.get()
        return translations.localizer(agent, translations.negotiate(identity.locale))

    async def list_tools(request_context: Any, params: Any) -> mcp_types.ListToolsResult:
        identity = caller(request_context)
        changes.remember(request_context)
        return mcp_types.ListToolsResult(
            tools=[
                tools.tool_of(entry, localizer(identity, entry.name))
                for entry in registry.all()
                if tools.may_run(identity, entry)
            ]
        )

    async def call_tool(request_context: Any, params: Any) -> mcp_types.CallToolResult:
        identity = caller(request_context)
        changes.remember(request_context)
        entry = registry.get(params.name)
        l10n = localizer(identity, params.name if entry is not None else ctx.name)
        return await tools.call(entry, params.name, params.arguments or {}, identity, l10n)

    return Server(
        "mindframe",
        version=ctx.version,
        instructions="Mindframe's agents, each a tool taking its input schema.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_subscriptions_listen=ListenHandler(changes.bus),
    )
