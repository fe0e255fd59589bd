"""`McpService`: the MCP server, made on the first request and run until the plugin unloads."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio

from mindframe.sdk import PluginContext

from .changes import ToolListChanges
from .server import build_server


class McpService:
    """This plugin's state: the MCP server, its session manager and the change announcer,
    made at the first MCP request (importing the `mcp` SDK takes over a second, which a
    server start should not pay for a protocol nobody may use)."""

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.changes: ToolListChanges | None = None
        self.sessions: Any = None
        self._lock = asyncio.Lock()
        self._serving = asyncio.Event()

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve one MCP request, starting the server on the first."""
        if not self._serving.is_set():
            await self._start()
        await self.sessions.handle_request(scope, receive, send)

    def registry_changed(self) -> None:
        if self.changes is not None:
            self.changes.changed()

    async def _start(self) -> None:
        async with self._lock:
            if self.sessions is None:
                from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

                self.changes = ToolListChanges()
                server = build_server(self.ctx, self.changes)
                self.sessions = StreamableHTTPSessionManager(app=server)
                self.ctx.spawn(self._serve, name="mcp sessions")
                self.ctx.spawn(self.changes.announce_forever, name="mcp tool list changes")
        await self._serving.wait()

    async def _serve(self) -> None:
        """Run the session manager until the plugin unloads."""
        async with self.sessions.run():
            self._serving.set()
            await anyio.sleep_forever()
