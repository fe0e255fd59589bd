"""`TypedJSONRequest`: read a JSON request body straight into the handler's struct.

Litestar decodes a JSON body into plain Python values first and checks them against the
handler's `data` type afterwards. Any shape is decoded in that first step, so a body nested
a thousand arrays deep exhausts the recursion limit and answers 500. With this request
class a body meant for a `msgspec.Struct` is decoded into that struct directly: a value of
the wrong type (an array where a password belongs) is refused with a 400 at its first
token, and nothing is built that the handler did not ask for::

    @post("/login", request_class=TypedJSONRequest)
    async def login(data: JSONBody[Credentials]) -> ...: ...

Bodies of other types are decoded as before; any body nested too deep to read is a 400.

Route parameters that are database ids or page sizes take the bounded types `RowId`,
`Limit` and `Offset`, so a number no database can bind is a 400, not a 500.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.exceptions import ClientException
from litestar.serialization import decode_json
from litestar.types import Empty

from mindframe.kernel.http.json_body import TOO_DEEP, JSONRequest, require_json_content_type
from mindframe.kernel.http.params import MAX_ROW_ID, Limit, Offset, RowId

__all__ = [
    "MAX_ROW_ID",
    "TOO_DEEP",
    "Limit",
    "Offset",
    "RowId",
    "TypedJSONRequest",
    "require_json_content_type",
]


class TypedJSONRequest(JSONRequest):
    """A request whose `json()` decodes into the handler's `data` struct when it has one;
    a kernel `JSONRequest`, so a body not declared JSON is a 415 here as everywhere."""

    async def json(self) -> Any:
        if self._json is Empty:
            self.require_json_content_type()
            data = self.route_handler.parsed_data_field
            target = data.annotation if data and data.is_subclass_of(msgspec.Struct) else Empty
            try:
                self._json = decode_json(
                    await self.body() or b"null",
                    target,
                    self.route_handler.resolve_type_decoders(),
                    strict=False,
                )
            except RecursionError:
                raise ClientException(TOO_DEEP) from None
        return self._json
