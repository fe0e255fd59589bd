"""Delivery semantics, run against both backends."""

from __future__ import annotations

import asyncio
import json
from typing import ClassVar

import msgspec
import pytest
from bus_testlib import Created, Deleted, Ping, eventually, ready

from mindframe.kernel.bus import Bus, Envelope, Event, RequestTimeout, event_type, idempotent

pytestmark = pytest.mark.anyio


async def test_wildcards_route_typed_events_with_envelope(bus: Bus) -> None:
    got: list[tuple[str, object, Envelope | None]] = []

    async def one(event: Event) -> None:
        got.append(("star", event, None))

    async def two(event: Event, env: Envelope) -> None:
        got.append(("rest", event, env))

    await ready(bus.subscribe("bt.chat.*", one, owner="a"), bus.subscribe("bt.>", two, owner="b"))
    event_id = await bus.publish(Created(text="hi"))
    await bus.publish(Ping(n=1))
    await eventually(lambda: len(got) == 3, what="3 deliveries")
    star = [g for g in got if g[0] == "star"]
    assert star == [("star", Created(text="hi"), None)]
    envs = {g[2].topic: g[2] for g in got if g[0] == "rest"}  # type: ignore[union-attr]
    assert envs["bt.chat.created"].id == event_id
    assert envs["bt.chat.created"].attempt == 1
    assert isinstance(next(g[1] for g in got if g[0] == "rest" and g[1] == Ping(n=1)), Ping)


async def test_subscribing_after_a_publish_still_receives(bus: Bus) -> None:
    """The per-topic route cache must be invalidated by subscribe."""
    first: list[str] = []
    second: list[str] = []

    async def h1(e: Created) -> None:
        first.append(e.text)

    async def h2(e: Created) -> None:
        second.append(e.text)

    await ready(bus.subscribe("bt.chat.created", h1, owner="a"))
    await bus.publish(Created(text="1"))
    await ready(bus.subscribe("bt.chat.*", h2, owner="a"))
    await bus.publish(Created(text="2"))
    await eventually(lambda: first == ["1", "2"] and second == ["2"], what="routing")


async def test_publish_validates_and_sync_handlers_rejected(bus: Bus) -> None:
    with pytest.raises(msgspec.ValidationError):
        await bus.publish(Ping(n="not an int"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await bus.publish("nope")  # type: ignore[arg-type]

    def sync_handler(event: Event) -> None: ...

    with pytest.raises(TypeError, match="async"):
        bus.subscribe("bt.>", sync_handler, owner="a")  # type: ignore[arg-type]


async def test_reloaded_event_class_replaces_registration(bus: Bus) -> None:
    got: list[object] = []

    async def handler(event: Event) -> None:
        got.append(event)

    class Renamed(Event):
        topic: ClassVar[str] = "bt.reload.me"
        a: int

    class RenamedV2(Event):  # what a reloaded module defines
        topic: ClassVar[str] = "bt.reload.me"
        a: int
        b: str = "new"

    assert event_type("bt.reload.me") is RenamedV2
    await ready(bus.subscribe("bt.reload.*", handler, owner="a"))
    await bus.publish(RenamedV2(a=1))
    await eventually(lambda: got == [RenamedV2(a=1, b="new")])


async def test_slow_and_failing_handlers_do_not_stall_others(bus: Bus, errors: list) -> None:
    release = asyncio.Event()
    fast: list[int] = []

    async def slow(e: Ping) -> None:
        await release.wait()

    async def broken(e: Ping) -> None:
        raise RuntimeError("broken handler")

    async def quick(e: Ping) -> None:
        fast.append(e.n)

    await ready(
        bus.subscribe("bt.ping", slow, owner="slow", queue_size=100),
        bus.subscribe("bt.ping", broken, owner="bad", max_retries=0),
        bus.subscribe("bt.ping", quick, owner="ok"),
    )
    for n in range(20):
        await bus.publish(Ping(n=n))
    await eventually(lambda: sorted(fast) == list(range(20)), what="fast handler")
    await eventually(lambda: len(errors) == 20, what="errors reported")
    exc, context = errors[0]
    assert isinstance(exc, RuntimeError)
    assert context["owner"] == "bad" and context["topic"] == "bt.ping"
    release.set()


async def test_priority_overtakes_queued_events(bus: Bus) -> None:
    gate = asyncio.Event()
    order: list[int] = []

    async def handler(e: Ping) -> None:
        if e.n == 0:
            await gate.wait()
        order.append(e.n)

    sub = bus.subscribe("bt.ping", handler, owner="a", concurrency=1)
    await ready(sub)
    await bus.publish(Ping(n=0))
    await eventually(lambda: sub.queue.qsize() == 0 and sub.running, what="first picked")
    for n in range(1, 6):
        await bus.publish(Ping(n=n))
    await bus.publish(Ping(n=99), priority=10)
    await eventually(lambda: sub.queue.qsize() == 6, what="all queued locally")
    gate.set()
    await eventually(lambda: len(order) == 7)
    assert order == [0, 99, 1, 2, 3, 4, 5]


async def test_concurrency_per_subscription(bus: Bus) -> None:
    inflight = 0
    peak = 0
    gate = asyncio.Event()

    async def handler(e: Ping) -> None:
        nonlocal inflight, peak
        inflight += 1
        peak = max(peak, inflight)
        await gate.wait()
        inflight -= 1

    await ready(bus.subscribe("bt.ping", handler, owner="a", concurrency=3))
    for n in range(6):
        await bus.publish(Ping(n=n))
    await eventually(lambda: inflight == 3, what="3 handlers in flight")
    await asyncio.sleep(0.05)
    assert peak == 3
    gate.set()
    await eventually(lambda: inflight == 0)


async def test_retries_with_backoff_then_success(bus: Bus, errors: list) -> None:
    attempts: list[int] = []

    async def flaky(e: Ping, env: Envelope) -> None:
        attempts.append(env.attempt)
        if env.attempt < 3:
            raise ValueError("try again")

    sub = bus.subscribe("bt.ping", flaky, owner="a", max_retries=3, retry_delay=0.02)
    await ready(sub)
    await bus.publish(Ping(n=1))
    await eventually(lambda: sub.handled == 1, what="eventual success")
    assert attempts == [1, 2, 3]
    assert (sub.failed, sub.retried) == (2, 2)
    assert [c["will_retry"] for _, c in errors] == [True, True]
    assert bus.dead_letters.count == 0


async def test_dead_letter_after_max_retries_then_redrive(bus: Bus) -> None:
    fixed = False
    handled: list[str] = []

    async def handler(e: Created, env: Envelope) -> None:
        if not fixed:
            raise RuntimeError("cannot handle")
        handled.append(env.id)

    sub = bus.subscribe("bt.chat.created", handler, owner="a", max_retries=1, retry_delay=0.01)
    await ready(sub)
    event_id = await bus.publish(Created(text="x"))
    await eventually(lambda: sub.dead_lettered == 1, what="dead letter")
    [letter] = await bus.dead_letters.list()
    assert (letter.event_id, letter.subscription, letter.attempts) == (event_id, sub.name, 2)
    assert letter.reason == "handler failed after max retries"
    assert "RuntimeError: cannot handle" in (letter.error or "")
    assert (await bus.dead_letters.get(letter.id)).payload == '{"text":"x"}'
    assert bus.stats()["dead_letters"] == 1

    fixed = True
    await bus.dead_letters.redrive(letter.id)
    await eventually(lambda: handled == [event_id], what="redriven delivery")
    assert bus.stats()["dead_letters"] == 0
    assert (await bus.dead_letters.get(letter.id)).redriven_at is not None


async def test_request_reply_and_timeout(bus: Bus) -> None:
    async def observer(e: Ping) -> None:  # returns None: not the responder
        return None

    async def responder(e: Ping) -> dict[str, int]:
        return {"double": e.n * 2}

    await ready(
        bus.subscribe("bt.ping", observer, owner="a"),
        bus.subscribe("bt.ping", responder, owner="b"),
    )
    assert await bus.request(Ping(n=21), timeout=5) == {"double": 42}
    with pytest.raises(RequestTimeout) as info:
        await bus.request(Deleted(text="nobody listens"), timeout=0.2)
    assert isinstance(info.value, TimeoutError)


async def test_unsubscribe_owner_removes_only_that_owner(bus: Bus) -> None:
    got: list[str] = []

    async def a(e: Ping) -> None:
        got.append("a")

    async def b(e: Ping) -> None:
        got.append("b")

    await ready(
        bus.subscribe("bt.ping", a, owner="plugin-a"), bus.subscribe("bt.>", b, owner="plugin-b")
    )
    assert bus.unsubscribe_owner("plugin-a") == 1
    assert [s["owner"] for s in bus.stats()["subscriptions"]] == ["plugin-b"]
    await bus.publish(Ping(n=1))
    await eventually(lambda: got == ["b"], what=f"only b, got {got}")
    await asyncio.sleep(0.05)
    assert got == ["b"]


async def test_stats_are_json_and_count(bus: Bus) -> None:
    async def ok(e: Ping) -> None: ...

    async def bad(e: Ping) -> None:
        raise RuntimeError

    await ready(
        bus.subscribe("bt.ping", ok, owner="o", name="ok"),
        bus.subscribe("bt.ping", bad, owner="o", name="bad", max_retries=1, retry_delay=0.01),
    )
    for n in range(3):
        await bus.publish(Ping(n=n))
    await eventually(lambda: bus.stats()["dead_letters"] == 3)
    stats = json.loads(json.dumps(bus.stats()))
    subs = {s["name"]: s for s in stats["subscriptions"]}
    assert subs["ok"]["handled"] == 3 and subs["ok"]["failed"] == 0
    bad = subs["bad"]
    assert (bad["failed"], bad["retried"], bad["dead_lettered"]) == (6, 3, 3)
    assert subs["ok"]["pattern"] == "bt.ping" and subs["ok"]["owner"] == "o"
    assert {"queue_depth", "rate_per_s"} <= subs["ok"].keys()
    assert stats["published"] == 3


async def test_idempotent_drops_duplicate_ids(bus: Bus) -> None:
    calls: list[str] = []

    async def handler(e: Ping, env: Envelope) -> None:
        calls.append(env.id)

    wrapped = idempotent(handler, window=100)
    assert wrapped.__qualname__ == handler.__qualname__
    sub = bus.subscribe("bt.ping", wrapped, owner="a")
    await ready(sub)
    event_id = await bus.publish(Ping(n=1), durable=True)
    await eventually(lambda: calls == [event_id])
    assert await bus.replay("bt.ping") == 1  # at-least-once redelivery of the same id
    await eventually(lambda: sub.queue.qsize() == 0 and sub.handled == 2)
    assert calls == [event_id]
