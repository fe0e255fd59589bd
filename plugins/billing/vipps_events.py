"""Applying Vipps MobilePay ePayment webhooks to the ledger, exactly once and in any order.

A Vipps event names the payment (`reference`), what happened (`name`: CREATED,
AUTHORIZED, CAPTURED, REFUNDED, CANCELLED, ABORTED, EXPIRED, TERMINATED), the amount of
that operation and the `idempotencyKey` of the request that caused it. Captures and refunds
are booked under that key (the one we sent, so our own API answer and the webhook book one
row between them) or, for operations we did not ask for, under the event's `pspReference`.
The payment's state only moves forward: CREATED < AUTHORIZED < ABORTED/EXPIRED/TERMINATED.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mindframe.sdk import Event

from . import ledger
from .events import PaymentFailed, PaymentRefunded, PaymentSucceeded
from .models import payments

STATE_RANK = {"CREATED": 0, "AUTHORIZED": 1, "ABORTED": 2, "EXPIRED": 2, "TERMINATED": 2}
EVENT_STATE = {
    "AUTHORIZED": "AUTHORIZED",
    "ABORTED": "ABORTED",
    "EXPIRED": "EXPIRED",
    "TERMINATED": "TERMINATED",
    "CANCELLED": "TERMINATED",
}
MONEY_KINDS = {"CAPTURED": ledger.PAYMENT, "REFUNDED": ledger.REFUND}


def event_id(event: dict[str, Any]) -> str:
    """The delivery's identity: Vipps gives each operation its own pspReference, the same
    on every redelivery of its webhook."""
    return f"{event['reference']}:{event['name']}:{event['pspReference']}"


def money_source(reference: str, kind: str, key: str) -> str:
    """The journal source of a capture or refund made with idempotency key `key`."""
    return f"vipps:{reference}:{kind}:{key}"


def apply(session: Session, event: dict[str, Any]) -> list[Event]:
    row = session.execute(
        select(payments).where(
            payments.c.provider == "vipps", payments.c.provider_ref == event["reference"]
        )
    ).one_or_none()
    if row is None or not event.get("success", True):
        return []  # not ours, or an operation that failed: nothing moved
    payment = dict(row._mapping)
    name, amount = event["name"], int(event["amount"]["value"])
    found: list[Event] = []
    state = EVENT_STATE.get(name)
    if state and STATE_RANK[state] > STATE_RANK.get(payment["state"], 0):
        values: dict[str, Any] = {"state": state, "updated_at": ledger.now()}
        if state == "AUTHORIZED":
            values["authorized"] = amount
        session.execute(update(payments).where(payments.c.id == payment["id"]).values(**values))
        if state in ("ABORTED", "EXPIRED"):
            found.append(
                PaymentFailed(
                    payment_id=payment["id"],
                    customer_id=payment["customer_id"],
                    provider="vipps",
                    reason=name.lower(),
                )
            )
    kind = MONEY_KINDS.get(name)
    if kind is not None and payment["customer_id"] is not None:
        key = event.get("idempotencyKey") or event["pspReference"]
        booked = ledger.book(
            session,
            customer_id=payment["customer_id"],
            kind=kind,
            source=money_source(event["reference"], kind, key),
            amount=-amount if kind == ledger.PAYMENT else amount,
            currency=event["amount"]["currency"],
            invoice_id=payment["invoice_id"],
            payment_id=payment["id"],
            cause=event_id(event),
        )
        if booked:
            found.append(money_event(payment, kind, amount, event["amount"]["currency"]))
    return found


def money_event(payment: dict[str, Any], kind: str, amount: int, currency: str) -> Event:
    if kind == ledger.PAYMENT:
        return PaymentSucceeded(
            payment_id=payment["id"],
            customer_id=payment["customer_id"],
            provider="vipps",
            amount=amount,
            currency=currency,
        )
    return PaymentRefunded(
        payment_id=payment["id"],
        customer_id=payment["customer_id"],
        amount=amount,
        currency=currency,
    )
