"""A JSON body is read only when the request says it is JSON.

A browser sends a cross-site form or a `text/plain` body without asking the server first
(no CORS preflight), so a JSON handler that ignored the Content-Type could be driven by
any page a signed-in user visits (login CSRF, for one). Every app the kernel builds (its
own and each plugin's) uses `JSONRequest`: a handler whose `data` is decoded as JSON gets
415 for any other Content-Type. Form and multipart handlers never call `json()`, so they
are unaffected; the check costs one header look-up, and only on requests with a body.
A body nested too deeply to decode is a 400 on every route.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from litestar import Request
from litestar.exceptions import ClientException, HTTPException
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE

TOO_DEEP = "the JSON body nests arrays or objects too deeply to read; send a flatter body"
"""A body nested past the interpreter's recursion limit is the client's mistake (a 400),
not a 500, on every route."""


def is_json_media_type(media_type: str) -> bool:
    """`application/json` or a structured `application/…+json` (RFC 6839), lower case."""
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def declared_media_type(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The media type of the first Content-Type header, lower case and without parameters,
    read straight from the ASGI headers: Litestar's `content_type` builds the request's
    header map and parses every parameter, which cost a JSON route ~10 µs a request."""
    for name, value in headers:
        if name == b"content-type":
            return value.decode("latin-1").partition(";")[0].strip().lower()
    return ""


class JSONRequest(Request):
    """Litestar's request, refusing to decode a body as JSON under another Content-Type.
    A subclass that decodes the body its own way calls `require_json_content_type` first."""

    __slots__ = ()

    async def json(self) -> Any:
        self.require_json_content_type()
        try:
            return await super().json()
        except RecursionError:
            raise ClientException(TOO_DEEP) from None

    def require_json_content_type(self) -> None:
        """415 (a problem detail saying what to send) unless the body is declared JSON."""
        require_json_content_type(self.scope)


def require_json_content_type(scope: Mapping[str, Any]) -> None:
    """415 (a problem detail saying what to send) unless the request's body is declared
    JSON: for Litestar routes (`JSONRequest`) and lean endpoints (`request.scope`) alike."""
    media_type = declared_media_type(scope["headers"])
    if not is_json_media_type(media_type):
        sent = f"Content-Type {media_type!r}" if media_type else "no Content-Type"
        raise HTTPException(
            status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"{scope['method']} {scope['path']} takes a JSON body, but the request has "
            f"{sent}: send it with Content-Type: application/json",
        )
