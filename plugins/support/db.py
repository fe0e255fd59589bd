"""Small SQL helpers the units of work share."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session


def now() -> float:
    return time.time()


def insert_if_absent(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert `values` unless a row with the same key exists; True when inserted. One
    statement (`ON CONFLICT DO NOTHING`), so two transactions racing to insert the same
    row neither fail nor duplicate it, on SQLite and on PostgreSQL."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    result = session.execute(insert(table).values(values).on_conflict_do_nothing())
    return bool(result.rowcount)
