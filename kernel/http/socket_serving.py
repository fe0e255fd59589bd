"""Serving one WebSocket of a declared endpoint: the kernel accepts it, learns who connected,
and owns the receive loop, handing each frame to the handler of the plugin version active
at that moment. A frame that arrives while the plugin is being reloaded waits on the same
hold as HTTP requests, then goes to the new version.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import anyio
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException

from .current_request import REQUEST_SCOPE
from .problems import problem_body
from .socket_connection import FORBIDDEN, RECONNECT_NOW, UNAUTHORIZED, Connection
from .socket_endpoints import Endpoint

AUTHENTICATOR_SERVICE = "authenticator"  # the key of `mindframe.sdk.auth.Authenticator`
TRANSLATIONS_SERVICE = "translations"  # the key of `mindframe.sdk.i18n.Translations`
IDENTITY_SCOPE_KEY = "mindframe.identity"  # where `mindframe.sdk.auth.identity_of` looks
WaitForHold = Callable[[str], Awaitable[bool]]


async def serve_socket(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
    *,
    endpoint: Endpoint,
    container: Any,
    wait_for_hold: WaitForHold,
) -> None:
    """The whole life of one socket on `endpoint`, from the handshake to the disconnect."""
    if (await receive())["type"] != "websocket.connect":
        return
    identity, refusal = await identify(scope, container)
    scope[IDENTITY_SCOPE_KEY] = identity
    connection = Connection(
        scope, send, plugin=endpoint.plugin, identity=identity, locale=locale_of(scope, container)
    )
    await send({"type": "websocket.accept"})
    async with anyio.create_task_group() as writer:
        writer.start_soon(connection.write)
        if refusal is not None:
            connection.close_soon(*refusal)
            await _drain(receive)
            return
        endpoint.connections[connection.id] = connection
        token = REQUEST_SCOPE.set(scope)  # ctx.gettext answers in the connection's locale
        try:
            await _converse(connection, endpoint, receive, wait_for_hold)
        finally:
            endpoint.connections.pop(connection.id, None)
            connection.gone()
            with anyio.CancelScope(shield=True):
                await wait_for_hold(endpoint.plugin)
                await endpoint.call("on_disconnect", connection)
            REQUEST_SCOPE.reset(token)


async def _converse(
    connection: Connection,
    endpoint: Endpoint,
    receive: Callable[[], Awaitable[dict[str, Any]]],
    wait_for_hold: WaitForHold,
) -> None:
    await wait_for_hold(endpoint.plugin)
    await endpoint.call("on_connect", connection)
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if connection.closed:
            continue  # closing: the client's last frames are not handled
        data = message.get("text")
        if data is None:
            data = message.get("bytes") or b""
        if not await wait_for_hold(endpoint.plugin) or endpoint.handler is None:
            connection.close_soon(RECONNECT_NOW, "the plugin serving this socket changed")
            continue
        if not await endpoint.call("on_message", connection, data):
            detail = "the server failed to handle this frame; it was reported"
            await connection.send_json({"type": "error", "problem": problem_body(500, detail)})


async def _drain(receive: Callable[[], Awaitable[dict[str, Any]]]) -> None:
    """Read until the client has gone (after a refusal's close)."""
    while (await receive())["type"] != "websocket.disconnect":
        pass


async def identify(scope: dict[str, Any], container: Any) -> tuple[Any, tuple[int, str] | None]:
    """Who connected, through the runtime's authenticator (the auth plugin), and the close
    code and reason when their credential is refused.

    A browser sends cookies with a WebSocket from any site, so a session cookie counts only
    when the socket was opened from this server's own origin (no cross-site hijacking);
    other sockets are anonymous unless they carry a bearer token."""
    registration = container.by_key(AUTHENTICATOR_SERVICE) if container is not None else None
    if registration is None:
        return None, None
    headers = scope.get("headers", [])
    if not same_origin(headers):
        headers = [(k, v) for k, v in headers if k != b"cookie"]
    handshake = {**scope, "method": "GET", "headers": headers}
    try:
        identity = await registration.get().authenticate(ASGIConnection(handshake))
    except HTTPException as error:
        code = UNAUTHORIZED if error.status_code == 401 else FORBIDDEN
        return None, (code, str(error.detail))
    return identity, None


def same_origin(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the handshake's `Origin` is this server's own host (or absent: not a browser)."""
    found = dict(headers)
    origin = found.get(b"origin")
    if origin is None:
        return True
    return urlsplit(origin.decode("latin-1")).netloc == found.get(b"host", b"").decode("latin-1")


def locale_of(scope: dict[str, Any], container: Any) -> str | None:
    """The connection's locale: the signed-in user's, else `Accept-Language`'s best match,
    through the i18n plugin; None without one."""
    registration = container.by_key(TRANSLATIONS_SERVICE) if container is not None else None
    if registration is None:
        return None
    translations = registration.get()
    identity = scope.get(IDENTITY_SCOPE_KEY)
    preferred = getattr(identity, "locale", None)
    accept = ASGIConnection(scope).headers.get("accept-language")
    return str(translations.negotiate(preferred, accept))
