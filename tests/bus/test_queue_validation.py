"""The per-subscription delivery queue and in-process validation (no backend needed)."""

from __future__ import annotations

import asyncio
from typing import Annotated, ClassVar

import msgspec
import pytest

from mindframe.kernel.bus import Envelope, Event
from mindframe.kernel.bus import events as ev
from mindframe.kernel.bus.subscription import DeliveryQueue, LocalDelivery

pytestmark = pytest.mark.anyio


class Plain(Event):
    topic: ClassVar[str] = "bq.plain"
    n: int
    x: float = 0.0
    s: str | None = None
    b: bool = False


class Rich(Event):
    topic: ClassVar[str] = "bq.rich"
    positive: Annotated[int, msgspec.Meta(gt=0)] = 1
    items: list[int] = []


def delivery(n: int, priority: int = 0) -> LocalDelivery:
    env = Envelope(id=str(n), topic="bq.plain", timestamp=Envelope.now(), priority=priority)
    return LocalDelivery(env, Plain(n=n), None)


def drain(queue: DeliveryQueue) -> list[int]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait().event.n)  # type: ignore[union-attr]
        queue.task_done()
    return out


async def test_priorities_then_fifo() -> None:
    queue = DeliveryQueue(100)
    for n, prio in [(1, 0), (2, 5), (3, 0), (4, -1), (5, 5), (6, 10), (7, 0)]:
        assert queue.put_nowait(delivery(n, prio), prio)
    assert queue.qsize() == 7
    assert drain(queue) == [6, 2, 5, 1, 3, 7, 4]
    with pytest.raises(IndexError):
        queue.get_nowait()


async def test_full_queue_waits_and_never_drops() -> None:
    queue = DeliveryQueue(2)
    assert queue.put_nowait(delivery(1)) and queue.put_nowait(delivery(2))
    assert queue.full() and not queue.put_nowait(delivery(3))
    blocked = [asyncio.create_task(queue.put(delivery(n))) for n in (3, 4)]
    await asyncio.sleep(0.01)
    assert not any(t.done() for t in blocked)
    got = [queue.get_nowait().event.n]  # type: ignore[union-attr]
    queue.task_done()
    await asyncio.sleep(0.01)
    assert blocked[0].done() and not blocked[1].done()
    got += drain(queue)
    await asyncio.gather(*blocked)
    got += drain(queue)
    assert got == [1, 2, 3, 4]


async def test_cancelled_putter_passes_the_room_on() -> None:
    queue = DeliveryQueue(1)
    queue.put_nowait(delivery(1))
    first = asyncio.create_task(queue.put(delivery(2)))
    second = asyncio.create_task(queue.put(delivery(3)))
    await asyncio.sleep(0.01)
    queue.get_nowait()  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs
    await asyncio.wait_for(second, 1)
    assert drain(queue) == [3]


async def test_wait_and_join() -> None:
    queue = DeliveryQueue(10)
    waiter = asyncio.create_task(queue.wait())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    queue.put_nowait(delivery(1))
    await asyncio.wait_for(waiter, 1)
    joining = asyncio.create_task(queue.join())
    await asyncio.sleep(0.01)
    assert not joining.done()
    queue.get_nowait()
    queue.task_done()
    await asyncio.wait_for(joining, 1)


@pytest.mark.parametrize(
    "event",
    [
        Plain(n=1),
        Plain(n=1, x=2, s="a", b=True),  # an int is a valid float
        Plain(n=2**70),  # what the round trip accepts, the check accepts
        Rich(),
        Rich(positive=3, items=[1, 2]),
    ],
)
def test_check_accepts_what_the_round_trip_accepts(event: Event) -> None:
    ev.check(event)
    assert ev.validate(event) == msgspec.json.encode(event)


@pytest.mark.parametrize(
    ("event", "path"),
    [
        (Plain(n="1"), "$.n"),  # type: ignore[arg-type]
        (Plain(n=True), "$.n"),  # a bool is no int in JSON
        (Plain(n=1, x=float("nan")), "$.x"),  # nan encodes as null
        (Plain(n=1, s=3), "$.s"),  # type: ignore[arg-type]
        (Rich(positive=0), "$.positive"),  # constraints: the round trip decides
        (Rich(items=["a"]), "$.items[0]"),  # type: ignore[list-item]
    ],
)
def test_check_rejects_with_msgspecs_error(event: Event, path: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=path.replace("$", r"\$").replace("[", r"\[")):
        ev.check(event)


def test_check_rejects_non_events() -> None:
    with pytest.raises(TypeError):
        ev.check("nope")  # type: ignore[arg-type]

    class NoTopic(Event):
        n: int

    with pytest.raises(TypeError, match="no topic"):
        ev.check(NoTopic(n=1))


def test_lazy_payload() -> None:
    d = delivery(5)
    assert d.payload == b'{"n":5,"x":0.0,"s":null,"b":false}'
    with pytest.raises(ValueError):
        LocalDelivery(d.envelope, None, None)
