"""One subscription: its bounded priority queue, its workers and its counters.

Each subscription owns its queue and workers, so a slow or failing handler only ever
backs up its own queue; the backend feeds the queue and the bus runs deliveries.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec

from .events import Envelope, Event

if TYPE_CHECKING:
    from .bus import Bus

Handler = Callable[..., Awaitable[Any]]
_order = itertools.count()


def wants_envelope(handler: Handler) -> bool:
    """True when the handler takes (event, envelope); rejects sync handlers up front."""
    call = getattr(handler, "__call__", None)  # noqa: B004 - callable objects too
    if not (inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(call)):
        raise TypeError(
            f"bus handlers must be async (async def); {handler!r} is not a coroutine function"
        )
    # follow_wrapped=False: wrappers such as idempotent() declare their own arity.
    params = inspect.signature(handler, follow_wrapped=False).parameters.values()
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    varargs = any(p.kind is p.VAR_POSITIONAL for p in params)
    if not positional and not varargs:
        raise TypeError(f"handler {handler!r} must accept the event as its first argument")
    return varargs or len(positional) >= 2


class Delivery:
    """One event on its way to one subscription; subclasses know how to ack or retry it."""

    __slots__ = ("envelope", "event", "payload")

    def __init__(self, envelope: Envelope, event: Event | None, payload: bytes) -> None:
        self.envelope = envelope
        self.event = event  # None until decoded (durable log and NATS paths)
        self.payload = payload

    async def ack(self) -> None:
        """The handler succeeded (or the event was dead-lettered): never deliver again."""

    async def term(self) -> None:
        """Given up on (dead-lettered): never deliver again."""
        await self.ack()

    async def retry(self, sub: Subscription, delay: float) -> None:
        """Deliver again after ``delay`` with attempt + 1."""
        raise NotImplementedError

    async def release(self) -> None:
        """Left undelivered at shutdown: let the backend deliver it again later."""


class LocalDelivery(Delivery):
    """A delivery the process retries itself (in-memory backend, replays, redrives)."""

    __slots__ = ("on_ack",)

    def __init__(
        self,
        envelope: Envelope,
        event: Event | None,
        payload: bytes,
        on_ack: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(envelope, event, payload)
        self.on_ack = on_ack

    async def ack(self) -> None:
        if self.on_ack is not None:
            self.on_ack()

    async def retry(self, sub: Subscription, delay: float) -> None:
        envelope = msgspec.structs.replace(self.envelope, attempt=self.envelope.attempt + 1)
        again = LocalDelivery(envelope, self.event, self.payload, self.on_ack)
        sub.bus._spawn(_requeue(sub, again, delay))


async def _requeue(sub: Subscription, delivery: Delivery, delay: float) -> None:
    try:
        await asyncio.sleep(delay)
        await sub.put(delivery)
    except asyncio.CancelledError:
        sub.leftovers.append(delivery)  # shutdown: close() dead-letters or releases it
        raise


class Subscription:
    """A handler bound to a pattern, with its own queue, workers and statistics."""

    def __init__(
        self,
        bus: Bus,
        pattern: str,
        handler: Handler,
        *,
        owner: str,
        name: str,
        queue_size: int,
        concurrency: int,
        max_retries: int,
        durable: bool,
        retry_delay: float,
        max_retry_delay: float,
    ) -> None:
        if queue_size < 1 or concurrency < 1 or max_retries < 0:
            raise ValueError("queue_size and concurrency must be >= 1, max_retries >= 0")
        self.bus = bus
        self.pattern = pattern
        self.name = name
        self.queue: asyncio.PriorityQueue[tuple[int, int, Delivery]] = asyncio.PriorityQueue(
            queue_size
        )
        self.leftovers: list[Delivery] = []  # retries pending at shutdown
        self.ready = asyncio.Event()  # set once the backend feeds this subscription
        self.retired = False  # removed from the bus; nothing more is handled
        self.orphaned = False  # unsubscribed with keep_queues, waiting to be adopted
        self.handled = self.failed = self.retried = self.dead_lettered = 0
        self._rate_bucket = (0, 0)  # (second, count) for the current second
        self._rate_last = 0.0
        self._workers: set[asyncio.Task[None]] = set()
        self._idle: set[asyncio.Task[None]] = set()
        self._stopping = False
        self.configure(
            handler,
            owner=owner,
            concurrency=concurrency,
            max_retries=max_retries,
            durable=durable,
            retry_delay=retry_delay,
            max_retry_delay=max_retry_delay,
        )

    def configure(
        self,
        handler: Handler,
        *,
        owner: str,
        concurrency: int,
        max_retries: int,
        durable: bool,
        retry_delay: float,
        max_retry_delay: float,
    ) -> None:
        """Set the handler and options; also used when a reloaded plugin adopts the queue."""
        self.pass_envelope = wants_envelope(handler)
        self.handler = handler
        self.owner = owner
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.durable = durable
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay

    def __repr__(self) -> str:
        return f"<Subscription {self.name!r} {self.pattern!r} owner={self.owner!r}>"

    # -- queue -----------------------------------------------------------------------------
    async def put(self, delivery: Delivery) -> None:
        """Enqueue; awaits (back-pressure) while the queue is full, never drops."""
        item = (-delivery.envelope.priority, next(_order), delivery)
        queue = self.queue
        if queue.full():
            await queue.put(item)
        else:
            queue.put_nowait(item)

    def drain_nowait(self) -> list[Delivery]:
        out: list[Delivery] = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait()[2])
            self.queue.task_done()
        return out

    # -- workers ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return bool(self._workers)

    def start(self) -> None:
        self._stopping = False
        while len(self._workers) < self.concurrency:
            task = asyncio.get_running_loop().create_task(self._work(), name=f"bus:{self.name}")
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)

    async def stop(self) -> None:
        """Stop after the handlers currently running finish; queued events stay queued."""
        self._stopping = True
        for task in list(self._idle):
            task.cancel()
        if self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)

    async def kill(self) -> None:
        """Cancel workers even mid-handler (shutdown after the drain timeout)."""
        self._stopping = True
        for task in list(self._workers):
            task.cancel()
        if self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)

    async def _work(self) -> None:
        me = asyncio.current_task()
        assert me is not None
        queue = self.queue
        deliver = self.bus._deliver
        while not self._stopping:
            self._idle.add(me)
            try:
                _, _, delivery = await queue.get()
            finally:
                self._idle.discard(me)
            try:
                await deliver(self, delivery)
            finally:
                queue.task_done()

    async def cancel(self) -> None:
        """Unsubscribe; events still queued go to the dead-letter store."""
        await self.bus._cancel(self)

    # -- stats -----------------------------------------------------------------------------
    def count_handled(self) -> None:
        self.handled += 1
        sec = int(time.monotonic())
        bucket_sec, count = self._rate_bucket
        if sec == bucket_sec:
            self._rate_bucket = (sec, count + 1)
        else:
            self._rate_last = count if sec == bucket_sec + 1 else 0.0
            self._rate_bucket = (sec, 1)

    def rate(self) -> float:
        """Events handled per second over the last whole second."""
        sec = int(time.monotonic())
        bucket_sec, count = self._rate_bucket
        if sec == bucket_sec:
            return float(self._rate_last)
        return float(count) if sec == bucket_sec + 1 else 0.0

    def stats(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "owner": self.owner,
            "pattern": self.pattern,
            "durable": self.durable,
            "queue_depth": self.queue.qsize(),
            "queue_size": self.queue.maxsize,
            "concurrency": self.concurrency,
            "running": self.running,
            "orphaned": self.orphaned,
            "handled": self.handled,
            "failed": self.failed,
            "retried": self.retried,
            "dead_lettered": self.dead_lettered,
            "rate_per_s": self.rate(),
        }
