"""`SqlRunStore`: the `RunStore` the toolkit writes runs through, on this plugin's tables.

Writes go through one group-commit writer (`writer.py`); reads are plain sessions. Inputs,
outputs, proposals and checkpoints of health-data agents are sealed at rest, and their
inputs are kept only while a run is unfinished.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

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
from mindframe.sdk.direct_sql import insert_rows
from mindframe.sdk.spool import Spool

from . import audit as access_audit
from . import run_spool
from .audit import utc
from .models import checkpoints, inputs, runs, trace
from .sealing import Sealer
from .writer import GroupCommit

RUN_FIELDS = tuple(name for name in RunRecord.__struct_fields__ if name != "id")


class SqlRunStore(RunStore):
    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        self.sealer: Sealer | None = None
        self.spool: Spool | None = None
        self.writer = GroupCommit(ctx, self._apply, self._written)
        self._behind: dict[str, RunChange] = {}
        """Changes written behind the answer and not yet committed, by run id: a client that
        reads its run at once finds it here."""

    def open(self, sealer: Sealer, spool: Spool | None = None) -> None:
        self.sealer = sealer
        self.spool = spool

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
        spool before its last spooled run can go (a failed one's runs stay spooled and are
        written by the next start's replay)."""
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
        return await run_spool.replay(self._ctx, self.spool, self._apply)

    async def audit(self, entry: AuditEntry) -> None:
        await self.writer.write(entry)

    def _apply(self, connection: Connection, batch: list[Any]) -> None:
        """One transaction for everything handed over together, kind by kind, in order."""
        sealer = self._sealing()
        new_runs, updates, kept, points, steps, gone, audited = [], [], [], [], [], [], []
        spooled = 0
        for item in batch:
            if isinstance(item, run_spool.Spooled):
                spooled, item = item.next, item.change
            if isinstance(item, AuditEntry):
                audited.append(item)
                continue
            record = item.record
            seal = sealer.seal if record.health_data else _plain
            row = _run_row(record, seal)
            if item.created:
                updates.append(row)
            else:
                new_runs.append({"id": record.id, **row})
            if item.pending_input is not None:
                kept.append({"run_id": record.id, "payload": seal(item.pending_input)})
            if item.checkpoint is not None:
                name, value = item.checkpoint
                points.append({"run_id": record.id, "name": name, "value": seal(value)})
            steps.extend(_trace_row(record.id, entry) for entry in item.trace)
            if item.audit is not None:
                audited.append(item.audit)
            if item.drop_input and item.created:  # only a stored run can have kept its input
                gone.append(record.id)
        if new_runs:
            insert_rows(connection, runs, new_runs)
        if kept:
            insert_rows(connection, inputs, kept)
        if points:
            insert_rows(connection, checkpoints, points)
        if steps:
            insert_rows(connection, trace, steps)
        for row in updates:
            connection.execute(update(runs).where(runs.c.id == row["id"]).values(row))
        if gone:
            connection.execute(delete(inputs).where(inputs.c.run_id.in_(gone)))
        if audited:
            access_audit.append(connection, sealer.audit_key, audited)
        if spooled:
            run_spool.move_cursor(connection, spooled)

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


def _plain(payload: bytes) -> bytes:
    return payload


SEALED_FIELDS = ("output", "proposal", "summary", "error")
"""What a run of a health-data agent may say about its subject: sealed at rest."""
TEXT_FIELDS = frozenset({"summary", "error"})


def _run_row(record: RunRecord, seal: Any) -> dict[str, Any]:
    row = {name: getattr(record, name) for name in RUN_FIELDS}
    for name in SEALED_FIELDS:
        if row[name] is not None:
            value = row[name].encode() if name in TEXT_FIELDS else row[name]
            row[name] = seal(value)
    row["id"] = record.id
    return row


def _trace_row(run_id: str, entry: TraceEntry) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "seq": entry.seq,
        "kind": entry.kind,
        "name": entry.name,
        "started_at": entry.started_at,
        "duration_ms": entry.duration_ms,
        "status": entry.status,
        "detail": entry.detail,
    }


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
