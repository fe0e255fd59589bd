"""An in-process WebSocket client for tests: ASGI messages in the test's own event loop,
so the app's handlers share the booted runtime's bus and database."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import anyio

WEBSOCKET_TIMEOUT = 5.0


class WebSocketClosed(Exception):
    """The app closed or refused the WebSocket; `code` and `reason` say why."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"WebSocket closed by the app: {code} {reason}".rstrip())
        self.code = code
        self.reason = reason


class WebSocketSession:
    """The client end of one WebSocket conversation with an ASGI app, spoken as ASGI
    messages in the test's own event loop (so handlers share its bus and database)."""

    def __init__(self, to_app: Any, from_app: Any, timeout: float) -> None:
        self._to_app = to_app
        self._from_app = from_app
        self.timeout = timeout
        self.subprotocol: str | None = None

    async def send_text(self, text: str) -> None:
        await self._to_app.send({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        await self._to_app.send({"type": "websocket.receive", "bytes": data})

    async def send_json(self, value: Any) -> None:
        await self.send_text(json.dumps(value))

    async def receive(self) -> dict[str, Any]:
        """The app's next `websocket.send`; raises WebSocketClosed when it closed instead."""
        with anyio.fail_after(self.timeout):
            message = await self._from_app.receive()
        if message["type"] == "websocket.close":
            raise WebSocketClosed(message.get("code", 1000), message.get("reason") or "")
        return message

    async def receive_text(self) -> str:
        message = await self.receive()
        return message["text"] if message.get("text") is not None else message["bytes"].decode()

    async def receive_bytes(self) -> bytes:
        message = await self.receive()
        return message["bytes"] if message.get("bytes") is not None else message["text"].encode()

    async def receive_json(self) -> Any:
        return json.loads(await self.receive_text())


@asynccontextmanager
async def connect_websocket(
    app: Any,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    subprotocols: Iterable[str] = (),
    timeout: float = WEBSOCKET_TIMEOUT,
) -> AsyncIterator[WebSocketSession]:
    """Open a WebSocket on `app` at `path`; raises WebSocketClosed if the app refuses it.

    Written for the harness rather than taken from httpx-ws, whose ASGI transport leaves a
    cancel scope behind on exit (frankie567/httpx-ws#108) and breaks the runtime's task group."""
    path, _, query = path.partition("?")
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "http_version": "1.1",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [
            (b"host", b"mindframe.test"),
            *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("mindframe.test", 80),
        "subprotocols": list(subprotocols),
        "state": {},
    }
    to_app, app_inbox = anyio.create_memory_object_stream[dict[str, Any]](math.inf)
    app_outbox, from_app = anyio.create_memory_object_stream[dict[str, Any]](math.inf)
    finished = anyio.Event()

    async def serve() -> None:
        try:
            await app(scope, app_inbox.receive, app_outbox.send)
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            await app_outbox.send({"type": "websocket.close", "code": 1011, "reason": reason})
        finally:
            finished.set()

    refused: WebSocketClosed | None = None
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(serve)
        session = WebSocketSession(to_app, from_app, timeout)
        await to_app.send({"type": "websocket.connect"})
        try:
            with anyio.fail_after(timeout):
                first = await from_app.receive()
            if first["type"] == "websocket.accept":
                session.subprotocol = first.get("subprotocol")
            elif first["type"] == "websocket.close":
                refused = WebSocketClosed(first.get("code", 1000), first.get("reason") or "")
            else:
                refused = WebSocketClosed(first.get("status", 403), "upgrade refused")
            if refused is None:
                yield session
        finally:
            await to_app.send({"type": "websocket.disconnect", "code": 1000})
            with anyio.move_on_after(timeout, shield=True):
                await finished.wait()
            task_group.cancel_scope.cancel()
    if refused is not None:
        raise refused
