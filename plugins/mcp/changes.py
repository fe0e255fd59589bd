"""Telling connected MCP clients that the tool list changed: on a `subscriptions/listen`
stream (the 2026-07-28 protocol) and on each handshake-era session's standing stream."""

from __future__ import annotations

import logging
from typing import Any

import anyio

log = logging.getLogger("mindframe.plugins.mcp")


class ToolListChanges:
    """Collects registry changes and announces them, once per burst, to every client."""

    def __init__(self) -> None:
        from mcp.server.subscriptions import InMemorySubscriptionBus

        self.bus = InMemorySubscriptionBus()
        self.sessions: dict[str, Any] = {}
        """The latest `ServerSession` of each handshake-era client, by its `Mcp-Session-Id`:
        its notifications without a request go out on the client's standing stream."""
        self.announced = 0
        self._changed = anyio.Event()

    def remember(self, request_context: Any) -> None:
        """Keep a handshake-era client's session, to send it `tools/list_changed`."""
        from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

        request = request_context.request
        session_id = request.headers.get("mcp-session-id") if request is not None else None
        if session_id and request_context.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS:
            self.sessions[session_id] = request_context.session

    def changed(self) -> None:
        """The registry changed (called by its watcher, in the event loop)."""
        self._changed.set()

    async def announce_forever(self) -> None:
        """Announce each change; runs until the plugin unloads."""
        from mcp.server.subscriptions import ToolsListChanged

        while True:
            await self._changed.wait()
            self._changed = anyio.Event()
            await self.bus.publish(ToolsListChanged())
            for session_id, session in list(self.sessions.items()):
                try:
                    await session.send_tool_list_changed()
                except Exception as error:  # a client gone away: forget it
                    log.debug("mcp: session %s missed the tool list change: %s", session_id, error)
                    self.sessions.pop(session_id, None)
            self.announced += 1
