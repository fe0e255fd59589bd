"""Hot reload, durability, replay and restart, on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from bus_testlib import Ping, Stored, eventually, ready

from mindframe.kernel.bus import Bus, Envelope, Subscription

pytestmark = pytest.mark.anyio


async def test_reload_adopts_queue_and_old_version_stops(bus: Bus) -> None:
    gate = asyncio.Event()
    old_seen: list[int] = []
    new_seen: list[int] = []

    async def handle(e: Ping) -> None:  # version 1
        old_seen.append(e.n)
        if e.n == 0:
            await gate.wait()

    sub = bus.subscribe("bt.ping", handle, owner="plug", name="plug.ping")
    await ready(sub)
    await bus.publish(Ping(n=0))
    await eventually(lambda: old_seen == [0], what="v1 busy")

    suspending = asyncio.create_task(bus.suspend("plug"))
    await asyncio.sleep(0.05)
    assert not suspending.done()  # waits for the running handler to finish
    for n in range(1, 4):
        await bus.publish(Ping(n=n))  # queued while suspended
    gate.set()
    await suspending
    bus.unsubscribe_owner("plug", keep_queues=True)

    async def handle_v2(e: Ping) -> None:  # version 2, same subscription name
        new_seen.append(e.n)

    adopted = bus.subscribe("bt.ping", handle_v2, owner="plug", name="plug.ping")
    assert adopted is sub
    await bus.publish(Ping(n=4))
    await bus.resume("plug")
    await eventually(lambda: sorted(new_seen) == [1, 2, 3, 4], what=lambda: f"v2 got {new_seen}")
    assert old_seen == [0]
    assert bus.dead_letters.count == 0


async def test_suspend_stops_handlers_before_the_backend_stops_feeding(
    bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: suspend() used to stop workers only after detaching the feed, so
    while a NATS fetch ran out (up to fetch_timeout) the old version handled events
    meant for the new one. A slow detach makes that window deterministic."""
    gate = asyncio.Event()
    old_seen: list[int] = []
    new_seen: list[int] = []

    async def handle(e: Ping) -> None:
        old_seen.append(e.n)
        if e.n == 0:
            await gate.wait()

    sub = bus.subscribe("bt.ping", handle, owner="plug", name="plug.ping")
    await ready(sub)
    await bus.publish(Ping(n=0))
    await eventually(lambda: old_seen == [0], what="v1 busy")

    detach = bus._detach

    async def slow_detach(sub: Subscription, **kwargs: Any) -> None:
        await asyncio.sleep(0.3)  # e.g. a NATS fetch that has not timed out yet
        await detach(sub, **kwargs)

    monkeypatch.setattr(bus, "_detach", slow_detach)
    suspending = asyncio.create_task(bus.suspend("plug"))
    await asyncio.sleep(0)
    for n in range(1, 4):
        await bus.publish(Ping(n=n))
    gate.set()  # v1 finishes event 0 while the feed is still being detached
    await suspending
    monkeypatch.undo()
    await asyncio.sleep(0.3)  # anything fetched late reaches the queue, not v1
    assert old_seen == [0]
    bus.unsubscribe_owner("plug", keep_queues=True)

    async def handle_v2(e: Ping) -> None:
        new_seen.append(e.n)

    bus.subscribe("bt.ping", handle_v2, owner="plug", name="plug.ping")
    await bus.resume("plug")
    await eventually(lambda: sorted(new_seen) == [1, 2, 3], what=lambda: f"v2 got {new_seen}")
    assert old_seen == [0]


async def test_reload_without_adoption_dead_letters(bus: Bus) -> None:
    async def handle(e: Ping) -> None: ...

    await ready(bus.subscribe("bt.ping", handle, owner="plug", name="gone"))
    await bus.suspend("plug")
    for n in range(3):
        await bus.publish(Ping(n=n))
    bus.unsubscribe_owner("plug", keep_queues=True)
    await bus.resume("plug")  # the new version did not subscribe "gone"
    letters = await bus.dead_letters.list()
    assert len(letters) == 3
    assert {x.reason for x in letters} == {"no subscriber after reload"}
    assert {x.subscription for x in letters} == {"gone"}
    assert bus.stats()["subscriptions"] == []


async def test_durable_restart_delivers_what_named_subscription_missed(
    make_bus: Callable[..., Awaitable[Bus]],
) -> None:
    """A named durable subscription gets events published while its process was down."""
    first = await make_bus()

    async def nothing(e: Stored) -> None: ...

    await ready(first.subscribe("bt.store.*", nothing, owner="p", name="rec", durable=True))
    await first.close()

    publisher = await make_bus()
    ids = [await publisher.publish(Stored(n=n)) for n in range(5)]
    await publisher.close()

    got: list[str] = []

    async def record(e: Stored, env: Envelope) -> None:
        got.append(env.id)

    restarted = await make_bus()
    await ready(restarted.subscribe("bt.store.*", record, owner="p", name="rec", durable=True))
    await eventually(lambda: sorted(got) == sorted(ids), what=f"catch-up, got {len(got)}")


async def test_replay_since(bus: Bus) -> None:
    got: list[tuple[int, bool]] = []

    async def record(e: Stored, env: Envelope) -> None:
        got.append((e.n, env.replayed))

    await ready(bus.subscribe("bt.store.>", record, owner="p"))
    await bus.publish(Stored(n=1))
    await eventually(lambda: len(got) == 1)
    await asyncio.sleep(0.01)
    middle = datetime.now(UTC)
    await asyncio.sleep(0.01)
    await bus.publish(Stored(n=2))
    await bus.publish(Ping(n=3))  # not durable: not in the log
    await eventually(lambda: len(got) == 2)
    assert await bus.replay("bt.store.>", since=middle) == 1
    await eventually(lambda: len(got) == 3)
    assert got[2] == (2, True)
    assert await bus.replay("bt.>") == 2


async def test_close_drains_queued_events(bus: Bus) -> None:
    got: list[int] = []

    async def slowish(e: Ping) -> None:
        await asyncio.sleep(0.001)
        got.append(e.n)

    await ready(bus.subscribe("bt.ping", slowish, owner="p"))
    for n in range(50):
        await bus.publish(Ping(n=n))
    await bus.close(timeout=10)
    assert sorted(got) == list(range(50))


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
async def test_backpressure_publish_waits_never_drops(bus: Bus) -> None:
    gate = asyncio.Event()
    got: list[int] = []

    async def blocked(e: Ping) -> None:
        await gate.wait()
        got.append(e.n)

    sub = bus.subscribe("bt.ping", blocked, owner="p", queue_size=2)
    await ready(sub)

    async def publish_all() -> None:
        for n in range(6):
            await bus.publish(Ping(n=n))

    publisher = asyncio.create_task(publish_all())
    await eventually(lambda: sub.queue.full(), what="queue full")
    await asyncio.sleep(0.05)
    assert not publisher.done()  # awaiting room, not dropping
    gate.set()
    await publisher
    await eventually(lambda: sorted(got) == list(range(6)))


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
async def test_durable_publish_is_logged_before_return_and_group_committed(bus: Bus) -> None:
    from sqlalchemy import func, select

    from mindframe.kernel.bus import schema

    log = bus.log  # type: ignore[attr-defined]
    commits = log.commits
    ids = await asyncio.gather(*[bus.publish(Ping(n=n), durable=True) for n in range(200)])
    async with bus.engine.connect() as conn:
        stored = (
            await conn.execute(
                select(func.count()).select_from(schema.log).where(schema.log.c.event_id.in_(ids))
            )
        ).scalar()
    assert stored == 200
    assert log.commits - commits < 50  # concurrent publishers shared commits


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
async def test_undecodable_logged_event_is_dead_lettered(bus: Bus) -> None:
    from mindframe.kernel.bus import schema

    async with bus.engine.begin() as conn:
        await conn.execute(
            schema.log.insert().values(
                event_id="bad-1",
                topic="bt.store.saved",
                payload=b'{"n": "oops"}',
                headers={},
                priority=0,
                created_at=datetime.now(UTC),
            )
        )
    got: list[int] = []

    async def record(e: Stored) -> None:
        got.append(e.n)

    await ready(bus.subscribe("bt.store.>", record, owner="p"))
    await bus.publish(Stored(n=7))
    await bus.replay("bt.store.>")
    await eventually(lambda: bus.dead_letters.count == 1)
    [letter] = await bus.dead_letters.list()
    assert letter.event_id == "bad-1" and "decode" in letter.reason
    await eventually(lambda: got == [7, 7])


@pytest.mark.parametrize("backend", ["nats"], indirect=True)
async def test_undecodable_nats_message_is_dead_lettered(bus: Bus) -> None:
    got: list[int] = []

    async def record(e: Ping) -> None:
        got.append(e.n)

    sub = bus.subscribe("bt.ping", record, owner="p")
    await ready(sub)
    await bus.publish(Ping(n=1))  # creates the stream
    await bus.js.publish(
        bus.subscription_subject("bt.ping"),
        b"not json",  # type: ignore
        headers={"Nats-Msg-Id": "garbage-1"},
    )
    await bus.publish(Ping(n=2))
    await eventually(lambda: sub.dead_lettered == 1 and sorted(got) == [1, 2])
    [letter] = await bus.dead_letters.list()
    assert letter.event_id == "garbage-1" and letter.reason.startswith("decode failed")


@pytest.mark.parametrize("backend", ["nats"], indirect=True)
async def test_nats_dedups_by_event_id(bus: Bus) -> None:
    """Nats-Msg-Id is the event id: a re-sent publish is stored once."""
    import msgspec

    got: list[int] = []

    async def record(e: Ping) -> None:
        got.append(e.n)

    await ready(bus.subscribe("bt.ping", record, owner="p"))
    await bus.publish(Ping(n=1))
    for _ in range(2):
        ack = await bus.js.publish(  # type: ignore[attr-defined]
            bus.subscription_subject("bt.ping"),
            msgspec.json.encode(Ping(n=5)),  # type: ignore
            headers={"Nats-Msg-Id": "same-id"},
        )
    assert ack.duplicate
    await bus.publish(Ping(n=9))
    await eventually(lambda: 9 in got)
    assert sorted(got) == [1, 5, 9]


@pytest.mark.parametrize("backend", [pytest.param("nats", marks=pytest.mark.nats)], indirect=True)
async def test_a_plain_timeout_from_the_nats_client_still_dead_letters_the_backlog(
    bus: Bus,
) -> None:
    """nats-py 2.16 raises the plain asyncio TimeoutError, not its own subclass, when a
    fetch's deadline is spent before the server's no-wait answer arrives (a loaded machine);
    the backlog of a retired subscription must still be pulled and dead-lettered."""

    async def handle(e: Ping) -> None: ...

    await ready(bus.subscribe("bt.ping", handle, owner="plug", name="gone"))
    await bus.suspend("plug")
    for n in range(3):
        await bus.publish(Ping(n=n))
    for psub in bus._feeds["gone"].consumers.values():  # type: ignore[attr-defined]
        real_fetch = psub.fetch
        calls = {"n": 0}

        async def fetch(*args, _real=real_fetch, _calls=calls, **kwargs):
            _calls["n"] += 1
            if _calls["n"] == 1:
                raise asyncio.TimeoutError  # noqa: UP041 (the very class nats-py raises)
            return await _real(*args, **kwargs)

        psub.fetch = fetch
    bus.unsubscribe_owner("plug", keep_queues=True)
    await bus.resume("plug")
    letters = await bus.dead_letters.list()
    assert len(letters) == 3
