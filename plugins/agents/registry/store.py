"""`SqlRunStore`: the `RunStore` the toolkit writes runs through, on this plugin's tables.

Writes go through one group-commit writer (`writer.py`), whose transactions build and write
their rows in `writing.apply`: in a worker process once batches are large (under load), in
the server otherwise; reads are plain sessions. Inputs, outputs, proposals and checkpoints
of health-data agents are sealed at rest, and their inputs are kept only while a run is
unfinished.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from mindframe.sdk import PluginContext
from mindframe.sdk.agents import (
    SETTLED,
    AuditEntry,
    RunChange,
    RunRecord,
    RunStore,
    StoredRun,
    TraceEntry,
)
from mindframe.sdk.processes import ProcessPool
from mindframe.sdk.spool import Spool

from . import run_spool, writing
from .audit import utc
from .models import checkpoints, inputs, runs, trace
from .sealing import Sealer
from .writer import GroupCommit
from .writing import AUDIT, CHANGE, RUN_FIELDS, SEALED_FIELDS, TEXT_FIELDS, Write


class SqlRunStore(RunStore):
    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        self.sealer: Sealer | None = None
        self.spool: Spool | None = None
        self.writer = GroupCommit(ctx, self._transact, self._written)
        self._behind: dict[str, RunChange] = {}
        """Changes written behind the answer and not yet committed, by run id: a client that
        reads its run at once finds it here."""
        self._pool: ProcessPool | None = None
        self._process_min_batch = 0

    def open(
        self,
        sealer: Sealer,
        spool: Spool | None = None,
        pool: ProcessPool | None = None,
        process_min_batch: int = 0,
    ) -> None:
        """Ready to write: with `pool`, transactions of `process_min_batch` writes or more
        run in its worker process (the first such batch starts it, and runs here)."""
        self.sealer = sealer
        self.spool = spool
        self._pool = pool if pool is not None and pool.in_workers else None
        self._process_min_batch = process_min_batch

    def _sealing(self) -> Sealer:
        if self.sealer is None:
            raise RuntimeError("the agents store is not started yet")
        return self.sealer

    def digest(self, payload: bytes) -> str:
        return self._sealing().digest(payload)

    # --- writing ---------------------------------------------------------------------------

    async def save(self, change: RunChange, *, wait: bool = True) -> None:
        if self.spool is not None and not change.created and change.record.status in SETTLED:
            # a run that ended in one go: durable in the spool, its rows written behind
            self._behind[change.record.id] = change
            await self.writer.write(run_spool.append(self.spool, change), wait=False)
            return
        if not wait:
            self._behind[change.record.id] = change
        await self.writer.write(change, wait=wait)

    def _written(self, items: list[Any], committed: bool) -> None:
        """A transaction ended: its changes are no longer behind; once committed, the
        spool before its last spooled run can go. (After a failure the writer hands back
        only the writes whose callers it told; the spooled ones are tried again, and if the
        process stops first, the next start's replay writes them.)"""
        spooled = 0
        for item in items:
            if isinstance(item, run_spool.Spooled):
                spooled, item = item.next, item.change
            if isinstance(item, RunChange) and self._behind.get(item.record.id) is item:
                del self._behind[item.record.id]
        if committed and spooled and self.spool is not None:
            self.spool.release(spooled)

    async def replay_spool(self) -> int:
        """Write what the spool holds beyond the committed cursor (runs a killed process
        answered); call before the writer starts."""
        if self.spool is None:
            return 0
        return await run_spool.replay(self._ctx, self.spool, self._write)

    async def audit(self, entry: AuditEntry) -> None:
        await self.writer.write(entry)

    async def _transact(self, items: list[Any]) -> None:
        """The writer's transaction: `items` as writes, applied together."""
        await self._write([_as_write(item) for item in items])

    async def _write(self, writes: list[Write]) -> None:
        secret = self._sealing().secret
        pool = self._pool
        if pool is not None and len(writes) >= self._process_min_batch:
            if pool.workers:
                await pool.transaction(writing.apply, secret, writes)
                return
            self._ctx.spawn(pool.warm, name="agents writer process")  # this batch: here
        await self._ctx.transaction(writing.apply, secret, writes, core=True)

    # --- reading ---------------------------------------------------------------------------

    async def load(self, run_id: str) -> StoredRun | None:
        behind = self._behind.get(run_id)
        if behind is not None:
            return StoredRun(record=behind.record, checkpoints={}, pending_input=None)
        async with self._ctx.session() as session:
            row = (
                (await session.execute(select(runs).where(runs.c.id == run_id))).mappings().first()
            )
            if row is None:
                return None
            points = await session.execute(
                select(checkpoints.c.name, checkpoints.c.value).where(
                    checkpoints.c.run_id == run_id
                )
            )
            kept = await session.execute(select(inputs.c.payload).where(inputs.c.run_id == run_id))
            payload = kept.scalar()
            unseal = self._sealing().unseal
            return StoredRun(
                record=_record(row, unseal),
                checkpoints={name: unseal(value) for name, value in points},
                pending_input=unseal(payload) if payload is not None else None,
            )

    async def interrupted(self, agent: str) -> list[str]:
        query = (
            select(runs.c.id)
            .join(inputs, inputs.c.run_id == runs.c.id)
            .where(runs.c.agent == agent, runs.c.status == "running")
            .order_by(runs.c.started_at)
        )
        async with self._ctx.session() as session:
            return list((await session.execute(query)).scalars())

    async def trace(self, run_id: str) -> list[TraceEntry]:
        behind = self._behind.get(run_id)
        if behind is not None:
            return list(behind.trace)
        query = select(trace).where(trace.c.run_id == run_id).order_by(trace.c.seq)
        async with self._ctx.session() as session:
            rows = (await session.execute(query)).mappings().all()
        return [
            TraceEntry(
                seq=row["seq"],
                kind=row["kind"],
                name=row["name"],
                started_at=utc(row["started_at"]),
                duration_ms=row["duration_ms"],
                status=row["status"],
                detail=row["detail"],
            )
            for row in rows
        ]

    async def history(
        self, agent: str, *, limit: int = 50, before: datetime | None = None
    ) -> list[RunRecord]:
        await self.writer.settled()  # runs written behind their answers are listed too
        query = select(runs).where(runs.c.agent == agent)
        if before is not None:
            query = query.where(runs.c.started_at < before)
        query = query.order_by(runs.c.started_at.desc()).limit(limit)
        async with self._ctx.session() as session:
            rows = (await session.execute(query)).mappings().all()
        unseal = self._sealing().unseal
        return [_record(row, unseal) for row in rows]


def _as_write(item: Any) -> Write:
    if isinstance(item, run_spool.Spooled):
        return item.write
    if isinstance(item, AuditEntry):
        return (AUDIT, writing.encode(item), 0)
    return (CHANGE, writing.encode(item), 0)


def _record(row: Any, unseal: Any) -> RunRecord:
    values = {name: row[name] for name in RUN_FIELDS}
    for name in SEALED_FIELDS:
        if values[name] is not None:
            value = unseal(bytes(values[name]))
            values[name] = value.decode() if name in TEXT_FIELDS else value
    for name in ("started_at", "finished_at"):
        if values[name] is not None:
            values[name] = utc(values[name])
    return RunRecord(id=row["id"], **values)
