"""Event types and helpers shared by the bus tests (topics under ``bt.``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, ClassVar

from mindframe.kernel.bus import Event, Subscription


class Ping(Event):
    topic: ClassVar[str] = "bt.ping"
    n: int


class Created(Event):
    topic: ClassVar[str] = "bt.chat.created"
    text: str


class Deleted(Event):
    topic: ClassVar[str] = "bt.chat.deleted"
    text: str


class Stored(Event):
    topic: ClassVar[str] = "bt.store.saved"
    durable: ClassVar[bool] = True
    n: int


async def eventually(
    check: Callable[[], Any], timeout: float = 10.0, what: str | Callable[[], str] = "condition"
) -> None:
    """Poll until ``check()`` is truthy; generous deadline for a noisy machine.

    ``what`` may be a callable, evaluated at the timeout, to report the state then
    (an f-string would show the state before waiting).
    """
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")
        await asyncio.sleep(0.01)


async def ready(*subs: Subscription) -> None:
    for sub in subs:
        await asyncio.wait_for(sub.ready.wait(), 10)
