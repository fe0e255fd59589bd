"""New rows straight to the SQLite driver, as tuples: every run writes a history row and, for a
health-data agent, an audit row and its subjects, and SQLAlchemy's per-row parameter
processing cost more than SQLite's inserts (benchmarks/agents.py). Other databases, and
tables with columns the driver cannot take as they are, go through SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, Table, insert
from sqlalchemy.engine import Connection


def sqlite_datetime(moment: datetime) -> str:
    """A moment as SQLAlchemy's `DateTime` keeps it in SQLite (`2026-11-30 01:02:03.456789`,
    here in UTC), so rows written straight to the driver read back like any other."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


@cache
def _statement(table: Table) -> tuple[str, tuple[str, ...]]:
    if any(isinstance(column.type, JSON) for column in table.columns):
        raise TypeError(f"{table.name} has JSON columns: insert it through SQLAlchemy")
    names = tuple(column.name for column in table.columns)
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    return sql, names


def insert_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (each with every column of `table`) in this transaction."""
    if not rows:
        return
    if connection.dialect.name != "sqlite":
        connection.execute(insert(table), rows)
        return
    sql, names = _statement(table)
    connection.exec_driver_sql(sql, [tuple(_value(row[name]) for name in names) for row in rows])


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return sqlite_datetime(value)
    if isinstance(value, bool):
        return int(value)
    return value
