"""The write-behind log: decisions, rewards and checkpoints committed in batches.

"Durably logged" means committed to the database (SQLite in WAL mode by default: it
survives the process being killed; surviving power loss is the database's `synchronous`
setting). A decision is handed to this writer as a row and the caller goes on; the writer
commits whatever has arrived at most `flush_interval` later, or at once when someone waits
or `flush_rows` rows are queued. The buffers are committed in the order they arrived, so a
caller waiting for its row waits for every row before it too. While one transaction runs
the next batch gathers, so under load one commit carries many rows. A failed commit keeps
its rows and is tried again; its waiters keep waiting.

Each waiting caller gets a future of its own, resolved after the commit: measured, that is
cheaper than one future per commit shared by its waiters, which each caller would have to
await through `asyncio.shield` (a shared future must not be cancelled by one of them).

Rows are tuples in their table's column order (`DECISION_COLUMNS`, `REWARD_COLUMNS`) and
go to the database as one `executemany` per table through the driver (no per-row work in
SQLAlchemy), inside one `ctx.transaction`: one worker-thread hop per commit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, insert, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from mindframe.sdk import PluginContext

from .models import decisions, rewards, versions

RETRY_PAUSES = (0.05, 0.2, 1.0, 5.0)
DECISION_COLUMNS = tuple(column.name for column in decisions.columns)
REWARD_COLUMNS = tuple(column.name for column in rewards.columns)

Row = tuple[Any, ...]


class LogWriter:
    def __init__(
        self,
        ctx: PluginContext,
        flush_interval: float,
        flush_rows: int,
        on_commit: Callable[[list[Row]], None] | None = None,
    ) -> None:
        self._ctx = ctx
        self._interval = flush_interval
        self._limit = flush_rows
        self._on_commit = on_commit
        """Told the reward rows of every commit, once they are committed."""
        self._decisions: list[Row] = []
        self._rewards: list[Row] = []
        self._checkpoints: dict[tuple[str, int], tuple[bytes, int]] = {}
        self._waiters: list[asyncio.Future[None]] = []
        """Of the rows queued now: each done once they are committed."""
        self._in_flight: list[asyncio.Future[None]] | None = None
        """The waiters of the commit under way, if one is."""
        self._queued = asyncio.Event()
        self._now = asyncio.Event()
        self.committed_rows = 0
        self.commits = 0
        self.last_error: str | None = None

    @property
    def depth(self) -> int:
        return len(self._decisions) + len(self._rewards)

    def _waiter(self) -> asyncio.Future[None]:
        future = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        self._queued.set()
        self._now.set()
        return future

    def decision(self, row: Row, wait: bool) -> asyncio.Future[None] | None:
        """Queue a decision; with `wait`, a future done once it is committed (the writer
        then commits at once instead of after the interval)."""
        self._decisions.append(row)
        if wait:
            return self._waiter()
        self._queued.set()
        if len(self._decisions) >= self._limit:
            self._now.set()
        return None

    def reward(self, row: Row, wait: bool) -> asyncio.Future[None] | None:
        """Queue a reward; with `wait`, a future done once it is committed."""
        self._rewards.append(row)
        if wait:
            return self._waiter()
        self._queued.set()
        if len(self._rewards) >= self._limit:
            self._now.set()
        return None

    def checkpoint(self, policy: str, version: int, state: bytes, through: int) -> None:
        """Write a learner's state with the rows it reflects (all queued before this)."""
        self._checkpoints[(policy, version)] = (state, through)
        self._queued.set()

    async def flush(self) -> None:
        """Return once everything queued so far, and the commit under way, is committed."""
        if self._decisions or self._rewards or self._checkpoints:
            await self._waiter()
        elif self._in_flight is not None:
            future = asyncio.get_running_loop().create_future()
            self._in_flight.append(future)
            await future

    async def run(self) -> None:
        failures = 0
        try:
            while True:
                await self._queued.wait()
                if not self._now.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._now.wait(), self._interval)
                self._queued.clear()
                self._now.clear()
                while self.depth or self._checkpoints or self._waiters:
                    if await self._commit_once():
                        failures = 0
                        continue
                    failures += 1
                    await asyncio.sleep(RETRY_PAUSES[min(failures, len(RETRY_PAUSES)) - 1])
        finally:
            for future in (*self._waiters, *(self._in_flight or ())):
                if not future.done():
                    future.set_exception(RuntimeError("the learning log is stopping"))

    async def _commit_once(self) -> bool:
        made, taken, checkpoints = self._decisions, self._rewards, self._checkpoints
        waiters = self._in_flight = self._waiters
        self._decisions, self._rewards, self._checkpoints, self._waiters = [], [], {}, []
        try:
            await self._ctx.transaction(_write, made, taken, checkpoints)
        except Exception as error:
            self.last_error = f"{type(error).__name__}: {error}"
            self._ctx.log.exception("learning log: commit failed, will retry")
            self._decisions[:0] = made
            self._rewards[:0] = taken
            for key, value in checkpoints.items():
                self._checkpoints.setdefault(key, value)
            self._waiters[:0] = waiters
            return False
        finally:
            self._in_flight = None
        self.last_error = None
        self.commits += 1
        self.committed_rows += len(made) + len(taken)
        if taken and self._on_commit is not None:
            self._on_commit(taken)
        for future in waiters:
            if not future.done():
                future.set_result(None)
        return True


_STATEMENTS: dict[tuple[str, str, str], tuple[str, list[int] | None]] = {}


def _insert_many(connection: Connection, table: Table, rows: Sequence[Row]) -> None:
    """One driver-level executemany of `rows` (tuples in `table`'s column order)."""
    dialect = connection.dialect
    key = (dialect.name, dialect.paramstyle, table.name)
    statement = _STATEMENTS.get(key)
    if statement is None:
        compiled = insert(table).compile(dialect=dialect)
        names = [column.name for column in table.columns]
        positions = compiled.positiontup if compiled.positional else None
        order = None if positions is None else [names.index(name) for name in positions]
        statement = _STATEMENTS[key] = (compiled.string, order)
    sql, order = statement
    if order is None:
        names = [column.name for column in table.columns]
        connection.exec_driver_sql(sql, [dict(zip(names, row, strict=True)) for row in rows])
    elif order == list(range(len(order))):
        connection.exec_driver_sql(sql, list(rows))
    else:
        connection.exec_driver_sql(sql, [tuple(row[i] for i in order) for row in rows])


def _write(
    session: Session,
    decision_rows: list[Row],
    reward_rows: list[Row],
    checkpoints: dict[tuple[str, int], tuple[bytes, int]],
) -> None:
    connection = session.connection()
    if decision_rows:
        _insert_many(connection, decisions, decision_rows)
    if reward_rows:
        _insert_many(connection, rewards, reward_rows)
    for (policy, version), (state, through) in checkpoints.items():
        session.execute(
            update(versions)
            .where(versions.c.policy == policy, versions.c.version == version)
            .values(state=state, through=through)
        )
