"""The plugin's tables: runs, their checkpoints, kept inputs and traces, the access audit,
and the secret key."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

runs = Table(
    "agents_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("agent", String(63), nullable=False),
    Column("status", String(16), nullable=False),
    Column("input_digest", String(64), nullable=False),
    Column("requested_by", String(150)),
    Column("purpose", String(200)),
    Column("locale", String(16)),
    Column("health_data", Boolean, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("duration_ms", Float),
    Column("output", LargeBinary),
    Column("proposal", LargeBinary),
    Column("summary", LargeBinary),
    Column("error", LargeBinary),
    Index("agents_runs_agent_started", "agent", "started_at"),
)
"""One index only: every run writes a row here, and each index costs each write. Runs to
resume are found through `agents_inputs` (kept only while a run is unfinished); a person's
runs (GDPR, rare) by a scan."""

checkpoints = Table(
    "agents_checkpoints",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

inputs = Table(
    "agents_inputs",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("payload", LargeBinary, nullable=False),
)
"""A run's input, kept only while the run is unfinished (so it can be resumed)."""

trace = Table(
    "agents_trace",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("detail", Text),
)

audit = Table(
    "agents_audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("who", String(150)),
    Column("agent", String(63), nullable=False),
    Column("run_id", String(32), nullable=False),
    Column("purpose", String(200)),
    Column("action", String(16), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
"""Append-only: each row's hash covers its fields, its subjects and the previous row's hash."""

audit_subjects = Table(
    "agents_audit_subjects",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("subject", Text, nullable=False),
    Index("agents_audit_subjects_subject", "subject"),
)
"""Whose data each audit row (`seq`) was about, every one, in order and uncut."""

keys = Table(
    "agents_keys",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

spool_cursor = Table(
    "agents_spool_cursor",
    metadata,
    # how far the runs spool is in the tables: moved in the transaction that writes its rows
    Column("name", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),
)
