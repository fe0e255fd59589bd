"""The request a plugin app is serving, in a context variable: for code that has no
connection at hand, so that `ctx.gettext` answers in the request's locale.

`remember_request` is the middleware every plugin app gets; it costs one `ContextVar.set`
and `reset` per request. Outside a request (startup, bus handlers) the variable is None.
"""

from __future__ import annotations

from contextvars import ContextVar

from litestar.types import ASGIApp, Receive, Scope, Send

REQUEST_SCOPE: ContextVar[Scope | None] = ContextVar("mindframe.request_scope", default=None)


def remember_request(app: ASGIApp) -> ASGIApp:
    """Litestar middleware: `REQUEST_SCOPE` is the request's scope while `app` serves it."""

    async def remembering(scope: Scope, receive: Receive, send: Send) -> None:
        token = REQUEST_SCOPE.set(scope)
        try:
            await app(scope, receive, send)
        finally:
            REQUEST_SCOPE.reset(token)

    return remembering
