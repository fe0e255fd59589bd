"""Request bodies as the SDKs send them: plain, gzip, deflate or brotli (`Content-Encoding`).

Decompression stops at `limit` bytes of output, so a small body cannot unpack into
gigabytes (a 1 MB gzip of zeros is 1 GB); what is cut there is refused with 413.
"""

from __future__ import annotations

import zlib


class BodyError(ValueError):
    """A body that cannot be read: `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def decode_body(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """`body` decompressed as `content_encoding` says (codings applied in the order listed
    are undone in reverse), at most `limit` bytes."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    for coding in reversed(codings):
        if coding in ("identity", ""):
            continue
        if coding in ("gzip", "x-gzip"):
            body = _zlib(body, zlib.MAX_WBITS | 16, limit, coding)
        elif coding == "deflate":
            body = _deflate(body, limit)
        elif coding == "br":
            body = _brotli(body, limit)
        else:
            raise BodyError(
                415,
                f"Content-Encoding {coding!r} is not supported: send gzip, deflate, br or none",
            )
    if len(body) > limit:
        raise BodyError(413, f"the body is larger than {limit} bytes")
    return body


def _zlib(body: bytes, wbits: int, limit: int, coding: str) -> bytes:
    decompressor = zlib.decompressobj(wbits)
    try:
        out = decompressor.decompress(body, limit + 1)
    except zlib.error as error:
        raise BodyError(400, f"the body is not valid {coding} ({error})") from None
    if len(out) > limit:
        raise BodyError(413, f"the body is larger than {limit} bytes once decompressed")
    if not decompressor.eof:
        raise BodyError(400, f"the {coding} body is truncated")
    return out


def _deflate(body: bytes, limit: int) -> bytes:
    """HTTP's deflate is zlib-wrapped; some clients send raw deflate: take either."""
    try:
        return _zlib(body, zlib.MAX_WBITS, limit, "deflate")
    except BodyError as error:
        if error.status != 400:
            raise
        return _zlib(body, -zlib.MAX_WBITS, limit, "deflate")


def _brotli(body: bytes, limit: int) -> bytes:
    import brotli  # only bodies that use it pay for the import

    decompressor = brotli.Decompressor()
    try:
        out = decompressor.process(body, output_buffer_limit=limit + 1)
    except brotli.error as error:
        raise BodyError(400, f"the body is not valid br ({error})") from None
    if len(out) > limit:
        raise BodyError(413, f"the body is larger than {limit} bytes once decompressed")
    if not decompressor.is_finished():
        raise BodyError(400, "the br body is truncated")
    return out
