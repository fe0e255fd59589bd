"""Typed events, their topic registry and the delivery envelope.

Event authors declare only their fields and ``topic``; the id, timestamp and attempt
travel in the :class:`Envelope` so handlers can be idempotent without extra fields.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

import msgspec
import msgspec.inspect

from .errors import UnknownTopic
from .topics import validate_topic

_registry: dict[str, type[Event]] = {}
_decoders: dict[type[Event], msgspec.json.Decoder[Any]] = {}
_checkers: dict[type[Event], Callable[[Event], bool]] = {}
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
            _checkers.pop(cls, None)


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
    check(event)
    return _encoder.encode(event)


def check(event: Event) -> None:
    """Validate an event built in-process; raises TypeError or msgspec.ValidationError.

    A struct whose fields are all plain ``int``/``float``/``str``/``bool``/``None`` (or
    unions of them, without constraints) is checked by type, which is what the JSON round
    trip would establish; anything else, or a value the fast check is unsure of, takes the
    full round trip so the error (with its field path) is exactly msgspec's.
    """
    cls = type(event)
    checker = _checkers.get(cls)
    if checker is None:
        if not isinstance(event, Event):
            raise TypeError(f"expected an Event, got {cls.__name__}")
        if not cls.topic:
            raise TypeError(f"{cls.__name__} has no topic")
        checker = _checkers[cls] = _make_checker(cls)
    if not checker(event):
        decoder = _decoders.get(cls)
        if decoder is None:
            decoder = _decoders[cls] = msgspec.json.Decoder(cls)
        decoder.decode(_encoder.encode(event))  # raises ValidationError with the field path


_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1  # what msgspec decodes into an int


def _type_test(info: msgspec.inspect.Type) -> str | None:
    """A Python expression over ``v`` that implies ``info`` accepts v, or None."""
    if isinstance(info, msgspec.inspect.NoneType):
        return "v is None"
    if isinstance(info, msgspec.inspect.BoolType):
        return "v.__class__ is bool"
    if isinstance(info, msgspec.inspect.StrType):
        if info.min_length is None and info.max_length is None and info.pattern is None:
            return "v.__class__ is str"
        return None
    numeric = ("gt", "ge", "lt", "le", "multiple_of")
    if isinstance(info, msgspec.inspect.IntType | msgspec.inspect.FloatType):
        if any(getattr(info, name) is not None for name in numeric):
            return None
        is_int = f"(v.__class__ is int and {_INT_MIN} <= v <= {_INT_MAX})"
        if isinstance(info, msgspec.inspect.IntType):
            return is_int
        return f"(v.__class__ is float and v - v == 0.0) or {is_int}"  # finite (nan -> null)
    if isinstance(info, msgspec.inspect.UnionType):
        tests = [_type_test(t) for t in info.types]
        if any(t is None for t in tests):
            return None
        return " or ".join(f"({t})" for t in tests)
    return None


def _make_checker(cls: type[Event]) -> Callable[[Event], bool]:
    """Compile a per-class type check; classes with other field types always round-trip."""
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    lines = ["def check(e):"]
    for f in info.fields:
        test = _type_test(f.type)
        if test is None or not f.name.isidentifier():
            return lambda event: False
        lines += [f"    v = e.{f.name}", f"    if not ({test}):", "        return False"]
    lines.append("    return True")
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), namespace)  # generated from the struct's own field names
    checker: Callable[[Event], bool] = namespace["check"]
    return checker


_id_prefix = os.urandom(5).hex()  # per process: ids from different processes never collide
_id_counter = itertools.count(int.from_bytes(os.urandom(4)))


_id_ms = 0  # the millisecond _id_head was made for
_id_head = ""


def new_event_id() -> str:
    """Time-ordered unique id, ULID-like: 48-bit ms clock, 40-bit process, 40-bit counter.

    A counter instead of fresh random bytes per event keeps ids unique without a syscall
    on the publish hot path; the clock and process part is formatted once per millisecond.
    """
    global _id_ms, _id_head
    ms = int(time.time() * 1000)
    if ms != _id_ms:
        _id_ms, _id_head = ms, f"{ms:012x}{_id_prefix}"
    return _id_head + hex(next(_id_counter) & 0xFFFFFFFFFF)[2:].zfill(10)


class Envelope(msgspec.Struct, kw_only=True, gc=False):
    """Delivery metadata beside the event: what handlers use for idempotency and tracing.

    ``gc=False``: an envelope holds only strings, numbers and a str->str dict, so it can
    take no part in a reference cycle; untracked, it costs the collector nothing.
    """

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
