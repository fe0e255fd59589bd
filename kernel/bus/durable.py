"""The durable event log in SQL, written by one group-committing writer task.

Publishers queue their rows and await a future; the writer commits everything queued so
far in one transaction, so concurrent publishers share a commit (and its fsync).
Acknowledgements ride along in the same batches without making anyone wait.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from . import schema
from .events import Envelope
from .topics import literal_prefix, matches

_MAX_BATCH = 1000
_PAGE = 500


@dataclass(slots=True)
class LogRow:
    seq: int
    event_id: str
    topic: str
    payload: bytes
    headers: dict[str, str]
    priority: int
    created_at: datetime

    def envelope(self) -> Envelope:
        """The envelope the event was published with, as the log kept it."""
        return Envelope(
            id=self.event_id,
            topic=self.topic,
            timestamp=self.created_at,
            priority=self.priority,
            durable=True,
            headers=self.headers,
            seq=self.seq,
        )


@dataclass(slots=True)
class _Append:
    row: dict[str, Any]
    done: asyncio.Future[None]


@dataclass(slots=True)
class _Ack:
    subscription: str
    event_id: str


@dataclass(slots=True)
class _Register:
    name: str
    pattern: str
    done: asyncio.Future[int] = field(repr=False)
    start: int = 0


_Op = _Append | _Ack | _Register


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything the bus returns is UTC-aware."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _insert_ignore(engine: AsyncEngine, table: Any) -> Any:
    """INSERT that skips rows violating the primary key (acks may repeat after a crash)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    return insert(table).prefix_with("IGNORE")


class DurableLog:
    """Append-only event log plus per-subscription acknowledgements."""

    def __init__(
        self, engine: AsyncEngine, on_error: Callable[[BaseException, dict[str, Any]], None]
    ) -> None:
        self.engine = engine
        self.last_seq = 0  # highest committed seq this process knows of
        self._on_error = on_error
        self._ops: deque[_Op] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._ack_insert = _insert_ignore(engine, schema.acks)
        self.commits = 0  # number of transactions, to observe group commit

    async def start(self) -> None:
        async with self.engine.begin() as conn:
            if self.engine.dialect.name == "sqlite":
                await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            await conn.run_sync(schema.metadata.create_all)
            self.last_seq = (await conn.execute(select(func.max(schema.log.c.seq)))).scalar() or 0
        self._closing = False
        self._task = asyncio.get_running_loop().create_task(self._writer(), name="bus:log-writer")

    async def close(self) -> None:
        """Flush queued acks and appends, then stop the writer."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    # -- producers -------------------------------------------------------------------------
    async def append(self, envelope: Envelope, payload: bytes) -> None:
        """Return once the event is committed (it then survives a crash)."""
        done = asyncio.get_running_loop().create_future()
        self._ops.append(
            _Append(
                {
                    "event_id": envelope.id,
                    "topic": envelope.topic,
                    "payload": payload,
                    "headers": envelope.headers,
                    "priority": envelope.priority,
                    "created_at": envelope.timestamp,
                },
                done,
            )
        )
        self._wake.set()
        await done

    def ack(self, subscription: str, event_id: str) -> None:
        """Record that a subscription is done with an event; batched, not awaited."""
        self._ops.append(_Ack(subscription, event_id))
        self._wake.set()

    def register(self, name: str, pattern: str) -> asyncio.Future[int]:
        """Ensure a durable subscription row exists; resolves to its start_seq.

        Queued in order with appends, so the row commits no later than any event
        published after ``subscribe()`` returned: a crash cannot lose those events.
        """
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._ops.append(_Register(name, pattern, done))
        self._wake.set()
        return done

    # -- writer ----------------------------------------------------------------------------
    async def _writer(self) -> None:
        while True:
            if not self._ops:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._take_batch()
            try:
                async with self.engine.begin() as conn:
                    await self._write(conn, batch)
                self.commits += 1
            except Exception as exc:  # the batch is not accepted; its publishers see why
                for op in batch:
                    if isinstance(op, _Append | _Register) and not op.done.done():
                        op.done.set_exception(exc)
                if not any(isinstance(op, _Append | _Register) for op in batch):
                    self._on_error(exc, {"component": "bus.durable", "op": "ack"})
                continue
            for op in batch:
                if isinstance(op, _Append) and not op.done.done():
                    op.done.set_result(None)
                elif isinstance(op, _Register) and not op.done.done():
                    op.done.set_result(op.start)

    def _take_batch(self) -> list[_Op]:
        """Everything queued, but a registration always starts a batch so its start_seq
        is exactly the last seq committed before it."""
        batch: list[_Op] = [self._ops.popleft()]
        while self._ops and len(batch) < _MAX_BATCH and not isinstance(self._ops[0], _Register):
            batch.append(self._ops.popleft())
        return batch

    async def _write(self, conn: AsyncConnection, batch: list[_Op]) -> None:
        rows = [op.row for op in batch if isinstance(op, _Append)]
        ack_rows = [
            {"subscription": op.subscription, "event_id": op.event_id}
            for op in batch
            if isinstance(op, _Ack)
        ]
        for op in batch:
            if isinstance(op, _Register):
                t = schema.subscriptions
                start = (
                    await conn.execute(select(t.c.start_seq).where(t.c.name == op.name))
                ).scalar()
                if start is None:
                    start = self.last_seq
                    await conn.execute(
                        insert(t).values(
                            name=op.name,
                            pattern=op.pattern,
                            start_seq=start,
                            created_at=datetime.now(UTC),
                        )
                    )
                op.start = start
        if rows:
            await conn.execute(insert(schema.log), rows)
            self.last_seq = (
                await conn.execute(select(func.max(schema.log.c.seq)))
            ).scalar() or self.last_seq
        if ack_rows:
            await conn.execute(self._ack_insert, ack_rows)

    # -- readers ---------------------------------------------------------------------------
    async def unacked(
        self, name: str, pattern: str, after_seq: int, upto_seq: int
    ) -> AsyncIterator[LogRow]:
        """Logged events matching ``pattern`` in (after_seq, upto_seq] not acked by ``name``."""
        t, a = schema.log, schema.acks
        not_acked = ~exists().where(a.c.subscription == name, a.c.event_id == t.c.event_id)
        async for row in self._scan(pattern, after_seq, upto_seq, None, not_acked):
            yield row

    async def scan(
        self, pattern: str, since: datetime | None = None, from_seq: int | None = None
    ) -> AsyncIterator[LogRow]:
        """Logged events matching ``pattern``, oldest first, for replay."""
        after = (from_seq - 1) if from_seq is not None else 0
        async for row in self._scan(pattern, after, None, since, None):
            yield row

    async def _scan(
        self, pattern: str, after: int, upto: int | None, since: datetime | None, extra: Any
    ) -> AsyncIterator[LogRow]:
        t = schema.log
        prefix = literal_prefix(pattern)
        while True:
            query = select(t).where(t.c.seq > after).order_by(t.c.seq).limit(_PAGE)
            if upto is not None:
                query = query.where(t.c.seq <= upto)
            if since is not None:
                query = query.where(t.c.created_at >= since)
            if prefix:
                query = query.where(
                    (t.c.topic == prefix) | t.c.topic.startswith(prefix + ".", autoescape=True)
                )
            if extra is not None:
                query = query.where(extra)
            async with self.engine.connect() as conn:
                page = (await conn.execute(query)).mappings().all()
            if not page:
                return
            for r in page:
                after = r["seq"]
                if matches(pattern, r["topic"]):
                    yield LogRow(
                        r["seq"],
                        r["event_id"],
                        r["topic"],
                        r["payload"],
                        r["headers"],
                        r["priority"],
                        _aware(r["created_at"]),
                    )
            if len(page) < _PAGE:
                return
