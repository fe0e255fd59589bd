"""One subscription: its bounded priority queue, its workers and its counters.

Each subscription owns its queue and workers, so a slow or failing handler only ever
backs up its own queue; the backend feeds the queue and the bus runs deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec

from . import events as ev
from .events import Envelope, Event

if TYPE_CHECKING:
    from .bus import Bus

Handler = Callable[..., Awaitable[Any]]


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
    """One event on its way to one subscription; subclasses know how to ack or retry it.

    The payload (the event's JSON) is encoded on first use when the publisher did not
    need it: the in-process path hands handlers the struct and only a dead letter or a
    durable log needs the bytes.
    """

    __slots__ = ("_payload", "envelope", "event", "needs_ack")

    def __init__(self, envelope: Envelope, event: Event | None, payload: bytes | None) -> None:
        if payload is None and event is None:
            raise ValueError("a delivery needs the event or its payload")
        self.envelope = envelope
        self.event = event  # None until decoded (durable log and NATS paths)
        self._payload = payload
        self.needs_ack = True  # False: ack() does nothing, the bus may skip it

    @property
    def payload(self) -> bytes:
        payload = self._payload
        if payload is None:
            payload = self._payload = ev.encode(self.event)  # type: ignore[arg-type]
        return payload

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
    """A delivery the process retries itself (in-memory backend, replays, redrives).

    Without ``on_ack`` it holds no per-subscription state, so one instance can be queued
    to every matching subscription (a retry makes a new one).
    """

    __slots__ = ("on_ack",)

    def __init__(
        self,
        envelope: Envelope,
        event: Event | None,
        payload: bytes | None,
        on_ack: Callable[[], None] | None = None,
    ) -> None:
        if payload is None and event is None:
            raise ValueError("a delivery needs the event or its payload")
        # Slots set here rather than through super(): this runs once per published event.
        self.envelope = envelope
        self.event = event
        self._payload = payload
        self.on_ack = on_ack
        self.needs_ack = on_ack is not None

    async def ack(self) -> None:
        if self.on_ack is not None:
            self.on_ack()

    async def retry(self, sub: Subscription, delay: float) -> None:
        envelope = msgspec.structs.replace(self.envelope, attempt=self.envelope.attempt + 1)
        again = LocalDelivery(envelope, self.event, self._payload, self.on_ack)
        sub.bus._spawn(_requeue(sub, again, delay))


async def _requeue(sub: Subscription, delivery: Delivery, delay: float) -> None:
    try:
        await asyncio.sleep(delay)
        await sub.put(delivery)
    except asyncio.CancelledError:
        sub.leftovers.append(delivery)  # shutdown: close() dead-letters or releases it
        raise


class DeliveryQueue:
    """Bounded priority queue of deliveries for one subscription.

    A deque per priority level (FIFO within a level, higher levels first) instead of a
    heap: subscriptions see one or a few priorities, so a put is an append and a get a
    popleft. Waiters are futures created only when someone has to wait, and each put or
    get wakes at most one of them, so a worker is woken once per batch, not per event.
    Like :class:`asyncio.Queue` it counts unfinished items for :meth:`join`.
    """

    __slots__ = (
        "_default",
        "_getters",
        "_joiners",
        "_levels",
        "_order",
        "_putters",
        "_size",
        "_unfinished",
        "maxsize",
    )

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._default: deque[Delivery] = deque()  # priority 0, the common case
        self._levels: dict[int, deque[Delivery]] = {0: self._default}
        self._order: list[deque[Delivery]] = [self._default]  # highest priority first
        self._size = 0
        self._unfinished = 0
        self._getters: deque[asyncio.Future[None]] = deque()
        self._putters: deque[asyncio.Future[None]] = deque()
        self._joiners: list[asyncio.Future[None]] = []

    def qsize(self) -> int:
        return self._size

    def empty(self) -> bool:
        return not self._size

    def full(self) -> bool:
        return self._size >= self.maxsize

    def put_nowait(self, delivery: Delivery, priority: int = 0) -> bool:
        """Enqueue if there is room; False (nothing done) when the queue is full."""
        if self._size >= self.maxsize:
            return False
        if priority == 0:
            self._default.append(delivery)
        else:
            level = self._levels.get(priority)
            if level is None:
                level = self._add_level(priority)
            level.append(delivery)
        self._size += 1
        self._unfinished += 1
        if self._getters:
            _wake_one(self._getters)
        return True

    def _add_level(self, priority: int) -> deque[Delivery]:
        level = self._levels[priority] = deque()
        self._order = [self._levels[p] for p in sorted(self._levels, reverse=True)]
        return level

    async def put(self, delivery: Delivery, priority: int = 0) -> None:
        """Enqueue, waiting (back-pressure) while the queue is full; never drops."""
        while not self.put_nowait(delivery, priority):
            # if cancelled after being woken, pass the room on to the next publisher
            await _park(self._putters, lambda: self._size < self.maxsize)

    def get_nowait(self) -> Delivery:
        """The oldest delivery of the highest priority; IndexError when empty."""
        for level in self._order:
            if level:
                delivery = level.popleft()
                break
        else:
            raise IndexError("queue is empty")
        self._size -= 1
        if self._putters:
            _wake_one(self._putters)
        return delivery

    async def wait(self) -> None:
        """Return once the queue is not empty."""
        while not self._size:
            # if cancelled after being woken, another worker takes what woke this one
            await _park(self._getters, lambda: self._size > 0)

    def task_done(self) -> None:
        self._unfinished -= 1
        if self._unfinished <= 0 and self._joiners:
            for joiner in self._joiners:
                if not joiner.done():
                    joiner.set_result(None)
            self._joiners.clear()

    async def join(self) -> None:
        """Wait until every enqueued delivery has been taken and marked done."""
        if self._unfinished > 0:
            joiner = asyncio.get_running_loop().create_future()
            self._joiners.append(joiner)
            await joiner


async def _park(waiters: deque[asyncio.Future[None]], wake_was_useful: Callable[[], bool]) -> None:
    """Wait in line in `waiters` until woken. A waiter cancelled after its wake-up hands the
    wake-up on (when `wake_was_useful` says there is still something to take), so a
    cancellation never strands the others."""
    waiter = asyncio.get_running_loop().create_future()
    waiters.append(waiter)
    try:
        await waiter
    except BaseException:
        waiter.cancel()
        with contextlib.suppress(ValueError):
            waiters.remove(waiter)
        if wake_was_useful() and waiters:
            _wake_one(waiters)
        raise


def _wake_one(waiters: deque[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return


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
        self.queue = DeliveryQueue(queue_size)
        self.leftovers: list[Delivery] = []  # retries pending, handlers cut off, at shutdown
        self.ready = asyncio.Event()  # set once the backend feeds this subscription
        self.retired = False  # removed from the bus; nothing more is handled
        self.orphaned = False  # unsubscribed with keep_queues, waiting to be adopted
        self.handled = self.failed = self.retried = self.dead_lettered = 0
        self._rate_bucket = (0, 0)  # (second, count) for the current second
        self._rate_last = 0.0
        self._ticked = 0  # handled count at the last _tick()
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
        queue = self.queue
        if not queue.put_nowait(delivery, delivery.envelope.priority):
            await queue.put(delivery, delivery.envelope.priority)

    def drain_nowait(self) -> list[Delivery]:
        out: list[Delivery] = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait())
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

    def halt(self) -> None:
        """From now on no handler starts; those running finish (see :meth:`stop`)."""
        self._stopping = True
        for task in list(self._idle):
            task.cancel()

    async def stop(self) -> None:
        """Stop after the handlers currently running finish; queued events stay queued."""
        self.halt()
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
        bus = self.bus
        idle = self._idle
        while not self._stopping:
            if not queue._size:
                if self.handled != self._ticked:
                    self._tick()
                idle.add(me)
                try:
                    await queue.wait()  # woken once per batch, not per event
                finally:
                    idle.discard(me)
                continue
            # Take one at a time, so an event of higher priority published meanwhile
            # still overtakes the rest of the batch.
            delivery = queue.get_nowait()
            settled = False
            try:
                event = delivery.event
                if event is None or self.retired:  # not decoded yet, or unsubscribed
                    event = await bus._prepare(self, delivery)
                    if event is None:
                        continue
                env = delivery.envelope
                try:
                    if self.pass_envelope:
                        result = await self.handler(event, env)
                    else:
                        result = await self.handler(event)
                except Exception as exc:
                    await bus._failed(self, delivery, exc)
                    settled = True
                    continue
                self.handled += 1
                if not self.handled & 255:
                    self._tick()
                if delivery.needs_ack:
                    await delivery.ack()
                settled = True
                if result is not None and env.reply_to:  # None: an observer, not the responder
                    await bus._send_reply(env.reply_to, result)
            except asyncio.CancelledError:
                if not settled:  # killed mid-handler at shutdown: close() releases it
                    self.leftovers.append(delivery)
                raise
            finally:
                queue.task_done()

    async def cancel(self) -> None:
        """Unsubscribe; events still queued go to the dead-letter store."""
        await self.bus._cancel(self)

    # -- stats -----------------------------------------------------------------------------
    def _tick(self) -> None:
        """Attribute the events handled since the last tick to the current second.

        Called every 256 events, when a worker goes idle and by :meth:`rate`: one clock
        read per batch instead of per event.
        """
        fresh = self.handled - self._ticked
        self._ticked = self.handled
        sec = int(time.monotonic())
        bucket_sec, count = self._rate_bucket
        if sec == bucket_sec:
            self._rate_bucket = (sec, count + fresh)
        else:
            self._rate_last = count if sec == bucket_sec + 1 else 0.0
            self._rate_bucket = (sec, fresh)

    def rate(self) -> float:
        """Events handled per second over the last whole second."""
        self._tick()
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
