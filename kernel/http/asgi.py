"""The ASGI entry: one dictionary lookup sends a request to the plugin app that owns its
prefix (`/api/<plugin>/…` or `/<plugin>/…`); everything else goes to the kernel's app.

A mount can be held (during a reload): requests for it wait, then go to whatever app is
mounted when the hold is released, so nobody sees the swap. A hold not released within
`hold_timeout` (a reload stuck in a hook) answers 503 rather than keeping clients hanging.

WebSockets on a path a plugin declared with `ctx.socket` are the kernel's own
(`socket_serving`): each frame waits on the same hold, then goes to the version serving.
So are HTTP requests to a lean endpoint declared with `ctx.endpoint` (`endpoint_serving`):
no plugin app is involved; one more dict lookup is all it costs any other request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import anyio
from litestar.connection import ASGIConnection

from .access import may_see_errors
from .endpoint_routes import EndpointRegistry
from .endpoint_serving import serve_endpoint
from .problems import PROBLEM_MEDIA_TYPE, problem_body
from .socket_endpoints import SocketRegistry
from .socket_serving import serve_socket

ASGIApp = Callable[..., Any]
HOLD_TIMEOUT = 30.0
CONTAINER_SCOPE_KEY = "mindframe.container"
"""Where a request's scope carries the runtime's container, for code that gets the
connection but no injection (Litestar guards): `connection.scope[CONTAINER_SCOPE_KEY]`."""


@dataclass
class Mount:
    app: ASGIApp
    api: bool = True
    pages: bool = False
    openapi: Callable[[], dict[str, Any]] | None = None
    """Builds the plugin's OpenAPI document when the merged schema needs it."""


@dataclass
class Dispatcher:
    kernel_app: ASGIApp
    lifespan: Callable[[], AbstractAsyncContextManager[None]] | None = None
    container: Any = None
    mounts: dict[str, Mount] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    holds: dict[str, anyio.Event] = field(default_factory=dict)
    hold_timeout: float = HOLD_TIMEOUT
    sockets: SocketRegistry = field(init=False)
    endpoints: EndpointRegistry = field(init=False)

    def __post_init__(self) -> None:
        self.sockets = SocketRegistry(is_held=self.holds.__contains__)
        self.endpoints = EndpointRegistry(on_change=self._schema_changed)

    def _schema_changed(self) -> None:
        """The merged OpenAPI document the kernel's app keeps is stale."""
        state = getattr(self.kernel_app, "state", None)
        if state is not None:
            state.merged_schema = None

    def mount(self, name: str, mount: Mount) -> None:
        self.unavailable.pop(name, None)
        self.mounts[name] = mount

    def unmount(self, name: str, reason: str | None = None) -> None:
        self.mounts.pop(name, None)
        if reason:
            self.unavailable[name] = reason

    def hold(self, name: str) -> None:
        self.holds.setdefault(name, anyio.Event())

    def release(self, name: str) -> None:
        event = self.holds.pop(name, None)
        if event is not None:
            event.set()
        self.sockets.settle(name)

    async def wait_for_hold(self, name: str) -> bool:
        """Wait while `name` is held; False when the hold outlasted `hold_timeout`."""
        event = self.holds.get(name)
        if event is None:
            return True
        with anyio.move_on_after(self.hold_timeout):
            await event.wait()
            return True
        return False

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        scope[CONTAINER_SCOPE_KEY] = self.container
        path: str = scope["path"]
        if path.startswith("/api/"):
            name, api = path[5:].partition("/")[0], True
        else:
            name, api = path[1:].partition("/")[0], False
        if name in self.holds:
            with anyio.move_on_after(self.hold_timeout) as waiting:
                await self.holds[name].wait()
            if waiting.cancelled_caught and kind == "http":
                detail = (
                    f"plugin '{name}' is being reloaded and was not ready within "
                    f"{self.hold_timeout:g} s; try again shortly"
                )
                await send_problem(send, 503, detail, {"plugin": name}, [(b"retry-after", b"1")])
                return
        if api and kind == "http":
            found = self.endpoints.find(name, path)
            if found is not None:
                await serve_endpoint(
                    scope,
                    receive,
                    send,
                    served=found[0],
                    path_params=found[1],
                    registry=self.endpoints,
                    holds=self.holds,
                    wait_for_hold=self.wait_for_hold,
                )
                return
        endpoint = self.sockets.find(path.rstrip("/")) if kind == "websocket" else None
        if endpoint is not None:
            await serve_socket(
                scope,
                receive,
                send,
                endpoint=endpoint,
                container=self.container,
                wait_for_hold=self.wait_for_hold,
            )
            return
        mount = self.mounts.get(name)
        if mount is not None and (mount.api if api else mount.pages):
            await mount.app(scope, receive, send)
        elif api and name in self.unavailable and kind == "http":
            await send_problem(
                send, 503, await self._why_unavailable(scope, name), {"plugin": name}
            )
        else:
            await self.kernel_app(scope, receive, send)

    async def _why_unavailable(self, scope: dict[str, Any], name: str) -> str:
        """The reason a plugin is not serving (its error, with file paths) for whoever may see
        errors; a pointer to the management API for everyone else."""
        if await may_see_errors(ASGIConnection(scope), self.container):
            return self.unavailable[name]
        return f"plugin '{name}' is not available; its state is at GET /api/kernel/plugins/{name}"

    async def _lifespan(self, receive: Callable, send: Callable) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        if self.lifespan is None:
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        started = False
        try:
            async with self.lifespan():
                started = True
                await send({"type": "lifespan.startup.complete"})
                await receive()
        except Exception as error:
            phase = "shutdown" if started else "startup"
            await send({"type": f"lifespan.{phase}.failed", "message": repr(error)})
            return
        await send({"type": "lifespan.shutdown.complete"})


async def send_problem(
    send: Callable,
    status: int,
    detail: str,
    extra: dict[str, Any] | None = None,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """An RFC 9457 problem response written straight to ASGI, for answers given before any
    Litestar app is reached (a failed plugin, a restarting sandbox child)."""
    body = json.dumps(problem_body(status, detail, **(extra or {}))).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
