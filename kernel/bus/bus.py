"""The backend-independent bus: subscriptions, delivery, retries, reload, request/reply.

Backends (memory.py, nats.py) only move envelopes: they publish, feed subscription
queues and know how to acknowledge; everything observable lives here so both behave
the same.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from . import events as ev
from .dead_letters import DeadLetter, DeadLetterStore
from .errors import BusNotStarted, RequestTimeout
from .events import Envelope, Event
from .subscription import Delivery, Handler, LocalDelivery, Subscription
from .topics import TopicTrie, validate_pattern

log = logging.getLogger("mindframe.kernel.bus")

ErrorCallback = Callable[[BaseException, dict[str, Any]], None]

REASON_RELOAD = "no subscriber after reload"
REASON_UNSUBSCRIBED = "unsubscribed before delivery"
REASON_CLOSED = "bus closed before delivery"
REASON_RETRIES = "handler failed after max retries"


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with 'equal jitter': between half and all of base * 2**(n-1)."""
    delay = min(cap, base * (2 ** (attempt - 1)))
    return delay / 2 + random.random() * delay / 2


class Bus:
    """Publish typed events to pattern subscriptions; see DESIGN.md, "Event bus"."""

    backend = "abstract"

    def __init__(self, engine: AsyncEngine, on_error: ErrorCallback | None = None) -> None:
        self.engine = engine
        self._on_error = on_error
        self._trie: TopicTrie[Subscription] = TopicTrie()
        self._subs: dict[str, Subscription] = {}
        self._suspended: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._replies: dict[str, asyncio.Future[Any]] = {}
        self._started = False
        self._closing = False
        self.drain_until = float("inf")
        """While closing: when the backend stops feeding queues even if more keeps coming."""
        self._draining = False  # closing, and the workers still run: a retry can still happen
        self.published = 0
        self.dead_letters = DeadLetterStore(engine, self._redrive)

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        from . import schema

        async with self.engine.begin() as conn:
            await conn.run_sync(schema.metadata.create_all)
        await self.dead_letters.load()
        await self._start_backend()
        self._started = True
        self._closing = False
        for sub in list(self._subs.values()):
            if sub.owner not in self._suspended and not sub.orphaned:
                self._attach(sub)
                sub.start()

    async def close(self, timeout: float = 5.0) -> None:
        """Stop feeding, let queued events drain for up to ``timeout`` seconds, then stop.

        Whatever is still queued is released to the backend (durable: delivered again
        after restart) or dead-lettered; never silently dropped.
        """
        if not self._started:
            return
        self._closing = self._draining = True
        self.drain_until = asyncio.get_running_loop().time() + timeout
        subs = list(self._subs.values())
        await asyncio.gather(*(self._detach(s, delete=False, drain=True) for s in subs))
        try:
            async with asyncio.timeout(
                max(0.0, self.drain_until - asyncio.get_running_loop().time())
            ):
                await asyncio.gather(*(s.queue.join() for s in subs if s.running))
        except TimeoutError:
            log.warning("bus close: queues not drained within %ss", timeout)
        for sub in subs:
            await sub.kill()
        self._draining = False
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for sub in subs:
            await self._settle_leftovers(sub, [*sub.drain_nowait(), *sub.leftovers], REASON_CLOSED)
            sub.leftovers.clear()
        await self._close_backend()
        self._started = False

    async def __aenter__(self) -> Bus:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- subscribing -----------------------------------------------------------------------
    def subscribe(
        self,
        pattern: str,
        handler: Handler,
        *,
        owner: str,
        name: str | None = None,
        queue_size: int = 1000,
        concurrency: int = 1,
        max_retries: int = 3,
        durable: bool = False,
        retry_delay: float = 0.1,
        max_retry_delay: float = 30.0,
    ) -> Subscription:
        """Register an async handler for ``pattern``; returns at once (see ``sub.ready``).

        A name held by a subscription left queued by ``unsubscribe_owner(keep_queues=True)``
        adopts that queue: this is how a reloaded plugin takes over its predecessor's events.
        """
        validate_pattern(pattern)
        name = name or f"{pattern}:{getattr(handler, '__qualname__', type(handler).__name__)}"
        options = dict(
            owner=owner,
            concurrency=concurrency,
            max_retries=max_retries,
            durable=durable,
            retry_delay=retry_delay,
            max_retry_delay=max_retry_delay,
        )
        existing = self._subs.get(name)
        if existing is not None:
            if not existing.orphaned:
                raise ValueError(f"subscription name {name!r} is in use (owner {existing.owner!r})")
            if existing.pattern != pattern:
                raise ValueError(
                    f"subscription {name!r} is waiting with pattern {existing.pattern!r}; "
                    f"cannot adopt it with {pattern!r}"
                )
            existing.configure(handler, **options)  # type: ignore[arg-type]
            existing.orphaned = False
            sub = existing
        else:
            sub = Subscription(self, pattern, handler, name=name, queue_size=queue_size, **options)  # type: ignore[arg-type]
            self._subs[name] = sub
            self._trie.add(pattern, sub)
        if self._started and owner not in self._suspended:
            self._attach(sub)
            sub.start()
        return sub

    def subscriptions(self, owner: str | None = None) -> list[Subscription]:
        return [s for s in self._subs.values() if owner is None or s.owner == owner]

    def unsubscribe_owner(self, owner: str, keep_queues: bool = False) -> int:
        """Remove exactly ``owner``'s subscriptions; returns how many.

        With ``keep_queues`` they stay routed and queued (bounded) until a subscription
        with the same name adopts them or ``resume(owner)`` dead-letters what is left.
        """
        subs = [s for s in self._subs.values() if s.owner == owner and not s.orphaned]
        for sub in subs:
            if keep_queues:
                sub.orphaned = True
            else:
                self._unroute(sub)
                self._spawn(self._retire(sub, REASON_UNSUBSCRIBED))
        return len(subs)

    async def _cancel(self, sub: Subscription) -> None:
        if self._subs.get(sub.name) is sub:
            self._unroute(sub)
            await self._retire(sub, REASON_UNSUBSCRIBED)

    def _unroute(self, sub: Subscription) -> None:
        sub.retired = True  # workers still running hand their next events to _retire
        self._trie.remove(sub.pattern, sub)
        self._subs.pop(sub.name, None)

    async def _retire(self, sub: Subscription, reason: str) -> None:
        """Stop a removed subscription; whatever it had queued goes to dead letters."""
        await self._detach(sub, delete=True)
        await sub.stop()
        leftovers = [*sub.drain_nowait(), *sub.leftovers, *await self._backlog(sub)]
        sub.leftovers.clear()
        await self._dead_letter_many(sub, leftovers, reason)
        await self._forget(sub)

    async def suspend(self, owner: str) -> None:
        """Stop ``owner``'s workers once their running handlers finish; events keep queuing."""
        self._suspended.add(owner)
        subs = self.subscriptions(owner)
        # Halt first: while a backend stops feeding (NATS: up to one fetch timeout) the
        # old handlers must not take what is queued meanwhile; that is for the next version.
        for sub in subs:
            sub.halt()
        await asyncio.gather(*(self._detach(sub, delete=False) for sub in subs))
        for sub in subs:
            await sub.stop()

    async def resume(self, owner: str) -> None:
        """Restart ``owner``'s workers; queues nobody adopted are dead-lettered."""
        self._suspended.discard(owner)
        for sub in self.subscriptions(owner):
            if sub.orphaned:
                self._unroute(sub)
                await self._retire(sub, REASON_RELOAD)
            elif self._started:
                self._attach(sub)
                sub.start()

    # -- publishing ------------------------------------------------------------------------
    def _check_open(self) -> None:
        if not self._started or self._closing:
            raise BusNotStarted("the bus is not running (call start(), or it is closing)")

    def _envelope(
        self,
        event: Event,
        durable: bool | None,
        priority: int,
        headers: dict[str, str] | None,
        reply_to: str | None = None,
    ) -> Envelope:
        """Validate ``event`` and wrap it (``publish`` inlines the same for speed)."""
        ev.check(event)
        cls = type(event)
        return Envelope(
            id=ev.new_event_id(),
            topic=cls.topic,
            timestamp=datetime.now(UTC),
            priority=priority,
            durable=cls.durable if durable is None else durable,
            headers=headers or {},
            reply_to=reply_to,
        )

    async def publish(
        self,
        event: Event,
        *,
        durable: bool | None = None,
        priority: int = 0,
        headers: dict[str, str] | None = None,
    ) -> str:
        """Validate and publish; returns the event id once the event is accepted.

        Durable events are in the log before this returns. Awaits (never drops) while a
        subscriber's queue is full.
        """
        if not self._started or self._closing:
            self._check_open()
        ev.check(event)  # by type for plain structs: no JSON round trip on the hot path
        cls = type(event)
        env = Envelope(
            id=ev.new_event_id(),
            topic=cls.topic,
            timestamp=datetime.now(UTC),
            priority=priority,
            durable=cls.durable if durable is None else durable,
            headers=headers or {},
        )
        pending = self._dispatch(env, event)
        if pending is not None:
            await pending
        self.published += 1
        return env.id

    async def request(
        self,
        event: Event,
        *,
        timeout: float = 5.0,
        priority: int = 0,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Publish; return the first non-None handler result, or raise RequestTimeout.

        Handlers returning None are observers; a responder that keeps failing is
        dead-lettered as usual and the requester times out.
        """
        self._check_open()
        token = ev.new_event_id()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._replies[token] = future
        try:
            async with asyncio.timeout(timeout):
                env = self._envelope(
                    event, False, priority, headers, reply_to=self._reply_address(token)
                )
                await self._publish(env, event)
                return await future
        except TimeoutError:
            raise RequestTimeout(
                f"no reply to {type(event).topic!r} within {timeout}s (is anyone subscribed?)"
            ) from None
        finally:
            self._replies.pop(token, None)

    def _resolve_reply(self, token: str, value: Any) -> None:
        future = self._replies.get(token)
        if future is not None and not future.done():
            future.set_result(value)

    async def replay(
        self, pattern: str, since: datetime | None = None, *, from_seq: int | None = None
    ) -> int:
        """Re-deliver logged events matching ``pattern`` to the current subscribers.

        Returns how many events were replayed. Envelopes carry ``replayed=True``.
        """
        self._check_open()
        validate_pattern(pattern)
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        count = 0
        async for env, payload in self._history(pattern, since, from_seq):
            env = msgspec.structs.replace(env, replayed=True, reply_to=None)
            try:
                event = ev.decode(env.topic, payload)
            except Exception as exc:
                await self.dead_letters.add(
                    event_id=env.id,
                    topic=env.topic,
                    payload=payload,
                    error=exc,
                    reason=f"decode failed during replay: {exc}",
                    headers=env.headers,
                )
                continue
            for sub in self._trie.match(env.topic):
                await sub.put(self._local_delivery(sub, env, event, payload))
            count += 1
        return count

    # -- delivery --------------------------------------------------------------------------
    async def _prepare(self, sub: Subscription, delivery: Delivery) -> Event | None:
        """The slow start of a delivery (the worker in subscription.py runs the handler):
        keep it for ``_retire`` if the subscription is gone, decode it if it came from the
        log or the server. None when there is nothing to hand the handler."""
        if sub.retired:
            sub.leftovers.append(delivery)
            return None
        event = delivery.event
        if event is None:
            try:
                event = delivery.event = ev.decode(delivery.envelope.topic, delivery.payload)
            except Exception as exc:
                await self._dead_letter(sub, delivery, f"decode failed: {exc}", exc)
                return None
        return event

    async def _failed(self, sub: Subscription, delivery: Delivery, exc: Exception) -> None:
        """A handler raised: report it, then retry with backoff or dead-letter."""
        env = delivery.envelope
        sub.failed += 1
        final = env.attempt > sub.max_retries
        self.report(
            exc,
            {
                "component": "bus",
                "subscription": sub.name,
                "owner": sub.owner,
                "topic": env.topic,
                "event_id": env.id,
                "attempt": env.attempt,
                "will_retry": not final,
            },
        )
        if final:
            await self._dead_letter(sub, delivery, REASON_RETRIES, exc)
        else:
            sub.retried += 1
            await delivery.retry(sub, backoff(env.attempt, sub.retry_delay, sub.max_retry_delay))

    def report(self, exc: BaseException, context: dict[str, Any]) -> None:
        """Hand an error to ``on_error``; the bus itself never lets one escape."""
        if self._on_error is None:
            log.error("bus error %s", context, exc_info=exc)
            return
        try:
            self._on_error(exc, context)
        except Exception:
            log.exception("on_error callback raised")

    async def _dead_letter(
        self,
        sub: Subscription | None,
        delivery: Delivery,
        reason: str,
        error: BaseException | None = None,
    ) -> None:
        env = delivery.envelope
        try:
            await self.dead_letters.add(
                event_id=env.id,
                topic=env.topic,
                payload=delivery.payload,
                reason=reason,
                subscription=sub.name if sub else None,
                owner=sub.owner if sub else None,
                error=error,
                attempts=env.attempt,
                priority=env.priority,
                headers=env.headers,
            )
        except Exception as exc:  # not stored: never ack it, deliver it again after a backoff
            self.report(exc, {"component": "bus.dead_letters", "event_id": env.id})
            if sub is None or sub.retired or (self._closing and not self._draining):
                await delivery.release()  # no one to retry for: the backend keeps what it can
            else:
                delay = backoff(env.attempt, sub.retry_delay, sub.max_retry_delay)
                await delivery.retry(sub, delay)
            return
        if sub is not None:
            sub.dead_lettered += 1
        await delivery.term()

    async def _dead_letter_many(
        self, sub: Subscription, deliveries: Iterable[Delivery], reason: str
    ) -> None:
        for delivery in deliveries:
            await self._dead_letter(sub, delivery, reason)

    async def _settle_leftovers(
        self, sub: Subscription, deliveries: list[Delivery], reason: str
    ) -> None:
        """At shutdown: the backend keeps what it can redeliver, the rest is dead-lettered."""
        for delivery in deliveries:
            if not await self._can_redeliver(sub, delivery):
                await self._dead_letter(sub, delivery, reason)
            else:
                await delivery.release()

    async def _redrive(self, letter: DeadLetter) -> None:
        """Put a dead letter back: into its subscription if it still exists, else publish."""
        self._check_open()
        env = Envelope(
            id=letter.event_id,
            topic=letter.topic,
            timestamp=datetime.now(UTC),
            priority=letter.priority,
            headers={**letter.headers, "redriven-from": str(letter.id)},
        )
        payload = letter.payload.encode()
        sub = self._subs.get(letter.subscription or "")
        targets = [sub] if sub is not None else list(self._trie.match(letter.topic))
        for target in targets:
            await target.put(self._local_delivery(target, env, None, payload))

    def _local_delivery(
        self, sub: Subscription, env: Envelope, event: Event | None, payload: bytes | None
    ) -> LocalDelivery:
        return LocalDelivery(env, event, payload)

    # -- helpers ---------------------------------------------------------------------------
    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.report(task.exception(), {"component": "bus", "task": task.get_name()})  # type: ignore[arg-type]

    def stats(self) -> dict[str, Any]:
        """JSON-able snapshot for the API, the CLI and tests."""
        return {
            "backend": self.backend,
            "running": self._started and not self._closing,
            "published": self.published,
            "suspended_owners": sorted(self._suspended),
            "dead_letters": self.dead_letters.count,
            "subscriptions": [s.stats() for s in self._subs.values()],
        }

    # -- backend hooks ---------------------------------------------------------------------
    async def _start_backend(self) -> None:
        raise NotImplementedError

    async def _close_backend(self) -> None:
        raise NotImplementedError

    def _dispatch(self, env: Envelope, event: Event) -> Awaitable[None] | None:
        """Publish at once if the backend can without waiting (None), else what to await.

        Saves the in-process backend a coroutine per event; the default awaits _publish.
        """
        return self._publish(env, event)

    async def _publish(self, env: Envelope, event: Event) -> None:
        """Hand a validated event to the backend (``ev.encode(event)`` when it needs bytes)."""
        raise NotImplementedError

    def _attach(self, sub: Subscription) -> None:
        """Start feeding the subscription's queue (sets ``sub.ready`` when it is fed)."""
        sub.ready.set()

    async def _detach(self, sub: Subscription, *, delete: bool, drain: bool = False) -> None:
        """Stop feeding the queue (``drain``: after feeding what is already published)."""

    async def _backlog(self, sub: Subscription) -> list[Delivery]:
        """Events the backend still holds for a subscription being retired."""
        return []

    async def _forget(self, sub: Subscription) -> None:
        """Drop backend state (durable cursor, consumer) of a retired subscription."""

    async def _can_redeliver(self, sub: Subscription, delivery: Delivery) -> bool:
        return False

    def _reply_address(self, token: str) -> str:
        return token

    async def _send_reply(self, reply_to: str, value: Any) -> None:
        self._resolve_reply(reply_to, value)

    async def _history(
        self, pattern: str, since: datetime | None, from_seq: int | None
    ) -> Any:  # AsyncIterator[tuple[Envelope, bytes]]
        raise NotImplementedError
        yield
