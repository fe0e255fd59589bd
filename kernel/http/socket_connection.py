"""`Connection`: one live WebSocket, owned by the kernel rather than by the plugin serving it.

A plugin's socket handler is code that can be reloaded; the connection is not. It carries
who connected, in which locale, and a `state` dict that every version of the handler sees,
so a new version takes the socket over where the old one left it.

Sending never waits for the client: frames go to a bounded outbox that one writer task
drains in order. A client too slow to keep up is closed with `TRY_AGAIN_LATER` (it
reconnects and catches up) instead of stalling whoever is sending to many sockets.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import msgspec

RECONNECT_NOW = 1012
"""Close code "service restart": the handler that served this socket is gone (its endpoint
was removed or its plugin disabled); a client reconnects at once and resumes."""
TRY_AGAIN_LATER = 1013
"""Close code for a client that read too slowly for its outbox: reconnect and catch up."""
UNAUTHORIZED = 4401
"""Close code for a wrong, expired or revoked credential (the reason says which)."""
FORBIDDEN = 4403
OUTBOX_LIMIT = 1024
_encode = msgspec.json.Encoder().encode


class Connection:
    """One WebSocket: `send_json`, `send_text`, `send_bytes`, `close`; `id`, `identity`
    (the signed-in user, or None), `locale`, `query`, `headers` and `state` (plain data that
    outlives handler versions)."""

    def __init__(
        self,
        scope: dict[str, Any],
        send: Callable[[dict[str, Any]], Any],
        *,
        plugin: str,
        identity: Any = None,
        locale: str | None = None,
        outbox_limit: int = OUTBOX_LIMIT,
    ) -> None:
        self.id = secrets.token_urlsafe(12)
        self.plugin = plugin
        self.path: str = scope["path"]
        self.scope = scope
        self.identity = identity
        self.locale = locale
        self.state: dict[str, Any] = {}
        self.opened_at = time.time()
        self.close_code: int | None = None
        self.close_reason = ""
        self._send = send
        self._outbox: deque[dict[str, Any]] = deque()
        self._outbox_limit = outbox_limit
        self._unfinished: tuple[Any, Any] | None = None
        self._waiter: asyncio.Future[None] | None = None
        """Set while the writer waits for frames; a plain future, as the bus's queues use:
        a fan-out to thousands of sockets wakes thousands of writers."""
        self._gone = False

    def __repr__(self) -> str:
        return f"Connection({self.id!r}, {self.path!r})"

    @property
    def query(self) -> dict[str, str]:
        """The query string's parameters (the last value of each)."""
        return dict(parse_qsl(self.scope.get("query_string", b"").decode("latin-1")))

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode("latin-1"): v.decode("latin-1") for k, v in self.scope["headers"]}

    @property
    def client(self) -> str | None:
        client = self.scope.get("client")
        return client[0] if client else None

    @property
    def closed(self) -> bool:
        """Closed by the server, or gone from the client's side: sending does nothing."""
        return self._gone or self.close_code is not None

    # --- sending ---------------------------------------------------------------------------

    async def send_json(self, value: Any) -> None:
        """Send `value` as a JSON text frame (msgspec encodes it: dataclasses, structs,
        datetimes)."""
        self._put({"type": "websocket.send", "text": _encode(value).decode()})

    async def send_text(self, text: str) -> None:
        self._put({"type": "websocket.send", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        self._put({"type": "websocket.send", "bytes": data})

    def send_text_nowait(self, text: str) -> None:
        """`send_text` for code that must not await: a fan-out loop that a reload must not
        cut in half (sending never waits for the client anyway)."""
        self._put({"type": "websocket.send", "text": text})

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close after the frames already queued; later sends are dropped."""
        self.close_soon(code, reason)

    def _put(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        if len(self._outbox) >= self._outbox_limit:
            self._outbox.clear()
            self.close_soon(TRY_AGAIN_LATER, "the client read too slowly; reconnect")
            return
        waiter = self._waiter
        if waiter is not None and not waiter.done() and not self._outbox:
            self._send_now(message)  # the writer is idle: no queue, no task to wake
            return
        self._outbox.append(message)
        self._wake()

    def _send_now(self, message: dict[str, Any]) -> None:
        """Send at once, from the caller's own step, when the server's `send` completes
        without waiting (the usual case: uvicorn only waits while the client is not
        reading). If it does wait, the half-done send is left to the writer task, which
        finishes it before anything sent later. This spares a fan-out to thousands of idle
        sockets a task switch per socket."""
        sending = self._send(message)
        try:
            waiting_on = sending.send(None)
        except StopIteration:
            return
        except Exception:  # the client went away (uvicorn's ClientDisconnected), or worse
            self.gone()
            return
        self._unfinished = (sending, waiting_on)
        self._wake()

    async def _finish_unfinished(self) -> None:
        """Drive the send `_send_now` left waiting to its end, as a task would."""
        assert self._unfinished is not None
        sending, waiting_on = self._unfinished
        try:
            while not self._gone:
                if waiting_on is None:
                    await asyncio.sleep(0)
                else:  # uvicorn wakes it when the client reads, or disconnects
                    await asyncio.wait([waiting_on])
                try:
                    waiting_on = sending.send(None)
                except StopIteration:
                    return
        finally:
            self._unfinished = None
            sending.close()

    def close_soon(self, code: int = 1000, reason: str = "") -> None:
        """`close` for code that cannot await (the kernel retiring an endpoint)."""
        if self.closed:
            return
        self.close_code, self.close_reason = code, reason[:120]
        self._wake()

    # --- the kernel's side -----------------------------------------------------------------

    def gone(self) -> None:
        """The client disconnected: nothing more can be sent."""
        self._gone = True
        self._outbox.clear()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def write(self) -> None:
        """Drain the outbox into the socket in order until closed or gone; run by the
        kernel in a task of its own for the connection's life."""
        while True:
            try:
                if self._unfinished is not None:
                    await self._finish_unfinished()
                while self._outbox and not self._gone:
                    await self._send(self._outbox.popleft())
                if self._gone:
                    return
                if self.close_code is not None:
                    close = {"code": self.close_code, "reason": self.close_reason}
                    await self._send({"type": "websocket.close", **close})
                    return
            except Exception:  # the client went away mid-send (uvicorn's ClientDisconnected)
                self.gone()
                return
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
