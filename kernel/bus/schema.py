"""The bus's SQL tables (prefixed ``kernel_bus_``) in the kernel's database."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()

# BigInteger autoincrement is INTEGER on SQLite so it aliases the rowid.
_BigId = BigInteger().with_variant(Integer(), "sqlite")

log = Table(
    "kernel_bus_log",
    metadata,
    Column("seq", _BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False, unique=True),
    Column("topic", String(255), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("priority", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_kernel_bus_log_created_at", "created_at"),
    Index("ix_kernel_bus_log_topic", "topic"),
)

# A named durable subscription: it receives every matching event logged after start_seq.
subscriptions = Table(
    "kernel_bus_subscriptions",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("pattern", String(255), nullable=False),
    Column("start_seq", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

acks = Table(
    "kernel_bus_acks",
    metadata,
    Column("subscription", String(255), nullable=False),
    Column("event_id", String(40), nullable=False),
    PrimaryKeyConstraint("subscription", "event_id"),
)

dead_letters = Table(
    "kernel_bus_dead_letters",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False),
    Column("topic", String(255), nullable=False),
    Column("subscription", String(255), nullable=True),
    Column("owner", String(255), nullable=True),
    Column("payload", LargeBinary, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("priority", Integer, nullable=False, default=0),
    Column("reason", Text, nullable=False),
    Column("error", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("redriven_at", DateTime(timezone=True), nullable=True),
    Index("ix_kernel_bus_dead_letters_event_id", "event_id"),
)
