"""The access audit of health-data agents: append-only rows, each hashed (HMAC, keyed with
the plugin's secret) with its subjects and the previous row's hash, so an edited or deleted
row, or subject, breaks the chain where it was, and, with the secret kept outside the
database (`secret_key`), nobody with only the database can write a chain that verifies."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from mindframe.sdk.agents import AuditEntry
from mindframe.sdk.direct_sql import insert_rows

from .models import audit, audit_subjects

GENESIS = "0" * 64
HEAD = select(audit.c.seq, audit.c.hash).order_by(audit.c.seq.desc()).limit(1)
"""The chain's newest row, read in each appending transaction (built once: every batch of
runs appends)."""


def utc(moment: datetime) -> datetime:
    """`moment` in UTC (SQLite gives stored datetimes back without a zone)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def hashed_subjects(subjects: Sequence[str]) -> str | list[str] | None:
    """The subjects as the hash covers them: none as null and one as itself, the forms of
    the single `subject` column rows had before (so their chain still verifies), and
    several as a list."""
    if not subjects:
        return None
    return subjects[0] if len(subjects) == 1 else list(subjects)


def row_hash(
    key: bytes, prev_hash: str, seq: int, row: dict[str, Any], subjects: Sequence[str]
) -> str:
    fields = [
        seq,
        utc(row["at"]).isoformat(),
        row["who"],
        row["agent"],
        row["run_id"],
        hashed_subjects(subjects),
        row["purpose"],
        row["action"],
    ]
    # compact JSON, non-ASCII as UTF-8: the bytes json.dumps(ensure_ascii=False,
    # separators=(",", ":")) gave when the chain began, made in a fifth of the time
    canonical = msgspec.json.encode(fields)
    return hmac.digest(key, prev_hash.encode() + b"|" + canonical, "sha256").hex()


def append(connection: Connection | Session, key: bytes, entries: Iterable[AuditEntry]) -> None:
    """Append `entries` after the newest row, in this transaction."""
    last = connection.execute(HEAD).first()
    seq, prev = (last[0], last[1]) if last is not None else (0, GENESIS)
    rows, subject_rows = [], []
    for entry in entries:
        seq += 1
        row = {
            "at": utc(entry.at),
            "who": entry.who,
            "agent": entry.agent,
            "run_id": entry.run_id,
            "purpose": entry.purpose,
            "action": entry.action,
        }
        digest = row_hash(key, prev, seq, row, entry.subjects)
        rows.append({**row, "seq": seq, "prev_hash": prev, "hash": digest})
        subject_rows += [
            {"seq": seq, "position": position, "subject": subject}
            for position, subject in enumerate(entry.subjects)
        ]
        prev = digest
    insert_rows(connection, audit, rows)
    insert_rows(connection, audit_subjects, subject_rows)


@dataclass
class Verification:
    """What `verify` found: how many rows it read and each break in the chain."""

    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, key: bytes) -> Verification:
    """Walk the chain from the first row: every row must follow the previous one (its
    sequence number, its `prev_hash`) and hash, with its subjects, to what it says."""
    report = Verification()
    expected_seq, prev = 1, GENESIS
    joined = (
        select(audit, audit_subjects.c.subject)
        .outerjoin(audit_subjects, audit_subjects.c.seq == audit.c.seq)
        .order_by(audit.c.seq, audit_subjects.c.position)
    )
    for _, group in groupby(session.execute(joined).mappings(), key=lambda row: row["seq"]):
        lines = list(group)
        row = lines[0]
        subjects = [line["subject"] for line in lines if line["subject"] is not None]
        report.rows += 1
        seq = row["seq"]
        if seq != expected_seq:
            gone = f"{expected_seq}" if seq - 1 == expected_seq else f"{expected_seq} to {seq - 1}"
            report.problems.append(f"row {gone} is missing (deleted?)")
        if row["prev_hash"] != prev:
            report.problems.append(f"row {seq} does not follow the row before it")
        if row_hash(key, row["prev_hash"], seq, dict(row), subjects) != row["hash"]:
            report.problems.append(f"row {seq} was changed after it was written")
        expected_seq, prev = seq + 1, row["hash"]
    return report
