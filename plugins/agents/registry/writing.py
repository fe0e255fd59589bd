"""The rows of a transaction of runs: history, kept inputs, checkpoints, traces, the access
audit and the spool cursor, built and written by `apply`, in the server or in a worker
process (`pool.transaction`).

Why a worker: under load the writer seals every health-data output (AES-GCM), hashes every
audit row into the chain (HMAC) and inserts several rows a run; on the server's thread that
work took turns with the requests for the one GIL, and the hand-overs cost the requests
more than the work itself (`benchmarks/agents.py`). The writes travel as bytes (a run's
msgpack, the very record the runs spool holds) so sending a batch costs the server little.
This module is imported by worker processes: nothing here may need the plugin's `__init__`.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import delete, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from mindframe.sdk.agents import AuditEntry, RunChange, RunRecord, TraceEntry
from mindframe.sdk.direct_sql import insert_rows

from . import audit as access_audit
from .models import checkpoints, inputs, runs, spool_cursor, trace
from .sealing import Sealer

CHANGE, AUDIT = 0, 1
Write = tuple[int, bytes, int]
"""(CHANGE or AUDIT, the msgpack of the `RunChange` or `AuditEntry`, the runs spool's position
after its record, or 0 when it was not spooled)."""

encode = msgspec.msgpack.Encoder().encode
_changes = msgspec.msgpack.Decoder(RunChange)
_entries = msgspec.msgpack.Decoder(AuditEntry)
_SEALERS: dict[bytes, Sealer] = {}
RUN_FIELDS = tuple(name for name in RunRecord.__struct_fields__ if name != "id")
SEALED_FIELDS = ("output", "proposal", "summary", "error")
"""What a run of a health-data agent may say about its subject: sealed at rest."""
TEXT_FIELDS = frozenset({"summary", "error"})
SPOOL = "runs"


def apply(connection: Connection, secret: bytes, writes: list[Write]) -> None:
    """One transaction for everything handed over together, kind by kind, in order."""
    sealer = _SEALERS.get(secret) or _SEALERS.setdefault(secret, Sealer(secret))
    new_runs, updates, kept, points, steps, gone, audited = [], [], [], [], [], [], []
    spooled = 0
    for kind, data, position in writes:
        spooled = position or spooled
        if kind == AUDIT:
            audited.append(_entries.decode(data))
            continue
        change = _changes.decode(data)
        record = change.record
        seal = sealer.seal if record.health_data else _plain
        row = run_row(record, seal)
        if change.created:
            updates.append(row)
        else:
            new_runs.append(row)
        if change.pending_input is not None:
            kept.append({"run_id": record.id, "payload": seal(change.pending_input)})
        if change.checkpoint is not None:
            name, value = change.checkpoint
            points.append({"run_id": record.id, "name": name, "value": seal(value)})
        steps.extend(_trace_row(record.id, entry) for entry in change.trace)
        if change.audit is not None:
            audited.append(change.audit)
        if change.drop_input and change.created:  # only a stored run can have kept its input
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
        move_cursor(connection, spooled)


def move_cursor(connection: Connection, position: int) -> None:
    """Record, in this transaction, that the runs spooled before `position` are in the tables."""
    if connection.dialect.name == "sqlite":
        upsert = sqlite_insert(spool_cursor).values(name=SPOOL, position=position)
        connection.execute(
            upsert.on_conflict_do_update(index_elements=["name"], set_={"position": position})
        )
        return
    moved = connection.execute(
        update(spool_cursor).where(spool_cursor.c.name == SPOOL).values(position=position)
    )
    if not moved.rowcount:
        connection.execute(spool_cursor.insert().values(name=SPOOL, position=position))


def _plain(payload: bytes) -> bytes:
    return payload


def run_row(record: RunRecord, seal: Any) -> dict[str, Any]:
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
