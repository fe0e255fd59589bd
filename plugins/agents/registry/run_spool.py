"""The runs spool: a run that ends in one go (no checkpoint, no approval) is durable before
its answer by one append to `ctx.spool("runs")`, and its rows (history, trace, access audit)
go to the tables with whatever else the writer commits next.

Why: a health-data run's audit entry must be durable before the data is returned, and every
answered run's history should survive a killed process. Waiting for a group commit for that
bounds a transaction to the runs in flight (~14 under the benchmark's 32 clients) and costs
each run a share of a commit; a spool append costs a few microseconds, and the writer's
transactions grow to whatever arrived meanwhile (benchmarks/agents.py). The spool is as
durable against a killed process as SQLite's WAL with `synchronous=NORMAL`.

Each transaction that writes spooled runs moves the `runs` cursor in `agents_spool_cursor` to
the spool position after the last of them, so a restart (`replay`, before the writer starts)
applies exactly the runs whose rows were not yet committed, once. One process writes a
spool: a second process on the same data directory (the CLI, another worker) runs without
one, waiting for its commits as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from mindframe.sdk import PluginContext
from mindframe.sdk.agents import RunChange
from mindframe.sdk.spool import Spool, SpoolBusy

from .models import spool_cursor
from .writing import CHANGE, SPOOL, Write, encode

RECORD_HEADER = 8  # a spool record's length and CRC-32 before its payload
REPLAY_BATCH = 500


@dataclass(frozen=True, slots=True)
class Spooled:
    """A change already durable in the spool: `data` is its record, `next` the position
    after it."""

    change: RunChange
    data: bytes
    next: int

    @property
    def write(self) -> Write:
        return (CHANGE, self.data, self.next)


def open_spool(ctx: PluginContext) -> Spool | None:
    """This process's runs spool, or None when another process writes it."""
    try:
        return ctx.spool(SPOOL)
    except SpoolBusy:
        return None


def append(spool: Spool, change: RunChange) -> Spooled:
    data = encode(change)
    at = spool.append(data)
    return Spooled(change, data, at + RECORD_HEADER + len(data))


def read_cursor(connection: Connection) -> int:
    found = connection.execute(
        select(spool_cursor.c.position).where(spool_cursor.c.name == SPOOL)
    ).scalar()
    return int(found or 0)


async def replay(
    ctx: PluginContext, spool: Spool, write: Callable[[list[Write]], Awaitable[None]]
) -> int:
    """Write the spooled runs a stopped process answered but did not commit; returns how many.
    Each batch and the cursor past it commit together, so a crash here repeats nothing."""
    cursor = await ctx.transaction(read_cursor, core=True, read_only=True)
    replayed = 0
    while True:
        batch = spool.read(cursor, REPLAY_BATCH)
        if not batch.records:
            break
        await write([(CHANGE, record.data, record.next) for record in batch.records])
        replayed += len(batch.records)
        cursor = batch.next
    spool.release(cursor)
    return replayed
