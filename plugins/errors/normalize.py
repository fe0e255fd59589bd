"""One event as the digest stores it: the columns it is filtered and grouped by, read from
the event the SDK sent (whose shape varies between SDKs and versions), plus the event
itself, kept whole for the API and the pages."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import lz4.frame
import msgspec

from .grouping import frames_of, group_hash, grouping_frames

LEVELS = frozenset({"fatal", "error", "warning", "info", "debug"})
TEXT_LIMIT = 200
UNLABELED = "<unlabeled event>"
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(dict[str, Any]).decode
_EVENT_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(slots=True)
class Normalized:
    project_id: int
    event_id: str
    fingerprint: str
    timestamp: float
    received_at: float
    level: str
    release: str | None
    environment: str | None
    user_id: str | None
    user_email: str | None
    user_name: str | None
    user_key: str | None
    title: str
    culprit: str | None
    exception_type: str | None
    data: bytes


def normalize(
    event: dict[str, Any], project_id: int, received_at: float, sent: bytes | None = None
) -> Normalized:
    """`event` as stored; `sent` is its JSON as the SDK sent it, stored as it is (not encoded
    again) unless the event id had to be rewritten."""
    exceptions = exceptions_of(event)
    message = message_of(event)
    main = exceptions[-1] if exceptions else None  # the SDKs list the chain oldest first
    user = event.get("user") if isinstance(event.get("user"), dict) else {}
    event_id = _event_id(event.get("event_id"))
    if event.get("event_id") != event_id:
        event["event_id"] = event_id
        sent = None
    level = str(event.get("level") or "error").lower()
    return Normalized(
        project_id=project_id,
        event_id=event_id,
        fingerprint=group_hash(event, exceptions, message_template(event) or message),
        timestamp=_timestamp(event.get("timestamp"), received_at),
        received_at=received_at,
        level=level if level in LEVELS else "error",
        release=_text(event.get("release")),
        environment=_text(event.get("environment")),
        user_id=_text(user.get("id")),
        user_email=_text(user.get("email"), 320),
        user_name=_text(user.get("username")),
        user_key=user_key(user),
        title=title_of(main, message),
        culprit=_text(event.get("culprit")) or culprit_of(main) or _text(event.get("transaction")),
        exception_type=_text(main.get("type")) if main else None,
        data=stored_json(_encode(event) if sent is None else sent),
    )


def stored_json(data: bytes) -> bytes:
    """An event's JSON as the `data` column keeps it: LZ4-compressed (a quarter of the bytes
    to write, for a few microseconds)."""
    return lz4.frame.compress(data)


def stored_event(data: bytes) -> dict[str, Any]:
    """The event kept in a `data` column (compressed, or plain JSON as stored before)."""
    return _decode(data if data[:1] == b"{" else lz4.frame.decompress(data))


def exceptions_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    found = event.get("exception")
    if isinstance(found, dict):
        found = found.get("values")
    if not isinstance(found, list):
        return []
    return [e for e in found if isinstance(e, dict)]


def message_of(event: dict[str, Any]) -> str | None:
    """The message as shown: formatted when the SDK formatted it."""
    for source in (event.get("logentry"), event.get("message")):
        if isinstance(source, dict):
            text = source.get("formatted") or source.get("message")
            if isinstance(text, str) and text:
                return text
        elif isinstance(source, str) and source:
            return source
    return None


def message_template(event: dict[str, Any]) -> str | None:
    """The message before its parameters were put in, when the SDK sent them apart."""
    for source in (event.get("logentry"), event.get("message")):
        if isinstance(source, dict) and source.get("params") and source.get("message"):
            return str(source["message"])
    return None


def title_of(main: dict[str, Any] | None, message: str | None) -> str:
    if main is not None:
        kind = str(main.get("type") or "Error")
        value = main.get("value")
        first_line = str(value).strip().splitlines()[0] if value else ""
        return _cut(f"{kind}: {first_line}" if first_line else kind, 400)
    if message:
        return _cut(message.strip().splitlines()[0] if message.strip() else message, 400)
    return UNLABELED


def culprit_of(main: dict[str, Any] | None) -> str | None:
    """`module in function` of the innermost in-app frame of the main exception."""
    if main is None:
        return None
    frames = grouping_frames(frames_of(main))
    if not frames:
        return None
    frame = frames[-1]
    where = frame.get("module") or frame.get("filename") or frame.get("abs_path") or "?"
    return _cut(f"{where} in {frame.get('function') or '?'}", 400)


def user_key(user: dict[str, Any]) -> str | None:
    """What counts as one affected user: the id, else the e-mail, username or address."""
    for field in ("id", "email", "username", "ip_address"):
        value = user.get(field)
        if value not in (None, ""):
            return _cut(f"{field}:{value}", 400)
    return None


def _event_id(value: Any) -> str:
    if isinstance(value, str):
        text = value.replace("-", "").lower()
        if _EVENT_ID.fullmatch(text):
            return text
    return uuid.uuid4().hex


def _timestamp(value: Any, received_at: float) -> float:
    """The event's time (a number or RFC 3339), never later than its arrival."""
    stamp: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        stamp = float(value)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            stamp = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
        except ValueError:
            stamp = None
    if stamp is None or stamp > received_at:
        return received_at
    return stamp


def _text(value: Any, limit: int = TEXT_LIMIT) -> str | None:
    if value is None or value == "":
        return None
    return _cut(str(value), limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
