"""Drop redeliveries: at-least-once delivery plus an id check gives effectively-once."""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from .events import Envelope, Event


class Deduplicator:
    """Remembers the last ``window`` event ids seen (bounded memory)."""

    def __init__(self, window: int = 10_000) -> None:
        if window < 1:
            raise ValueError("window must be >= 1")
        self.window = window
        self._seen: OrderedDict[str, None] = OrderedDict()

    def seen(self, event_id: str) -> bool:
        return event_id in self._seen

    def remember(self, event_id: str) -> None:
        self._seen[event_id] = None
        self._seen.move_to_end(event_id)
        while len(self._seen) > self.window:
            self._seen.popitem(last=False)


def idempotent(
    handler: Callable[..., Awaitable[Any]], window: int = 10_000
) -> Callable[[Event, Envelope], Awaitable[Any]]:
    """Wrap a handler so an event id it already handled successfully is skipped.

    An id is remembered only after the handler succeeds, so retries still run. The
    wrapper keeps the handler's ``__qualname__`` so the default subscription name (and
    adoption after reload) does not change.
    """
    dedup = Deduplicator(window)
    import inspect

    params = [
        p
        for p in inspect.signature(handler).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    with_envelope = len(params) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params)

    @functools.wraps(handler)
    async def wrapper(event: Event, envelope: Envelope) -> Any:
        if dedup.seen(envelope.id):
            return None
        result = await (handler(event, envelope) if with_envelope else handler(event))
        dedup.remember(envelope.id)
        return result

    wrapper.deduplicator = dedup  # type: ignore[attr-defined]
    return wrapper
