"""Booking money in the journal and reading balances from it (synchronous: these run inside
one `ctx.transaction` with the change that caused them)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mindframe.sdk import direct_sql

from .models import journal

PAYMENT, REFUND, INVOICE = "payment", "refund", "invoice"


def new_id() -> str:
    return uuid.uuid4().hex


def now() -> datetime:
    return datetime.now(UTC)


_INSERT_ONCE: dict[tuple[str, str], Any] = {}


def insert_once(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert `values` unless a row with the same unique key exists; whether it inserted.
    One statement (`ON CONFLICT DO NOTHING`), so concurrent duplicates never raise. The
    statement is built once per table and dialect and run through `direct_sql`: building
    and executing it the usual way cost more CPU than SQLite spends running it."""
    dialect = (
        session.get_bind().dialect.name if isinstance(session, Session) else session.dialect.name
    )
    statement = _INSERT_ONCE.get((dialect, table.name))
    if statement is None:
        builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = _INSERT_ONCE[(dialect, table.name)] = builder(table).on_conflict_do_nothing()
    return bool(direct_sql.rowcount(session, statement, values))


def book(
    session: Session,
    *,
    customer_id: str,
    kind: str,
    source: str,
    amount: int,
    currency: str,
    invoice_id: str | None = None,
    payment_id: str | None = None,
    cause: str | None = None,
) -> bool:
    """Append one money movement; False (and nothing booked) when (`kind`, `source`) was
    booked before: the same movement reported again."""
    return insert_once(
        session,
        journal,
        {
            "customer_id": customer_id,
            "kind": kind,
            "source": source,
            "amount": amount,
            "currency": currency.upper(),
            "invoice_id": invoice_id,
            "payment_id": payment_id,
            "cause": cause,
            "booked_at": now(),
        },
    )


def balances(session: Session, customer_id: str) -> dict[str, int]:
    """What the customer owes per currency (negative: in credit), summed from the journal."""
    rows = session.execute(
        select(journal.c.currency, func.sum(journal.c.amount))
        .where(journal.c.customer_id == customer_id)
        .group_by(journal.c.currency)
    )
    return {currency: int(total) for currency, total in rows}


def payment_totals(session: Session, payment_id: str) -> tuple[int, int]:
    """(captured, refunded) of one payment, from its journal rows."""
    rows = session.execute(
        select(journal.c.kind, func.sum(journal.c.amount))
        .where(journal.c.payment_id == payment_id)
        .group_by(journal.c.kind)
    )
    totals = {kind: int(total) for kind, total in rows}
    return -totals.get(PAYMENT, 0), totals.get(REFUND, 0)


def entries(session: Session, customer_id: str | None = None) -> list[dict[str, Any]]:
    query = select(journal).order_by(journal.c.id)
    if customer_id is not None:
        query = query.where(journal.c.customer_id == customer_id)
    return [dict(row._mapping) for row in session.execute(query)]
