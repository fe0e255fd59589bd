"""Where a database round trip of the mail outbox goes: one layer at a time, µs per call.

Why: the mail benchmark's author measured ~2.2 ms per `ctx.session()` round trip, even for
`select 1`, on SQLite in WAL with synchronous=NORMAL, where the statement itself takes a
few µs. This peels the stack apart on one database file (the kernel's own `Database`,
so its pragmas and pool apply):

- `sqlite3`: the statement, no thread hop;
- `to_thread`: one asyncio → worker thread → loop hop, no statement (the floor of any
  driver that runs SQLite on a thread);
- `aiosqlite`: `Connection.execute` + `fetchall` (aiosqlite's own thread);
- `engine.connect`: SQLAlchemy over aiosqlite on one checked-out connection;
- `session`: what `ctx.session()` gives, a new `AsyncSession` per call (pool checkout, the
  statement, the rollback-on-return, the checkin);
- `session + commit`: the same with an UPDATE and a commit (the outbox's `_set`);
- `session, N in one`: N UPDATEs in one commit, per update (the batched outcome commit);
- `… no pool reset`: the same sessions on an engine made as `kernel/storage.py` makes it
  but with `pool_reset_on_return=None` (a proposed kernel change: the session has already
  ended its transaction, so the pool's own ROLLBACK at checkin is a redundant hop);
- `Database.transaction`: what `ctx.transaction(fn)` gives, the whole unit of work as plain
  SQLAlchemy on a `Session` in one worker-thread hop (SQLite's synchronous engine on the
  same file): `select 1`, an UPDATE + commit, and N UPDATEs in one transaction (per update);
- `Database.transaction(core=True)`: the same units of work on a Core `Connection` instead
  of an ORM `Session` (what `ctx.transaction(fn, core=True)` gives).

Rounds alternate the cases; medians of per-round µs/call are printed.

    .venv/bin/python benchmarks/mail_db_roundtrip.py [--quick] [--calls 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info

from mindframe.kernel.sqlite_file import tune as _tune_sqlite
from mindframe.kernel.storage import Database

BATCH = 20


async def main(calls: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "roundtrip.db"
        database = Database(f"sqlite+aiosqlite:///{path}")
        async with database.engine.begin() as connection:
            await connection.execute(text("create table t (id integer primary key, n integer)"))
            await connection.execute(text("insert into t values (1, 0)"))
        plain = sqlite3.connect(path, check_same_thread=False)
        _tune_sqlite(plain, None)
        raw = await aiosqlite.connect(path)
        _tune = await raw.execute("PRAGMA journal_mode=WAL")
        await _tune.close()
        held = await database.engine.connect()
        unreset = create_async_engine(database.url, pool_pre_ping=False, pool_reset_on_return=None)
        event.listen(unreset.sync_engine, "connect", _tune_sqlite)
        unreset_sessions = async_sessionmaker(unreset, expire_on_commit=False)

        async def sqlite3_select() -> None:
            plain.execute("select 1").fetchall()

        async def thread_hop() -> None:
            await asyncio.to_thread(int)

        async def aiosqlite_select() -> None:
            cursor = await raw.execute("select 1")
            await cursor.fetchall()
            await cursor.close()

        async def engine_select() -> None:
            await held.execute(text("select 1"))

        async def session_select(sessions: Callable[[], Any] = database.session) -> None:
            async with sessions() as session:
                await session.execute(text("select 1"))

        async def session_commit(sessions: Callable[[], Any] = database.session) -> None:
            async with sessions() as session:
                await session.execute(text("update t set n = n + 1 where id = 1"))
                await session.commit()

        async def unreset_select() -> None:
            await session_select(unreset_sessions)

        async def unreset_commit() -> None:
            await session_commit(unreset_sessions)

        async def session_batch() -> None:
            async with database.session() as session:
                for _ in range(BATCH):
                    await session.execute(text("update t set n = n + 1 where id = 1"))
                await session.commit()

        def one_hop_select(session: Any) -> None:
            session.execute(text("select 1")).all()

        def one_hop_update(session: Any, times: int = 1) -> None:
            for _ in range(times):
                session.execute(text("update t set n = n + 1 where id = 1"))

        async def transaction_select() -> None:
            await database.transaction(one_hop_select)

        async def transaction_commit() -> None:
            await database.transaction(one_hop_update)

        async def transaction_batch() -> None:
            await database.transaction(one_hop_update, BATCH)

        async def core_commit() -> None:
            await database.transaction(one_hop_update, core=True)

        async def core_batch() -> None:
            await database.transaction(one_hop_update, BATCH, core=True)

        cases: list[tuple[str, Callable[[], Awaitable[None]], int]] = [
            ("sqlite3 select 1 (no hop)", sqlite3_select, 1),
            ("asyncio.to_thread hop, no statement", thread_hop, 1),
            ("aiosqlite execute+fetchall select 1", aiosqlite_select, 1),
            ("SQLAlchemy, one connection, select 1", engine_select, 1),
            ("new AsyncSession per call, select 1", session_select, 1),
            ("new AsyncSession, update + commit", session_commit, 1),
            (f"new AsyncSession, {BATCH} updates, 1 commit", session_batch, BATCH),
            ("new AsyncSession, select 1, no pool reset", unreset_select, 1),
            ("new AsyncSession, update + commit, no pool reset", unreset_commit, 1),
            ("Database.transaction (one hop), select 1", transaction_select, 1),
            ("Database.transaction, update + commit", transaction_commit, 1),
            (f"Database.transaction, {BATCH} updates, 1 commit", transaction_batch, BATCH),
            ("Database.transaction(core=True), update + commit", core_commit, 1),
            (f"Database.transaction(core=True), {BATCH} updates, 1 commit", core_batch, BATCH),
        ]
        results: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        for _, case, _ in cases:  # warm up
            for _ in range(20):
                await case()
        for index in range(rounds):
            for name, case, per in cases if index % 2 == 0 else cases[::-1]:
                count = max(calls // per, 10)
                start = time.perf_counter()
                for _ in range(count):
                    await case()
                results[name].append((time.perf_counter() - start) / (count * per) * 1e6)
        await held.close()
        await unreset.dispose()
        await raw.close()
        plain.close()
        await database.close()
    print(f"machine: {machine_info()}")
    print(f"{'case':<60}{'µs per statement':>18}")
    for name, values in results.items():
        print(f"{name:<60}{statistics.median(values):>18,.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 50 calls")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.calls, arguments.rounds = 50, 2
    asyncio.run(main(arguments.calls, arguments.rounds))
