"""The Sentry envelope, the SDKs' wire format: read it, check it, write one.

An envelope is a JSON header line, then items: each a JSON header line and a payload that
is either `length` bytes (then a newline, or the end) or, without `length`, the rest of
the line. Reading checks everything the SDKs promise, so a broken envelope is refused at
the door with where it broke, and the digest never sees one:

    envelope = parse(body)          # EnvelopeError(message, where) when it is not one
    envelope.items[0].type, envelope.items[0].payload
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from mindframe.sdk.i18n import N_

from .refusal import Refusal

JSON_ITEMS = frozenset({"event", "transaction", "session", "sessions", "client_report"})
"""Item types whose payload must be one JSON object; checked on the way in."""

_object = msgspec.json.Decoder(dict[str, msgspec.Raw])  # validates, builds almost nothing
_header = msgspec.json.Decoder(dict[str, Any])
_encode = msgspec.json.encode


NOT_JSON = {
    "header": N_("the envelope header is not valid JSON ({error})"),
    "item header": N_("the header of item {item} is not valid JSON ({error})"),
    "payload": N_("the payload of item {item} is not valid JSON ({error})"),
    "event": N_("the event is not valid JSON ({error})"),
}
NOT_OBJECT = {
    "header": N_("the envelope header must be a JSON object"),
    "item header": N_("the header of item {item} must be a JSON object"),
    "payload": N_("the payload of item {item} must be a JSON object"),
    "event": N_("the event must be a JSON object"),
}
NO_TYPE = N_("item {item} has no 'type' in its header")
BAD_LENGTH = N_("item {item}: 'length' must be a whole number, not {length}")
TRUNCATED = N_(
    "item {item}: the envelope is truncated: 'length' says {length} bytes, {left} are left"
)
LENGTH_MISMATCH = N_(
    "item {item}: 'length' {length} does not end where the payload ends (no newline follows)"
)


class EnvelopeError(Refusal):
    """Not a valid envelope (400); `where` names the item (1-based) and the part."""

    def __init__(self, template: str, *, item: int | None, part: str, **params: Any) -> None:
        where = {"part": part} if item is None else {"item": item, "part": part}
        super().__init__(400, template, where=where, item=item, **params)


@dataclass(frozen=True, slots=True)
class Item:
    type: str
    headers: dict[str, Any]
    payload: bytes


@dataclass(frozen=True, slots=True)
class Envelope:
    headers: dict[str, Any]
    items: list[Item] = field(default_factory=list)

    @property
    def event_id(self) -> str | None:
        """The envelope header's `event_id`, else the first event item's."""
        value = self.headers.get("event_id")
        if isinstance(value, str):
            return value
        for item in self.items:
            if item.type in ("event", "transaction"):
                found = _object.decode(item.payload).get("event_id")
                if found is not None:
                    event_id = msgspec.json.decode(found)
                    return event_id if isinstance(event_id, str) else None
        return None


def parse(body: bytes, *, check_payloads: bool = True) -> Envelope:
    """Read `body` as an envelope; EnvelopeError says what is wrong and where.

    With `check_payloads`, every event, transaction, session and client report payload
    must be a JSON object (the door checks; the digest, reading what the door let in, skips
    that second look)."""
    end = len(body)
    line_end = body.find(b"\n")
    if line_end < 0:
        line_end = end
    headers = _json_object(body[:line_end], None, "header")
    items: list[Item] = []
    position = line_end + 1
    while position < end:
        line_end = body.find(b"\n", position)
        if line_end < 0:
            line_end = end
        raw_header = body[position:line_end]
        if not raw_header.strip():  # blank lines between items (and a trailing one) are fine
            position = line_end + 1
            continue
        number = len(items) + 1
        item_headers = _json_object(raw_header, number, "header")
        item_type = item_headers.get("type")
        if not isinstance(item_type, str) or not item_type:
            raise EnvelopeError(NO_TYPE, item=number, part="header")
        start = line_end + 1
        length = item_headers.get("length")
        if length is None:
            stop = body.find(b"\n", start)
            if stop < 0:
                stop = end
            payload, position = body[start:stop], stop + 1
        else:
            if not isinstance(length, int) or isinstance(length, bool) or length < 0:
                raise EnvelopeError(BAD_LENGTH, item=number, part="header", length=repr(length))
            stop = start + length
            if stop > end:
                left = max(0, end - start)
                raise EnvelopeError(
                    TRUNCATED, item=number, part="payload", length=length, left=left
                )
            if stop < end and body[stop : stop + 1] != b"\n":
                raise EnvelopeError(LENGTH_MISMATCH, item=number, part="payload", length=length)
            payload, position = body[start:stop], stop + 1
        if check_payloads and item_type in JSON_ITEMS:
            _json_object(payload, number, "payload", _object)
        items.append(Item(item_type, item_headers, payload))
    return Envelope(headers, items)


def _json_object(
    raw: bytes, item: int | None, part: str, decoder: msgspec.json.Decoder = _header
) -> Any:
    """`raw` decoded by `decoder` (a dict of all of it, or of `Raw` values only to check it)."""
    kind = "item header" if part == "header" and item is not None else part
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError:
        raise EnvelopeError(NOT_OBJECT[kind], item=item, part=part) from None
    except msgspec.DecodeError as error:
        raise EnvelopeError(NOT_JSON[kind], item=item, part=part, error=error) from None


def from_event(event_bytes: bytes) -> bytes:
    """The envelope carrying one legacy `store` event (its JSON as sent)."""
    event = _json_object(event_bytes, None, "event", _object)
    header: dict[str, Any] = {}
    if "event_id" in event:
        header["event_id"] = msgspec.json.decode(event["event_id"])
    item = {"type": "event", "length": len(event_bytes)}
    return b"\n".join([_encode(header), _encode(item), event_bytes])


def build(headers: dict[str, Any], items: list[tuple[dict[str, Any], bytes]]) -> bytes:
    """An envelope of `items` (headers, payload), each with its `length`."""
    parts = [_encode(headers)]
    for item_headers, payload in items:
        parts.append(_encode({**item_headers, "length": len(payload)}))
        parts.append(payload)
    return b"\n".join(parts)
