"""`/api/mcp/`: the MCP endpoint (streamable HTTP) inside this plugin's Litestar app, for
callers with an API token (or a session) holding `mcp.use`."""

from __future__ import annotations

from typing import Any

from litestar import asgi
from litestar.types import Receive, Scope, Send

from mindframe.sdk.auth import identity_of, requires_permission

from .server import IDENTITY_KEY

USE = "mcp.use"


def endpoint(serve: Any) -> Any:
    """The mounted ASGI handler: the guard authenticates, `serve` (the MCP server) answers."""

    @asgi("/", is_mount=True, guards=[requires_permission(USE)], copy_scope=False)
    async def mcp_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        from litestar.connection import ASGIConnection

        scope[IDENTITY_KEY] = identity_of(ASGIConnection(scope))  # type: ignore[literal-required]
        await serve(scope, receive, send)

    return mcp_endpoint
