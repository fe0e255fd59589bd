"""The WebSocket endpoints plugins declare (`ctx.socket`), and the live connections of each.

An endpoint belongs to the kernel and outlives the plugin versions that handle it. When a
plugin is reloaded its handler is withdrawn while the dispatcher holds the plugin; the
connections stay open, frames wait on the hold, and when the new version has started and
declared the same path it adopts every live connection (`on_resume`) before the held frames
reach it. Only when no version takes the endpoint over (the path was dropped, the plugin was
disabled or failed) are its sockets closed, with `RECONNECT_NOW`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .socket_connection import RECONNECT_NOW, Connection

log = logging.getLogger("mindframe.sockets")
ErrorReporter = Callable[[BaseException, dict[str, Any]], None]


class SocketHandler(Protocol):
    """What a plugin hands `ctx.socket`. Every method is optional and may be async:
    `on_connect(conn)`, `on_message(conn, data)` (data is `str` for a text frame, `bytes`
    for a binary one), `on_disconnect(conn)`, and `on_resume(conn)`, called on a new version
    for each connection it takes over from the previous one."""


@dataclass(eq=False)
class Endpoint:
    """One socket path of one plugin: the handler serving it now, and its live connections."""

    plugin: str
    path: str
    handler: Any = None
    report: ErrorReporter | None = None
    connections: dict[str, Connection] = field(default_factory=dict)
    orphans: list[Connection] = field(default_factory=list)
    """Connections a withdrawn handler left behind, to be adopted by the next version."""

    def live(self) -> list[Connection]:
        """The connections open now, in the order they connected."""
        return [c for c in self.connections.values() if not c.closed]

    def close_all(self, code: int, reason: str) -> None:
        for connection in list(self.connections.values()):
            connection.close_soon(code, reason)

    async def call(self, method: str, connection: Connection, *args: Any) -> bool:
        """Run the current handler's `method` for `connection`, if it has one. An error is
        reported (never raised): one bad frame or handler bug harms no other socket.
        Returns False when the method raised."""
        handler = self.handler
        function = getattr(handler, method, None) if handler is not None else None
        if function is None:
            return True
        try:
            result = function(connection, *args)
            if inspect.isawaitable(result):
                await result
        except Exception as error:
            log.exception("plugin %s: socket %s: %s raised", self.plugin, self.path, method)
            if self.report is not None:
                context = {"plugin": self.plugin, "socket": self.path, "hook": method}
                self.report(error, context)
            return False
        return True


class SocketRegistry:
    """Every declared endpoint by its full path (`/api/<plugin>/…`); `is_held(plugin)` says
    whether the plugin is being reloaded (the dispatcher holds it)."""

    def __init__(self, is_held: Callable[[str], bool]) -> None:
        self.is_held = is_held
        self.endpoints: dict[str, Endpoint] = {}

    def find(self, path: str) -> Endpoint | None:
        return self.endpoints.get(path)

    def of(self, plugin: str) -> list[Endpoint]:
        return [e for e in self.endpoints.values() if e.plugin == plugin]

    def declare(
        self, plugin: str, path: str, handler: Any, report: ErrorReporter | None = None
    ) -> Endpoint:
        """Serve `/api/<plugin><path>` with `handler`; an endpoint a reload left without a
        handler is taken over with its connections."""
        if not path.startswith("/"):
            raise ValueError(f"socket path {path!r} must start with '/'")
        full = f"/api/{plugin}{path}".rstrip("/")
        endpoint = self.endpoints.get(full)
        if endpoint is None:
            endpoint = self.endpoints[full] = Endpoint(plugin, full)
        elif endpoint.handler is not None:
            raise ValueError(f"plugin '{plugin}' already serves a socket at {full}")
        endpoint.handler, endpoint.report = handler, report
        endpoint.orphans = endpoint.live()
        return endpoint

    def withdraw(self, endpoint: Endpoint, handler: Any) -> None:
        """The plugin version that declared `endpoint` is stopping. During a reload the
        connections wait for the next version; otherwise they are closed (reconnect now)."""
        if endpoint.handler is handler:
            endpoint.handler = None
        if not self.is_held(endpoint.plugin):
            self._retire(endpoint, "the plugin serving this socket stopped")

    async def activate(self, plugin: str) -> None:
        """The plugin has (re)started: its new version adopts the connections its previous
        one left (`on_resume` on each, before any held frame); endpoints it no longer
        declares are closed."""
        for endpoint in self.of(plugin):
            if endpoint.handler is None:
                self._retire(endpoint, "this socket's endpoint is gone")
                continue
            orphans, endpoint.orphans = endpoint.orphans, []
            for connection in orphans:
                if not connection.closed:
                    await endpoint.call("on_resume", connection)

    def settle(self, plugin: str) -> None:
        """A hold on the plugin ended: whatever no version took over is closed."""
        for endpoint in self.of(plugin):
            if endpoint.handler is None:
                self._retire(endpoint, "no version of the plugin took this socket over")

    def _retire(self, endpoint: Endpoint, reason: str) -> None:
        endpoint.close_all(RECONNECT_NOW, reason)
        endpoint.orphans = []
        if self.endpoints.get(endpoint.path) is endpoint:
            del self.endpoints[endpoint.path]

    def counts(self) -> dict[str, int]:
        """Live connections per endpoint path, for health and tests."""
        return {path: len(e.live()) for path, e in self.endpoints.items()}
