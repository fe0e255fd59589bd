"""A JSON body is read only when the request says it is JSON.

A browser sends a cross-site form or a `text/plain` body without asking the server first
(no CORS preflight), so a JSON handler that ignored the Content-Type could be driven by
any page a signed-in user visits (login CSRF, for one). Every app the kernel builds (its
own and each plugin's) uses `JSONRequest`: a handler whose `data` is decoded as JSON gets
415 for any other Content-Type. Form and multipart handlers never call `json()`, so they
are unaffected; the check costs one header look-up, and only on requests with a body.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE


def is_json_media_type(media_type: str) -> bool:
    """`application/json` or a structured `application/…+json` (RFC 6839), lower case."""
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class JSONRequest(Request):
    """Litestar's request, refusing to decode a body as JSON under another Content-Type.
    A subclass that decodes the body its own way calls `require_json_content_type` first."""

    __slots__ = ()

    async def json(self) -> Any:
        self.require_json_content_type()
        return await super().json()

    def require_json_content_type(self) -> None:
        """415 (a problem detail saying what to send) unless the body is declared JSON."""
        media_type = self.content_type[0]
        if not is_json_media_type(media_type):
            sent = f"Content-Type {media_type!r}" if media_type else "no Content-Type"
            raise HTTPException(
                status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                detail=f"{self.method} {self.url.path} takes a JSON body, but the request has "
                f"{sent}: send it with Content-Type: application/json",
            )
