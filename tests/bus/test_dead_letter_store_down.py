"""When the dead-letter store cannot write, the event it was given is delivered again later,
never acknowledged and lost (both backends). The store fails for real: a SQLite trigger
aborts every insert into its table until the test drops it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from bus_testlib import Ping, Stored, eventually, ready
from sqlalchemy.ext.asyncio import AsyncEngine

from mindframe.kernel.bus import Bus, Envelope

pytestmark = pytest.mark.anyio

REFUSE = (
    "CREATE TRIGGER refuse_dead_letters BEFORE INSERT ON kernel_bus_dead_letters "
    "BEGIN SELECT RAISE(ABORT, 'dead-letter store unavailable'); END"
)
ACCEPT = "DROP TRIGGER refuse_dead_letters"
Errors = list[tuple[BaseException, dict[str, Any]]]  # what the `errors` fixture collects


async def _sql(engine: AsyncEngine, statement: str) -> None:
    async with engine.begin() as conn:
        await conn.exec_driver_sql(statement)


async def restarted_keeper(make_bus: Callable[..., Awaitable[Bus]]) -> tuple[Bus, list[int]]:
    """A bus started again with the durable `keeper` subscription, and what it is handed."""
    handled: list[int] = []

    async def fixed(event: Stored) -> None:
        handled.append(event.n)

    second = await make_bus()
    await ready(second.subscribe("bt.store.*", fixed, owner="p", name="keeper", durable=True))
    return second, handled


def _store_failures(errors: Errors) -> int:
    return sum(1 for _, context in errors if context.get("component") == "bus.dead_letters")


async def test_an_event_the_store_cannot_take_is_delivered_again_until_it_can(
    bus: Bus, engine: AsyncEngine, errors: Errors
) -> None:
    attempts: list[int] = []

    async def broken(event: Ping, envelope: Envelope) -> None:
        attempts.append(envelope.attempt)
        raise RuntimeError("broken handler")

    await ready(
        bus.subscribe(
            "bt.ping", broken, owner="bad", max_retries=0, retry_delay=0.01, max_retry_delay=0.1
        )
    )
    await _sql(engine, REFUSE)
    await bus.publish(Ping(n=7))
    await eventually(lambda: _store_failures(errors) >= 1, what="a failed dead-letter write")
    await _sql(engine, ACCEPT)
    await eventually(
        lambda: bus.dead_letters.count == 1,
        what=lambda: f"the event dead-lettered once the store works (attempts {attempts})",
    )
    [letter] = await bus.dead_letters.list()
    assert (letter.topic, letter.payload) == ("bt.ping", '{"n":7}')
    assert len(attempts) >= 2, "the event was stored without being delivered again"


async def test_a_durable_event_the_store_cannot_take_survives_a_restart(
    make_bus: Callable[..., Awaitable[Bus]], engine: AsyncEngine, errors: Errors
) -> None:
    async def broken(event: Stored) -> None:
        raise RuntimeError("broken handler")

    first = await make_bus()
    # retried at most half a second apart while the store refuses: on NATS the last retry's
    # delay is where the server redelivers from after the restart (30 s by default)
    keeper = {"name": "keeper", "durable": True, "max_retries": 0, "max_retry_delay": 0.5}
    await ready(first.subscribe("bt.store.*", broken, owner="p", **keeper))
    await _sql(engine, REFUSE)
    await first.publish(Stored(n=1))
    await eventually(lambda: _store_failures(errors) >= 1, what="a failed dead-letter write")
    began = time.monotonic()
    await first.close(timeout=1)
    # the event keeps failing while the bus drains: close still ends near its timeout (it
    # once handed the event straight back and fetched it again, thousands of times a minute)
    assert time.monotonic() - began < 5
    await _sql(engine, ACCEPT)

    second, handled = await restarted_keeper(make_bus)
    # after its last retry delay (at most 0.5 s), not the server's ack wait (30 s)
    await eventually(
        lambda: handled == [1], timeout=10, what=lambda: f"redelivery after restart: {handled}"
    )
    assert second.dead_letters.count == 0


async def test_a_handler_cut_off_at_close_has_its_event_delivered_after_a_restart(
    make_bus: Callable[..., Awaitable[Bus]],
) -> None:
    """A handler still running when the drain time is over is cancelled; its event is handed
    back (NATS: at once, not after the server's 30 s ack wait) or dead-lettered, never lost."""
    started: list[int] = []

    async def stuck(event: Stored) -> None:
        started.append(event.n)
        await asyncio.sleep(3600)

    first = await make_bus()
    await ready(first.subscribe("bt.store.*", stuck, owner="p", name="keeper", durable=True))
    await first.publish(Stored(n=5))
    await eventually(lambda: started == [5], what="the handler running")
    await first.close(timeout=0.3)

    second, handled = await restarted_keeper(make_bus)
    await eventually(
        lambda: handled == [5] or second.dead_letters.count == 1,
        timeout=10,
        what=lambda: f"the event after restart: handled {handled}",
    )
