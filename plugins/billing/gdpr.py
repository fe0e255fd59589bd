"""A person's billing data: GDPR export, and erasure that keeps what bookkeeping law needs.

Erasure removes what identifies the person from their customer record (name, email, VAT
number, user link) and from drafts never issued. Issued invoices, payments and the journal
are kept as issued for `retention_years` (settings; 10 by default, the longest of the
Nordic, German and UK rules for accounting records): the law requires the buyer's name on a
kept invoice. The `retention` job anonymises those invoices once their period has passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from mindframe.sdk import Subject

from . import ledger
from .models import customers, invoices, payments, subscriptions, vipps_agreements

ERASED_BUYER_KEYS = ("name", "email", "vat_number")


def _customers_of(session: Session, subject: Subject) -> list[dict[str, Any]]:
    matches = [customers.c.user_id == subject.user_id]
    if subject.email:
        matches.append(customers.c.email == subject.email)
    rows = session.execute(select(customers).where(or_(*matches)))
    return [dict(row._mapping) for row in rows]


def _rows(session: Session, table: Any, customer_id: str) -> list[dict[str, Any]]:
    rows = session.execute(select(table).where(table.c.customer_id == customer_id))
    return [dict(row._mapping) for row in rows]


def export(session: Session, subject: Subject) -> dict[str, Any]:
    found = []
    for customer in _customers_of(session, subject):
        found.append(
            {
                "customer": customer,
                "subscriptions": _rows(session, subscriptions, customer["id"]),
                "vipps_agreements": _rows(session, vipps_agreements, customer["id"]),
                "invoices": _rows(session, invoices, customer["id"]),
                "payments": _rows(session, payments, customer["id"]),
                "journal": ledger.entries(session, customer["id"]),
                "balances": ledger.balances(session, customer["id"]),
            }
        )
    return {"customers": found}


def erase(session: Session, subject: Subject) -> int:
    """Anonymise the subject's customer records and drafts; returns how many customers."""
    erased = 0
    for customer in _customers_of(session, subject):
        session.execute(
            update(customers)
            .where(customers.c.id == customer["id"])
            .values(
                user_id=None,
                email=None,
                name=None,
                vat_number=None,
                erased_at=customer["erased_at"] or ledger.now(),
            )
        )
        for invoice in _rows(session, invoices, customer["id"]):
            if invoice["status"] == "draft":
                _anonymise(session, invoice)
        erased += 1
    return erased


def _anonymise(session: Session, invoice: dict[str, Any]) -> None:
    buyer = {k: v for k, v in invoice["buyer"].items() if k not in ERASED_BUYER_KEYS}
    session.execute(update(invoices).where(invoices.c.id == invoice["id"]).values(buyer=buyer))


def expire(session: Session, now: datetime, retention_years: int) -> int:
    """Anonymise issued invoices of erased customers whose retention period has passed."""
    cutoff = now - timedelta(days=365 * retention_years + retention_years // 4)
    rows = session.execute(
        select(invoices)
        .join(customers, customers.c.id == invoices.c.customer_id)
        .where(customers.c.erased_at.is_not(None), invoices.c.issued_at < cutoff)
    )
    count = 0
    for row in rows:
        invoice = dict(row._mapping)
        if any(invoice["buyer"].get(key) for key in ERASED_BUYER_KEYS):
            _anonymise(session, invoice)
            count += 1
    return count
