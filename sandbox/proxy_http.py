"""Forwarding one HTTP request from the kernel's ASGI server to the child, and back.

Both bodies stream: request chunks after the first go out as `HttpBody` frames, at most
`WINDOW` ahead of what the child's app has read; response chunks come back the same way
and are acknowledged as they are written to the client. A child that is down answers 503
with the reason; one that dies mid-request answers 503 if nothing was sent yet, otherwise
the response is cut off (the client sees an incomplete body, never a hang).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING
from urllib.parse import unquote

from litestar.handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send

# The kernel's own problem-response writer (the dispatcher's 503 for a plugin that is
# down); private in kernel/http/asgi.py for now, hence this one alias.
from mindframe.kernel.http.asgi import send_problem

from . import protocol as p
from .supervisor import ChildProcess, Stream

if TYPE_CHECKING:
    from .proxy import SandboxProxy

log = logging.getLogger("mindframe.sandbox")
RETRY_SOON = [(b"retry-after", b"1")]  # a restarting child is usually back within a second


class ProxyMount(ASGIRouteHandler):
    """A Litestar ASGI mount for every method and path under one of the plugin's prefixes
    (`/api/<plugin>` or `/<plugin>`), forwarding to the child. (The kernel's merged OpenAPI
    document gets the child's routes from `SandboxedCode.openapi`.)"""

    def __init__(self, proxy: SandboxProxy, prefix: str) -> None:
        super().__init__(path="/", is_mount=True, copy_scope=False)

        # Only a function refers to the proxy: Litestar deep-copies the routers it is
        # given, and a function is copied by reference.
        async def forward(scope: Scope, receive: Receive, send: Send) -> None:
            await proxy_request(proxy, prefix, scope, receive, send)

        self(forward)


async def proxy_request(
    proxy: SandboxProxy, prefix: str, scope: Scope, receive: Receive, send: Send
) -> None:
    child = proxy.supervisor.ready_child() if proxy.supervisor is not None else None
    if child is None:
        reason = (
            proxy.supervisor.unavailable_reason()
            if proxy.supervisor is not None
            else f"plugin '{proxy.name}' is not started"
        )
        await send_problem(send, 503, reason, {"plugin": proxy.name}, RETRY_SOON)
        return
    raw_path: bytes | None = scope.get("raw_path")
    if raw_path:
        path = unquote(raw_path.decode("latin-1"))
    else:
        path = prefix + scope["path"].rstrip("/")
        raw_path = path.encode()
    first = await receive()
    if first["type"] != "http.request":
        return
    more = bool(first.get("more_body", False))
    rid = child.new_id()
    stream = child.streams[rid] = Stream()
    client = scope.get("client")
    server = scope.get("server")
    child.conn.send_nowait(
        p.HttpRequest(
            id=rid,
            method=scope["method"],
            path=path,
            raw_path=raw_path,
            query_string=scope.get("query_string", b""),
            headers=[(bytes(k), bytes(v)) for k, v in scope["headers"]],
            http_version=scope.get("http_version", "1.1"),
            scheme=scope.get("scheme", "http"),
            client=tuple(client) if client else None,  # type: ignore[arg-type]
            server=tuple(server) if server else None,  # type: ignore[arg-type]
            body=bytes(first.get("body", b"")),
            more=more,
        )
    )
    pump = asyncio.ensure_future(_pump_request(child, rid, stream, receive)) if more else None
    try:
        await _relay_response(proxy, child, rid, stream, send)
    finally:
        child.streams.pop(rid, None)
        if pump is not None:
            pump.cancel()


async def _pump_request(child: ChildProcess, rid: int, stream: Stream, receive: Receive) -> None:
    """Send the rest of the request body, `WINDOW` chunks ahead of the child at most."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            child.conn.send_nowait(p.HttpAbort(id=rid))
            return
        more = bool(message.get("more_body", False))
        if more:
            await stream.credits.acquire()
        await child.conn.send(p.HttpBody(id=rid, body=bytes(message.get("body", b"")), more=more))
        if not more:
            return


async def _relay_response(
    proxy: SandboxProxy, child: ChildProcess, rid: int, stream: Stream, send: Send
) -> None:
    frames = stream.frames
    started = False
    while True:
        frame = await frames.get()
        if isinstance(frame, p.HttpAck):
            for _ in range(frame.count):
                stream.credits.release()
            continue
        if isinstance(frame, str | p.HttpAbort):
            if not started:
                if isinstance(frame, str):
                    await send_problem(send, 503, frame, {"plugin": proxy.name}, RETRY_SOON)
                else:
                    detail = f"plugin '{proxy.name}' failed to answer the request"
                    await send_problem(send, 502, detail, {"plugin": proxy.name})
                return
            raise ConnectionAbortedError(f"plugin '{proxy.name}' stopped mid-response")
        if isinstance(frame, p.HttpResponse):
            started = True
            await send(
                {"type": "http.response.start", "status": frame.status, "headers": frame.headers}
            )
        elif not isinstance(frame, p.HttpBody):
            continue
        try:
            await send({"type": "http.response.body", "body": frame.body, "more_body": frame.more})
        except Exception:
            with contextlib.suppress(Exception):
                child.conn.send_nowait(p.HttpAbort(id=rid))
            raise
        if not frame.more:
            return
        child.conn.send_nowait(p.HttpAck(id=rid, count=1))
