"""What a lean endpoint's handler gets and gives back (`ctx.endpoint`): a `Request` read once
from the ASGI scope, a `Response` of bytes, and `Problem`, an exception answered as RFC 9457
problem details. Small `__slots__` classes on purpose: they are built on every request of a
hot path, where Litestar's request and response cost more than the handler's own work.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec

JSON = "application/json"
_encode = msgspec.json.Encoder().encode


class Request:
    """One HTTP request to a lean endpoint, its body already read (within the size limit).

    `headers` maps lower-case names to values (a repeated header keeps its last value);
    `query` is parsed from `query_string` when first asked for (the last value of each
    name); `scope` is the ASGI scope, for code that needs Litestar's view of the request
    (`ASGIConnection(request.scope)`, as an authenticator takes)."""

    __slots__ = (
        "_query",
        "body",
        "headers",
        "method",
        "path",
        "path_params",
        "query_string",
        "scope",
    )

    def __init__(
        self,
        scope: dict[str, Any],
        headers: dict[str, str],
        path_params: dict[str, Any],
        body: bytes,
    ) -> None:
        self.scope = scope
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.headers = headers
        self.path_params = path_params
        self.query_string: bytes = scope.get("query_string", b"")
        self.body = body
        self._query: dict[str, str] | None = None

    def __repr__(self) -> str:
        return f"Request({self.method} {self.path})"

    @property
    def query(self) -> dict[str, str]:
        if self._query is None:
            text = self.query_string.decode("latin-1")
            self._query = dict(parse_qsl(text, keep_blank_values=True))
        return self._query

    @property
    def client(self) -> str | None:
        """The client's address (the proxy's, behind one)."""
        client = self.scope.get("client")
        return client[0] if client else None


class Response:
    """An answer: `status`, `body` (bytes, sent as is), `headers`, and `media_type`, sent as
    `Content-Type` unless None (and never with a 204 or 304)."""

    __slots__ = ("body", "headers", "media_type", "status")

    def __init__(
        self,
        body: bytes = b"",
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = JSON,
    ) -> None:
        self.body = body
        self.status = status
        self.headers = headers or {}
        self.media_type = media_type

    def __repr__(self) -> str:
        return f"Response({self.status}, {len(self.body)} bytes)"


def json_response(
    value: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """`value` encoded as JSON by msgspec (dicts, lists, structs, dataclasses, datetimes)."""
    return Response(_encode(value), status=status, headers=headers)


class Problem(Exception):
    """Raise to answer RFC 9457 problem details: `status`, a `detail` for people, `headers`
    to send with it, and `extra` members for programs (`Problem(404, "no such run", run=7)`).
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra
