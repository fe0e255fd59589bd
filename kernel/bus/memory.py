"""In-process backend: queues fed directly, durability from the SQL log (durable.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from datetime import datetime
from functools import partial

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from . import events as ev
from . import schema
from .bus import Bus, ErrorCallback
from .durable import DurableLog, LogRow
from .events import Envelope, Event
from .subscription import Delivery, LocalDelivery, Subscription


class MemoryBus(Bus):
    """The embedded default: one process, durable events in the kernel's database."""

    backend = "memory"

    def __init__(self, engine: AsyncEngine, on_error: ErrorCallback | None = None) -> None:
        super().__init__(engine, on_error)
        self.log = DurableLog(engine, self.report)
        self._catchup: dict[str, asyncio.Task[None]] = {}

    async def _start_backend(self) -> None:
        await self.log.start()

    async def _close_backend(self) -> None:
        for task in self._catchup.values():
            task.cancel()
        self._catchup.clear()
        await self.log.close()

    def _dispatch(self, env: Envelope, event: Event) -> Awaitable[None] | None:
        """Non-durable events go straight into every matching queue that has room; only
        the log write or a full queue (back-pressure) needs awaiting."""
        if env.durable:
            return self._publish(env, event)
        trie = self._trie
        subs = trie._cache.get(env.topic)
        if subs is None:
            subs = trie.match(env.topic)
        if not subs:
            return None
        shared = LocalDelivery(env, event, None)  # no per-subscription state: one for all
        priority = env.priority
        for sub in subs:
            if not sub.queue.put_nowait(shared, priority):
                return self._put_rest(subs[subs.index(sub) :], shared)
        return None

    async def _put_rest(self, subs: tuple[Subscription, ...], delivery: Delivery) -> None:
        for sub in subs:
            await sub.put(delivery)  # waits for room (back-pressure), never drops

    async def _publish(self, env: Envelope, event: Event) -> None:
        payload: bytes | None = None  # encoded only if the log or a dead letter needs it
        if env.durable:
            payload = ev.encode(event)
            await self.log.append(env, payload)
        shared: LocalDelivery | None = None  # no per-subscription state: one for all
        durable, priority = env.durable, env.priority
        for sub in self._trie.match(env.topic):
            if durable and sub.durable:
                delivery = self._local_delivery(sub, env, event, payload)
            elif shared is None:
                delivery = shared = LocalDelivery(env, event, payload)
            else:
                delivery = shared
            if not sub.queue.put_nowait(delivery, priority):
                await sub.put(delivery)  # full: wait for room (back-pressure)

    def _local_delivery(
        self, sub: Subscription, env: Envelope, event: Event | None, payload: bytes | None
    ) -> LocalDelivery:
        on_ack = partial(self.log.ack, sub.name, env.id) if env.durable and sub.durable else None
        return LocalDelivery(env, event, payload, on_ack)

    def _attach(self, sub: Subscription) -> None:
        if not sub.durable:
            sub.ready.set()
        elif sub.name not in self._catchup:
            # Events committed after this point reach the queue live; the catch-up covers
            # what an earlier run of this named subscription left unacknowledged.
            upto = self.log.last_seq
            registered = self.log.register(sub.name, sub.pattern)
            self._catchup[sub.name] = self._spawn(self._catch_up(sub, registered, upto))

    async def _catch_up(
        self, sub: Subscription, registered: asyncio.Future[int], upto: int
    ) -> None:
        try:
            start = await registered
            async for row in self.log.unacked(sub.name, sub.pattern, start, upto):
                await sub.put(self._row_delivery(sub, row))
        finally:
            sub.ready.set()

    def _row_delivery(self, sub: Subscription, row: LogRow) -> LocalDelivery:
        env = row.envelope()
        return LocalDelivery(env, None, row.payload, partial(self.log.ack, sub.name, env.id))

    async def _detach(self, sub: Subscription, *, delete: bool, drain: bool = False) -> None:
        if delete:
            task = self._catchup.pop(sub.name, None)
            if task is not None:
                task.cancel()

    async def _forget(self, sub: Subscription) -> None:
        if not sub.durable:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(schema.subscriptions).where(schema.subscriptions.c.name == sub.name)
            )
            await conn.execute(delete(schema.acks).where(schema.acks.c.subscription == sub.name))

    async def _can_redeliver(self, sub: Subscription, delivery: Delivery) -> bool:
        return delivery.envelope.durable and sub.durable

    async def _history(
        self, pattern: str, since: datetime | None, from_seq: int | None
    ) -> AsyncIterator[tuple[Envelope, bytes]]:
        async for row in self.log.scan(pattern, since, from_seq):
            yield row.envelope(), row.payload
