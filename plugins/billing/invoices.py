"""Invoices: drafted with VAT by the buyer's country, numbered without gaps when finalised.

The number comes from `billing_invoice_sequences` in the finalising transaction itself: an
`UPDATE … SET last_number = last_number + 1 … RETURNING` takes the row's write lock, so
concurrent finalisations queue on it (PostgreSQL: the row lock; SQLite: the database write
lock), and a finalisation that rolls back gives its number back with everything else.
No number is ever skipped or given twice. The same transaction puts the invoice in the
mail outbox (`billing_invoice_mail`), so an issued invoice is never left unmailed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from mindframe.sdk import Event

from . import ledger
from .events import InvoicePaid
from .models import customers, invoice_mail, invoice_sequences, invoices
from .vat import VatTreatment, treatment


@dataclass(frozen=True, slots=True)
class Line:
    description: str
    quantity: int
    unit_amount: int  # net, minor units

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_amount


class NotADraft(ValueError):
    """Only a draft can be finalised."""


def customer_treatment(customer: dict[str, Any], seller_country: str) -> VatTreatment:
    return treatment(
        seller_country, customer["country"], customer["is_business"], customer["vat_number"]
    )


def draft(
    session: Session,
    customer_id: str,
    lines: list[Line],
    seller_country: str,
    *,
    currency: str | None = None,
    subscription_id: str | None = None,
    provider_ref: str | None = None,
) -> str:
    """A draft invoice for net `lines`, VAT added by the customer's country."""
    customer = dict(
        session.execute(select(customers).where(customers.c.id == customer_id)).one()._mapping
    )
    vat = customer_treatment(customer, seller_country)
    subtotal = sum(line.amount for line in lines)
    return _insert(
        session,
        customer,
        vat,
        [_line(line) for line in lines],
        subtotal,
        vat.on(subtotal),
        currency=currency or customer["currency"],
        subscription_id=subscription_id,
        provider_ref=provider_ref,
    )


def draft_from_gross(
    session: Session,
    customer: dict[str, Any],
    description: str,
    gross: int,
    currency: str,
    seller_country: str,
    *,
    subscription_id: str | None = None,
    provider_ref: str | None = None,
) -> str:
    """A draft for an amount a provider charged VAT included (a Stripe renewal priced
    gross): the VAT part is taken out at the customer's rate."""
    vat = customer_treatment(customer, seller_country)
    net = int(
        (Decimal(gross) * 100 / (100 + vat.rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    )
    lines = [{"description": description, "quantity": 1, "unit_amount": net, "amount": net}]
    return _insert(
        session,
        customer,
        vat,
        lines,
        net,
        gross - net,
        currency=currency,
        subscription_id=subscription_id,
        provider_ref=provider_ref,
    )


def _line(line: Line) -> dict[str, Any]:
    return {
        "description": line.description,
        "quantity": line.quantity,
        "unit_amount": line.unit_amount,
        "amount": line.amount,
    }


def _insert(
    session: Session,
    customer: dict[str, Any],
    vat: VatTreatment,
    lines: list[dict[str, Any]],
    subtotal: int,
    vat_amount: int,
    **values: Any,
) -> str:
    invoice_id = ledger.new_id()
    session.execute(
        insert(invoices).values(
            id=invoice_id,
            customer_id=customer["id"],
            status="draft",
            lines=[{**line, "amount": line["quantity"] * line["unit_amount"]} for line in lines],
            subtotal=subtotal,
            vat_rate=f"{vat.rate.normalize():f}",
            vat_amount=vat_amount,
            total=subtotal + vat_amount,
            reverse_charge=vat.reverse_charge,
            buyer={
                "name": customer["name"],
                "email": customer["email"],
                "country": customer["country"],
                "vat_number": customer["vat_number"],
            },
            locale=customer["locale"],
            dunning_attempts=0,
            dunning_decided=0,
            created_at=ledger.now(),
            **values,
        )
    )
    return invoice_id


def next_number(session: Session, series: str) -> str:
    """The next number of `series`, under the sequence row's write lock until commit."""
    ledger.insert_once(session, invoice_sequences, {"series": series, "last_number": 0})
    number = session.execute(
        update(invoice_sequences)
        .where(invoice_sequences.c.series == series)
        .values(last_number=invoice_sequences.c.last_number + 1)
        .returning(invoice_sequences.c.last_number)
    ).scalar_one()
    return f"{series}-{number:06d}"


def finalise(
    session: Session, invoice_id: str, series: str, due_days: int, *, mail: bool = True
) -> dict[str, Any]:
    """Number the draft, open it and book what it charges; returns the invoice row. With
    `mail`, the invoice goes into the mail outbox too (not for a Stripe invoice that is not
    for a subscription's period: see `stripe_events.PERIOD_INVOICES`)."""
    row = session.execute(
        select(invoices).where(invoices.c.id == invoice_id).with_for_update()
    ).one_or_none()
    if row is None or row.status != "draft":
        raise NotADraft(invoice_id)
    number = next_number(session, series)
    issued = ledger.now()
    opened = {
        "number": number,
        "status": "open",
        "issued_at": issued,
        "due_at": issued + timedelta(days=due_days),
    }
    session.execute(update(invoices).where(invoices.c.id == invoice_id).values(**opened))
    ledger.book(
        session,
        customer_id=row.customer_id,
        kind=ledger.INVOICE,
        source=invoice_id,
        amount=row.total,
        currency=row.currency,
        invoice_id=invoice_id,
    )
    if mail and (row.buyer or {}).get("email"):  # the `mail` job mails it; committed here
        session.execute(insert(invoice_mail).values(invoice_id=invoice_id, queued_at=issued))
    return {**row._mapping, **opened}


def mark_paid(session: Session, invoice_id: str | None) -> list[Event]:
    """Mark the invoice paid (once): its `InvoicePaid`, or nothing when it already was."""
    if invoice_id is None:
        return []
    row = get(session, invoice_id)
    if row is None or row["status"] in ("paid", "void"):
        return []
    session.execute(
        update(invoices)
        .where(invoices.c.id == invoice_id)
        .values(status="paid", next_retry_at=None)
    )
    return [
        InvoicePaid(invoice_id=invoice_id, number=row["number"], customer_id=row["customer_id"])
    ]


def get(session: Session, invoice_id: str) -> dict[str, Any] | None:
    row = session.execute(select(invoices).where(invoices.c.id == invoice_id)).one_or_none()
    return dict(row._mapping) if row is not None else None
