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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from mindframe.sdk import PluginContext
from mindframe.sdk.agents import RunChange
from mindframe.sdk.spool import Spool, SpoolBusy

from .models import spool_cursor

NAME = "runs"
RECORD_HEADER = 8  # a spool record's length and CRC-32 before its payload
REPLAY_BATCH = 500
_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(RunChange).decode


@dataclass(frozen=True, slots=True)
class Spooled:
    """A change already durable in the spool: `next` is the position after its record."""

    change: RunChange
    next: int


def open_spool(ctx: PluginContext) -> Spool | None:
    """This process's runs spool, or None when another process writes it."""
    try:
        return ctx.spool(NAME)
    except SpoolBusy:
        return None


def append(spool: Spool, change: RunChange) -> Spooled:
    data = _encode(change)
    at = spool.append(data)
    return Spooled(change, at + RECORD_HEADER + len(data))


def read_cursor(connection: Connection) -> int:
    found = connection.execute(
        select(spool_cursor.c.position).where(spool_cursor.c.name == NAME)
    ).scalar()
    return int(found or 0)


def move_cursor(connection: Connection, position: int) -> None:
    """Record, in this transaction, that the runs spooled before `position` are in the tables."""
    if connection.dialect.name == "sqlite":
        upsert = sqlite_insert(spool_cursor).values(name=NAME, position=position)
        connection.execute(
            upsert.on_conflict_do_update(index_elements=["name"], set_={"position": position})
        )
        return
    moved = connection.execute(
        update(spool_cursor).where(spool_cursor.c.name == NAME).values(position=position)
    )
    if not moved.rowcount:
        connection.execute(spool_cursor.insert().values(name=NAME, position=position))


async def replay(
    ctx: PluginContext, spool: Spool, apply: Callable[[Connection, list[Any]], None]
) -> int:
    """Write the spooled runs a stopped process answered but did not commit; returns how many.
    Each batch and the cursor past it commit together, so a crash here repeats nothing."""
    cursor = await ctx.transaction(read_cursor, core=True, read_only=True)
    replayed = 0
    while True:
        batch = spool.read(cursor, REPLAY_BATCH)
        if not batch.records:
            break
        items = [Spooled(_decode(record.data), record.next) for record in batch.records]
        await ctx.transaction(apply, items, core=True)
        replayed += len(items)
        cursor = batch.next
    spool.release(cursor)
    return replayed
