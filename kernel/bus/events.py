"""Typed events, their topic registry and the delivery envelope.

Event authors declare only their fields and ``topic``; the id, timestamp and attempt
travel in the :class:`Envelope` so handlers can be idempotent without extra fields.
"""

from __future__ import annotations

import itertools
import os
import time
from datetime import UTC, datetime
from typing import Any, ClassVar

import msgspec

from .errors import UnknownTopic
from .topics import validate_topic

_registry: dict[str, type[Event]] = {}
_decoders: dict[type[Event], msgspec.json.Decoder[Any]] = {}
_encoder = msgspec.json.Encoder()


class Event(msgspec.Struct, kw_only=True):
    """Base class of every bus event; subclasses set ``topic`` and are registered."""

    topic: ClassVar[str] = ""
    durable: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        topic = cls.__dict__.get("topic")
        if topic:  # abstract intermediate classes may leave it unset
            validate_topic(topic)
            # A reloaded plugin module defines a new class for the same topic: replace.
            _registry[topic] = cls
            _decoders.pop(cls, None)


def event_type(topic: str) -> type[Event]:
    """The registered class for a topic (the newest, after reloads)."""
    try:
        return _registry[topic]
    except KeyError:
        raise UnknownTopic(f"no event type registered for topic {topic!r}") from None


def registered_topics() -> dict[str, type[Event]]:
    return dict(_registry)


def encode(event: Event) -> bytes:
    return _encoder.encode(event)


def decode(topic: str, payload: bytes) -> Event:
    """Decode a payload into the topic's current class; raises on unknown topic/bad data."""
    cls = event_type(topic)
    decoder = _decoders.get(cls)
    if decoder is None:
        decoder = _decoders[cls] = msgspec.json.Decoder(cls)
    return decoder.decode(payload)


def validate(event: Event) -> bytes:
    """Check field types by a JSON round trip (Struct init does not) and return the payload."""
    if not isinstance(event, Event):
        raise TypeError(f"expected an Event, got {type(event).__name__}")
    if not type(event).topic:
        raise TypeError(f"{type(event).__name__} has no topic")
    payload = _encoder.encode(event)
    decoder = _decoders.get(type(event))
    if decoder is None:
        decoder = _decoders[type(event)] = msgspec.json.Decoder(type(event))
    decoder.decode(payload)  # raises msgspec.ValidationError with the field path
    return payload


_id_prefix = os.urandom(5).hex()  # per process: ids from different processes never collide
_id_counter = itertools.count(int.from_bytes(os.urandom(4)))


def new_event_id() -> str:
    """Time-ordered unique id, ULID-like: 48-bit ms clock, 40-bit process, 40-bit counter.

    A counter instead of fresh random bytes per event keeps ids unique without a syscall
    on the publish hot path.
    """
    return f"{int(time.time() * 1000):012x}{_id_prefix}{next(_id_counter) & 0xFFFFFFFFFF:010x}"


class Envelope(msgspec.Struct, kw_only=True):
    """Delivery metadata beside the event: what handlers use for idempotency and tracing."""

    id: str
    topic: str
    timestamp: datetime
    attempt: int = 1
    priority: int = 0
    durable: bool = False
    replayed: bool = False
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    seq: int | None = None  # position in the durable log / stream, when there is one
    reply_to: str | None = None

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)
