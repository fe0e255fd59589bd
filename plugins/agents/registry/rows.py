"""New rows straight to the SQLite driver, as tuples: every run writes a history row and, for a
health-data agent, an audit row and its subjects, and SQLAlchemy's per-row parameter
processing cost more than SQLite's inserts (benchmarks/agents.py). Other databases, and
tables with columns the driver cannot take as they are, go through SQLAlchemy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Table, insert
from sqlalchemy.engine import Connection


def sqlite_datetime(moment: datetime) -> str:
    """A moment as SQLAlchemy's `DateTime` keeps it in SQLite (`2026-11-30 01:02:03.456789`,
    here in UTC), so rows written straight to the driver read back like any other."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


@dataclass(frozen=True)
class Plan:
    """How rows of one table go to the driver: the statement, the columns in order, and
    the positions of the columns whose values need converting."""

    sql: str
    pick: Callable[[dict[str, Any]], tuple[Any, ...]]
    moments: tuple[int, ...]
    flags: tuple[int, ...]


@cache
def _plan(table: Table) -> Plan:
    if any(isinstance(column.type, JSON) for column in table.columns):
        raise TypeError(f"{table.name} has JSON columns: insert it through SQLAlchemy")
    columns = list(table.columns)
    names = [column.name for column in columns]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    pick = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    moments = tuple(i for i, c in enumerate(columns) if isinstance(c.type, DateTime))
    flags = tuple(i for i, c in enumerate(columns) if isinstance(c.type, Boolean))
    return Plan(sql, pick, moments, flags)


def insert_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (each with every column of `table`) in this transaction."""
    if not rows:
        return
    if connection.dialect.name != "sqlite":
        connection.execute(insert(table), rows)
        return
    plan = _plan(table)
    if not plan.moments and not plan.flags:
        connection.exec_driver_sql(plan.sql, [plan.pick(row) for row in rows])
        return
    values: list[tuple[Any, ...]] = []
    for row in rows:
        value = list(plan.pick(row))
        for at in plan.moments:
            if value[at] is not None:
                value[at] = sqlite_datetime(value[at])
        for at in plan.flags:
            if value[at] is not None:
                value[at] = int(value[at])
        values.append(tuple(value))
    connection.exec_driver_sql(plan.sql, values)
