"""The kernel's event bus: typed events, pattern subscriptions, durable log, two backends.

``create_bus(None | "memory://", engine)`` gives the in-process bus with the SQL durable
log; ``create_bus("nats://host:4222", engine)`` the NATS JetStream one. Both share
:class:`Bus` semantics and the SQL dead-letter store.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from .bus import Bus, ErrorCallback
from .dead_letters import DeadLetter, DeadLetterStore
from .errors import (
    BusError,
    BusNotStarted,
    DeadLetterNotFound,
    RequestTimeout,
    UnknownTopic,
)
from .events import Envelope, Event, event_type, new_event_id
from .idempotency import Deduplicator, idempotent
from .subscription import Subscription

__all__ = [
    "Bus",
    "BusError",
    "BusNotStarted",
    "DeadLetter",
    "DeadLetterNotFound",
    "DeadLetterStore",
    "Deduplicator",
    "Envelope",
    "Event",
    "RequestTimeout",
    "Subscription",
    "UnknownTopic",
    "create_bus",
    "event_type",
    "idempotent",
    "new_event_id",
]


async def create_bus(
    url: str | None, engine: AsyncEngine, on_error: ErrorCallback | None = None, **options: str
) -> Bus:
    """Build (not start) the bus for ``url``: None/``memory://`` or ``nats://...``."""
    if url is None or url.startswith("memory://"):
        from .memory import MemoryBus

        return MemoryBus(engine, on_error)
    if url.startswith(("nats://", "tls://")):
        from .nats import NatsBus

        return NatsBus(url, engine, on_error, **options)
    raise ValueError(f"unsupported bus url {url!r}: use memory:// or nats://host:port")
