"""Applying Vipps MobilePay Recurring API webhooks to the ledger, exactly once.

Agreement events (`recurring.agreement-activated|stopped|expired.v1`) move our agreement
forward only (PENDING < ACTIVE < STOPPED/EXPIRED) and its subscription with it: activation
makes the first period due at once; a stop or expiry cancels the subscription. Charge events
(`recurring.charge-captured|failed.v1`) name the charge and our payment
(`chargeExternalId`): a capture books the payment under the charge id and pays the invoice;
a failure counts one failed collection on the invoice, so the dunning job takes it from
there as for Stripe. The inbox stores each delivery under `event_id` (the event type, the
agreement and the charge), so a redelivery changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mindframe.sdk import Event

from . import invoices, ledger
from .events import (
    InvoicePaymentFailed,
    PaymentFailed,
    PaymentSucceeded,
    SubscriptionCancelled,
    SubscriptionUpdated,
)
from .models import invoices as invoice_table
from .models import payments, subscriptions, vipps_agreements

PREFIX = "recurring."
AGREEMENT_RANK = {"PENDING": 0, "ACTIVE": 1, "STOPPED": 2, "EXPIRED": 2}
AGREEMENT_EVENTS = {
    "recurring.agreement-activated.v1": "ACTIVE",
    "recurring.agreement-rejected.v1": "STOPPED",
    "recurring.agreement-stopped.v1": "STOPPED",
    "recurring.agreement-expired.v1": "EXPIRED",
}
CAPTURED, FAILED = "recurring.charge-captured.v1", "recurring.charge-failed.v1"
ACTIVATED = "recurring.agreement-activated.v1"


def made_a_period_due(event_type: str, found: list[Event]) -> bool:
    """Whether applying this event activated a subscription, so its first period is due:
    the `renewals` job should invoice and charge it now rather than at its next run."""
    return event_type == ACTIVATED and bool(found)


def is_recurring(event: dict[str, Any]) -> bool:
    return str(event.get("eventType", "")).startswith(PREFIX)


def event_id(event: dict[str, Any]) -> str:
    """One agreement is activated once and one charge captured or failed once: the event
    type with the agreement and the charge is the same on every redelivery. Raises
    KeyError, TypeError or ValueError for an event without what applying it reads."""
    charge = ""
    if event["eventType"] in (CAPTURED, FAILED):
        charge = event["chargeId"]
        if not isinstance(charge, str) or int(event["amount"]) < 0:
            raise ValueError("a charge event needs chargeId and amount")
    return f"{event['eventType']}:{event['agreementId']!s}:{charge}"


def charge_source(charge_id: str) -> str:
    """The journal source of what a charge collected."""
    return f"vipps-charge:{charge_id}"


def apply(session: Session, event: dict[str, Any]) -> list[Event]:
    kind = event["eventType"]
    if kind in AGREEMENT_EVENTS:
        return _agreement(session, event["agreementId"], AGREEMENT_EVENTS[kind])
    if kind in (CAPTURED, FAILED):
        payment = _payment(session, event)
        if payment is None:
            return []  # not a charge of ours
        if kind == CAPTURED:
            return _captured(session, payment, event)
        return _failed(session, payment, event)
    return []  # reserved, cancelled, …: nothing moves in the ledger for DIRECT_CAPTURE


def _agreement(session: Session, agreement_id: str, status: str) -> list[Event]:
    row = session.execute(
        select(vipps_agreements).where(vipps_agreements.c.id == agreement_id)
    ).one_or_none()
    if row is None or AGREEMENT_RANK[status] <= AGREEMENT_RANK.get(row.status, 0):
        return []  # not ours, or already there (or past it)
    now = ledger.now()
    session.execute(
        update(vipps_agreements)
        .where(vipps_agreements.c.id == agreement_id)
        .values(status=status, updated_at=now)
    )
    subscription = session.execute(
        select(subscriptions).where(subscriptions.c.id == row.subscription_id)
    ).one()
    if status == "ACTIVE":
        if subscription.status != "incomplete":
            return []
        session.execute(
            update(subscriptions)
            .where(subscriptions.c.id == subscription.id)
            .values(status="active", current_period_end=now, period_anchor=now)  # due now
        )
        return [
            SubscriptionUpdated(
                subscription_id=subscription.id,
                customer_id=subscription.customer_id,
                status="active",
                cancel_at_period_end=False,
            )
        ]
    return cancel_subscription(session, subscription.id)


def cancel_subscription(session: Session, subscription_id: str) -> list[Event]:
    """Cancel the subscription (once); its event, or nothing when it was already."""
    row = session.execute(
        select(subscriptions).where(subscriptions.c.id == subscription_id)
    ).one_or_none()
    if row is None or row.status == "cancelled":
        return []
    session.execute(
        update(subscriptions)
        .where(subscriptions.c.id == subscription_id)
        .values(status="cancelled")
    )
    return [SubscriptionCancelled(subscription_id=subscription_id, customer_id=row.customer_id)]


def _payment(session: Session, event: dict[str, Any]) -> dict[str, Any] | None:
    """Our payment for the charge: by the external id we gave it, else by the charge id."""
    ours = event.get("chargeExternalId")
    condition = payments.c.id == ours if ours else payments.c.provider_ref == event["chargeId"]
    row = session.execute(
        select(payments).where(payments.c.provider == "vipps", condition)
    ).one_or_none()
    return dict(row._mapping) if row is not None else None


def _captured(session: Session, payment: dict[str, Any], event: dict[str, Any]) -> list[Event]:
    charge_id, amount = str(event["chargeId"]), int(event["amount"])
    session.execute(
        update(payments)
        .where(payments.c.id == payment["id"])
        .values(state="CHARGED", provider_ref=charge_id, updated_at=ledger.now())
    )
    booked = ledger.book(
        session,
        customer_id=payment["customer_id"],
        kind=ledger.PAYMENT,
        source=charge_source(charge_id),
        amount=-amount,
        currency=str(event.get("currency") or payment["currency"]),
        invoice_id=payment["invoice_id"],
        payment_id=payment["id"],
        cause=event_id(event),
    )
    if not booked:
        return []
    found: list[Event] = [
        PaymentSucceeded(
            payment_id=payment["id"],
            customer_id=payment["customer_id"],
            provider="vipps",
            amount=amount,
            currency=payment["currency"],
        ),
        *invoices.mark_paid(session, payment["invoice_id"]),
    ]
    subscription_id = _subscription_of(session, payment["invoice_id"])
    if subscription_id is not None:
        session.execute(
            update(subscriptions)
            .where(subscriptions.c.id == subscription_id, subscriptions.c.status == "past_due")
            .values(status="active")
        )
    return found


def _failed(session: Session, payment: dict[str, Any], event: dict[str, Any]) -> list[Event]:
    if payment["state"] in ("CHARGED", "FAILED"):
        return []  # a charge ends once
    session.execute(
        update(payments)
        .where(payments.c.id == payment["id"])
        .values(state="FAILED", provider_ref=str(event["chargeId"]), updated_at=ledger.now())
    )
    found: list[Event] = [
        PaymentFailed(
            payment_id=payment["id"],
            customer_id=payment["customer_id"],
            provider="vipps",
            reason=str(event.get("failureReason") or "failed"),
        )
    ]
    invoice = invoices.get(session, payment["invoice_id"]) if payment["invoice_id"] else None
    if invoice is None or invoice["status"] != "open":
        return found
    attempt = invoice["dunning_attempts"] + 1
    session.execute(
        update(invoice_table)
        .where(invoice_table.c.id == invoice["id"])
        .values(dunning_attempts=attempt, next_retry_at=None)
    )
    if invoice["subscription_id"] is not None:
        session.execute(
            update(subscriptions)
            .where(subscriptions.c.id == invoice["subscription_id"])
            .where(subscriptions.c.status == "active")
            .values(status="past_due")
        )
    found.append(
        InvoicePaymentFailed(
            invoice_id=invoice["id"], customer_id=invoice["customer_id"], attempt=attempt
        )
    )
    return found


def _subscription_of(session: Session, invoice_id: str | None) -> str | None:
    if invoice_id is None:
        return None
    return session.execute(
        select(invoice_table.c.subscription_id).where(invoice_table.c.id == invoice_id)
    ).scalar_one_or_none()
