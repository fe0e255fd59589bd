"""NATS JetStream backend: a stream per first topic token, a durable pull consumer per
named subscription (per stream), ack / nak-with-delay / term, Nats-Msg-Id dedup.

Consumers feed the same bounded per-subscription queues as the memory backend, so
priorities, concurrency, retries and reload behave identically (see bus.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType
from sqlalchemy.ext.asyncio import AsyncEngine

from . import events as ev
from .bus import Bus, ErrorCallback
from .events import Envelope, Event
from .subscription import Delivery, Subscription

_H_ID = "Nats-Msg-Id"
_H_TS = "Mf-Ts"
_H_PRIORITY = "Mf-Priority"
_H_DURABLE = "Mf-Durable"
_H_REPLY = "Mf-Reply-To"
_H_TOPIC = "Mf-Topic"
_RESERVED = (_H_ID, _H_TS, _H_PRIORITY, _H_DURABLE, _H_REPLY, _H_TOPIC)
_BATCH = 256
_BACKLOG_DEADLINE = 5.0  # seconds a retiring subscription may spend collecting its backlog
_NON_DURABLE_IDLE = 3600.0  # server deletes a forgotten non-durable consumer after this


def _safe(text: str) -> str:
    """Stream and consumer names may not contain '.', '*', '>' or whitespace."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


class NatsDelivery(Delivery):
    """A JetStream message: acked, nak'ed with delay for a retry, or terminated."""

    __slots__ = ("msg",)

    def __init__(self, envelope: Envelope, payload: bytes, msg: Msg) -> None:
        super().__init__(envelope, None, payload)
        self.msg = msg

    async def ack(self) -> None:
        await self.msg.ack()

    async def term(self) -> None:
        await self.msg.term()

    async def retry(self, sub: Subscription, delay: float) -> None:
        await self.msg.nak(delay=delay)  # the server redelivers with num_delivered + 1

    async def release(self) -> None:
        await self.msg.nak()


@dataclass
class _Feed:
    """The consumers (one per stream) feeding one subscription's queue."""

    start_time: datetime
    consumers: dict[str, JetStreamContext.PullSubscription] = field(default_factory=dict)
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    stopping: bool = False
    draining: bool = False  # stop once the server has nothing more (close)


class NatsBus(Bus):
    """Several processes share this bus through one NATS JetStream server."""

    backend = "nats"

    def __init__(
        self,
        url: str,
        engine: AsyncEngine,
        on_error: ErrorCallback | None = None,
        *,
        namespace: str = "mf",
        ack_wait: float = 30.0,
        fetch_timeout: float = 0.5,
    ) -> None:
        super().__init__(engine, on_error)
        self.url = url
        self.namespace = namespace  # subject prefix and stream-name prefix (isolation)
        self.ack_wait = ack_wait
        self.fetch_timeout = fetch_timeout
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._streams: dict[str, str] = {}  # first token -> stream name
        self._feeds: dict[str, _Feed] = {}
        self._inbox = ""

    # -- names -----------------------------------------------------------------------------
    def subscription_subject(self, topic_or_pattern: str) -> str:
        return f"{self.namespace}.{topic_or_pattern}"

    def stream_name(self, token: str) -> str:
        return _safe(f"{self.namespace}_{token}")

    @staticmethod
    def consumer_name(sub_name: str) -> str:
        digest = hashlib.sha1(sub_name.encode()).hexdigest()[:12]
        return f"{_safe(sub_name)[:60]}-{digest}"

    @property
    def js(self) -> JetStreamContext:
        assert self._js is not None, "bus not started"
        return self._js

    # -- lifecycle -------------------------------------------------------------------------
    async def _start_backend(self) -> None:
        self._nc = await nats.connect(self.url, name=f"mindframe-bus-{self.namespace}")
        self._js = self._nc.jetstream()
        prefix = self.stream_name("")
        for info in await self.js.streams_info():
            name = info.config.name or ""
            subjects = info.config.subjects or []
            if name.startswith(prefix) and subjects:
                self._streams[subjects[0].split(".")[1]] = name
        self._inbox = self._nc.new_inbox()
        await self._nc.subscribe(f"{self._inbox}.*", cb=self._on_reply)

    async def _close_backend(self) -> None:
        for name, feed in list(self._feeds.items()):
            sub = self._subs.get(name)
            if sub is not None and not sub.durable:
                await self._delete_consumers(name, feed)
            for psub in feed.consumers.values():
                await _quietly(psub.unsubscribe())
        self._feeds.clear()
        if self._nc is not None:
            await self._nc.drain()
            self._nc = self._js = None

    async def delete_streams(self) -> None:
        """Remove every stream of this namespace (tests, or wiping a dev bus)."""
        prefix = self.stream_name("")
        for info in await self.js.streams_info():
            if (info.config.name or "").startswith(prefix):
                await self.js.delete_stream(info.config.name)
        self._streams.clear()

    async def _ensure_stream(self, token: str) -> str:
        name = self._streams.get(token)
        if name is not None:
            return name
        name = self.stream_name(token)
        await self.js.add_stream(
            name=name,
            subjects=[self.subscription_subject(token), self.subscription_subject(f"{token}.>")],
            storage=StorageType.FILE,
            duplicate_window=120.0,
        )
        self._streams[token] = name
        for sub_name, feed in self._feeds.items():  # wildcard-first subscriptions
            sub = self._subs.get(sub_name)
            if sub is not None and not feed.stopping and sub.pattern.split(".")[0] in "*>":
                self._spawn(self._open_consumer(sub, feed, name))
        return name

    # -- publishing ------------------------------------------------------------------------
    async def _publish(self, env: Envelope, event: Event) -> None:
        payload = ev.encode(event)
        stream = await self._ensure_stream(env.topic.split(".", 1)[0])
        headers = {
            **env.headers,
            _H_ID: env.id,
            _H_TS: env.timestamp.isoformat(),
            _H_PRIORITY: str(env.priority),
            _H_DURABLE: "1" if env.durable else "0",
        }
        if env.reply_to:
            headers[_H_REPLY] = env.reply_to
        subject = self.subscription_subject(env.topic)
        await self.js.publish(subject, payload, stream=stream, headers=headers)

    def _envelope_of(self, msg: Msg) -> Envelope:
        hdrs = msg.headers or {}
        meta = msg.metadata
        ts = hdrs.get(_H_TS)
        return Envelope(
            id=hdrs.get(_H_ID) or f"{meta.stream}-{meta.sequence.stream}",
            topic=msg.subject[len(self.namespace) + 1 :],
            timestamp=datetime.fromisoformat(ts) if ts else meta.timestamp,
            attempt=meta.num_delivered,
            priority=int(hdrs.get(_H_PRIORITY, "0")),
            durable=hdrs.get(_H_DURABLE) == "1",
            replayed=False,
            headers={
                k: v for k, v in hdrs.items() if k not in _RESERVED and not k.startswith("Nats-")
            },
            seq=meta.sequence.stream,
            reply_to=hdrs.get(_H_REPLY),
        )

    # -- consumers -------------------------------------------------------------------------
    def _attach(self, sub: Subscription) -> None:
        feed = self._feeds.get(sub.name)
        if feed is None:
            feed = self._feeds[sub.name] = _Feed(start_time=datetime.now(UTC))
        feed.stopping = feed.draining = False
        self._spawn(self._open_feed(sub, feed))

    async def _open_feed(self, sub: Subscription, feed: _Feed) -> None:
        try:
            first = sub.pattern.split(".", 1)[0]
            if first in ("*", ">"):
                streams = list(self._streams.values())
            else:
                streams = [await self._ensure_stream(first)]
            for stream in streams:
                await self._open_consumer(sub, feed, stream)
        finally:
            sub.ready.set()

    async def _open_consumer(self, sub: Subscription, feed: _Feed, stream: str) -> None:
        task = feed.tasks.get(stream)
        if task is not None and not task.done():
            return
        psub = feed.consumers.get(stream)
        if psub is None:
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_TIME,
                opt_start_time=feed.start_time,  # no gap between subscribe() and creation
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.ack_wait,
                max_deliver=-1,  # the bus dead-letters after max_retries, then terms
                max_ack_pending=sub.queue.maxsize + sub.concurrency + _BATCH,
                inactive_threshold=None if sub.durable else _NON_DURABLE_IDLE,
            )
            psub = await self.js.pull_subscribe(
                self.subscription_subject(sub.pattern),
                durable=self.consumer_name(sub.name),
                stream=stream,
                config=config,
            )
            feed.consumers[stream] = psub
        feed.tasks[stream] = self._spawn(self._fetch_loop(sub, feed, psub))

    async def _fetch_loop(
        self, sub: Subscription, feed: _Feed, psub: JetStreamContext.PullSubscription
    ) -> None:
        loop = asyncio.get_running_loop()
        while not feed.stopping:
            if feed.draining and loop.time() >= self.drain_until:
                return  # closing: what keeps coming back (a retry) waits for the next start
            room = sub.queue.maxsize - sub.queue.qsize()
            try:
                msgs = await psub.fetch(max(1, min(room, _BATCH)), timeout=self.fetch_timeout)
            except TimeoutError:  # nats-py: its subclass, or in some paths the plain one
                if feed.draining:
                    return
                continue
            except Exception as exc:
                if feed.stopping or feed.draining:
                    return
                self.report(exc, {"component": "bus.nats", "subscription": sub.name})
                await asyncio.sleep(0.5)
                continue
            for msg in msgs:
                await sub.put(NatsDelivery(self._envelope_of(msg), msg.data, msg))

    async def _detach(self, sub: Subscription, *, delete: bool, drain: bool = False) -> None:
        feed = self._feeds.get(sub.name)
        if feed is None:
            return
        if drain:
            feed.draining = True  # each loop ends when the server has nothing more
        else:
            feed.stopping = True  # each loop ends after its current fetch
        tasks = list(feed.tasks.values())
        feed.tasks.clear()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _backlog(self, sub: Subscription) -> list[Delivery]:
        """Pull what the server still holds for a retired subscription (to dead-letter it)."""
        feed = self._feeds.get(sub.name)
        out: list[Delivery] = []
        deadline = asyncio.get_running_loop().time() + _BACKLOG_DEADLINE
        for psub in feed.consumers.values() if feed else ():
            while True:
                try:
                    msgs = await psub.fetch(_BATCH, timeout=0.2)
                except TimeoutError:
                    # a fetch can time out on a busy machine while the server still holds
                    # messages: stop only when the consumer says nothing is pending
                    pending = await _pending(psub)
                    if pending == 0 or asyncio.get_running_loop().time() > deadline:
                        break
                    continue
                out.extend(NatsDelivery(self._envelope_of(m), m.data, m) for m in msgs)
        return out

    async def _forget(self, sub: Subscription) -> None:
        feed = self._feeds.pop(sub.name, None)
        if feed is not None:
            await self._delete_consumers(sub.name, feed)
            for psub in feed.consumers.values():
                await _quietly(psub.unsubscribe())

    async def _delete_consumers(self, sub_name: str, feed: _Feed) -> None:
        for stream in feed.consumers:
            await _quietly(self.js.delete_consumer(stream, self.consumer_name(sub_name)))

    async def _can_redeliver(self, sub: Subscription, delivery: Delivery) -> bool:
        return sub.durable and isinstance(delivery, NatsDelivery)

    # -- request / reply -------------------------------------------------------------------
    def _reply_address(self, token: str) -> str:
        return f"{self._inbox}.{token}"

    async def _send_reply(self, reply_to: str, value: Any) -> None:
        headers = {}
        if isinstance(value, Event):
            headers[_H_TOPIC] = type(value).topic
        try:
            data = msgspec.json.encode(value)
        except Exception as exc:
            self.report(exc, {"component": "bus.nats", "reply_to": reply_to})
            return
        assert self._nc is not None
        await self._nc.publish(reply_to, data, headers=headers or None)

    async def _on_reply(self, msg: Msg) -> None:
        token = msg.subject.rsplit(".", 1)[-1]
        topic = (msg.headers or {}).get(_H_TOPIC)
        try:
            value = ev.decode(topic, msg.data) if topic else msgspec.json.decode(msg.data)
        except Exception as exc:
            self.report(exc, {"component": "bus.nats", "reply": token})
            return
        self._resolve_reply(token, value)

    # -- replay ----------------------------------------------------------------------------
    async def _history(
        self, pattern: str, since: datetime | None, from_seq: int | None
    ) -> AsyncIterator[tuple[Envelope, bytes]]:
        first = pattern.split(".", 1)[0]
        if first in ("*", ">"):
            streams = list(self._streams.values())
        else:
            streams = [self._streams[first]] if first in self._streams else []
        for stream in streams:
            if from_seq is not None:
                config = ConsumerConfig(
                    deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                    opt_start_seq=from_seq,
                    ack_policy=AckPolicy.NONE,
                )
            elif since is not None:
                config = ConsumerConfig(
                    deliver_policy=DeliverPolicy.BY_START_TIME,
                    opt_start_time=since,
                    ack_policy=AckPolicy.NONE,
                )
            else:
                config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE)
            config.inactive_threshold = 30.0
            psub = await self.js.pull_subscribe(
                self.subscription_subject(pattern), stream=stream, config=config
            )
            try:
                pending = (await psub.consumer_info()).num_pending or 0
                while pending > 0:
                    try:
                        msgs = await psub.fetch(min(pending, _BATCH), timeout=1.0)
                    except TimeoutError:
                        break
                    for msg in msgs:
                        pending = msg.metadata.num_pending
                        if (msg.headers or {}).get(_H_DURABLE) == "1":  # the log = durable
                            yield self._envelope_of(msg), msg.data
            finally:
                info = await psub.consumer_info()
                await _quietly(psub.unsubscribe())
                await _quietly(self.js.delete_consumer(stream, info.name))


async def _quietly(awaitable: Any) -> None:
    """Best-effort cleanup: the server may already have removed the thing."""
    with contextlib.suppress(TimeoutError, nats.errors.Error, nats.js.errors.Error):
        await awaitable


async def _pending(psub: Any) -> int:
    """Messages the server still holds for a pull consumer (0 if it cannot say)."""
    try:
        info = await psub.consumer_info()
    except Exception:
        return 0
    return int(info.num_pending or 0)
