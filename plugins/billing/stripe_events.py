"""Applying Stripe's events to the ledger, so that any number of deliveries, in any order,
leave it as one delivery of each in order would.

How: money is booked under the provider's id of the movement (a PaymentIntent, a refund),
so a second report of it books nothing (`ledger.book`); states only move forward by rank
(a late `payment_failed` never undoes a success); a subscription takes an event's state
only if the event is newer (`created`) than the last one applied to it. Runs inside the
transaction that stores the webhook; returns the bus events to publish after commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from mindframe.sdk import Event, direct_sql

from . import invoices, ledger
from .events import (
    InvoiceFinalised,
    InvoicePaymentFailed,
    PaymentFailed,
    PaymentRefunded,
    PaymentSucceeded,
    SubscriptionCancelled,
    SubscriptionCreated,
    SubscriptionUpdated,
)
from .models import customers, payments, subscriptions
from .models import invoices as invoice_table
from .settings import BillingSettings

PAYMENT_RANK = {
    "created": 0,
    "requires_payment_method": 1,
    "requires_confirmation": 1,
    "requires_action": 1,
    "processing": 2,
    "failed": 3,
    "canceled": 3,
    "succeeded": 4,
}
SUBSCRIPTION_STATUS = {"canceled": "cancelled", "incomplete_expired": "cancelled"}
METADATA_CUSTOMER, METADATA_PAYMENT = "mindframe_customer_id", "mindframe_payment_id"
PERIOD_INVOICES = frozenset({"subscription_create", "subscription_cycle"})
"""Stripe's `billing_reason` of an invoice for a subscription's period (the first, or a
renewal): the customer's invoice for it is ours, so we mail it as we mail those we
finalise ourselves."""

Applier = Callable[[Session, dict[str, Any], int, str, BillingSettings], list[Event]]


def issued_an_invoice(found: list[Event]) -> bool:
    """Whether applying an event numbered an invoice of ours (which may wait in the mail
    outbox): the `mail` job should run now rather than at its next interval."""
    return any(type(event) is InvoiceFinalised for event in found)


def apply(session: Session, event: dict[str, Any], settings: BillingSettings) -> list[Event]:
    """Apply one verified Stripe event; events of other types are stored and ignored."""
    applier = APPLIERS.get(event["type"])
    if applier is None:
        return []
    return applier(session, event["data"]["object"], int(event["created"]), event["id"], settings)


# --- lookups -----------------------------------------------------------------------------


CUSTOMER_BY_ID = select(customers).where(customers.c.id == bindparam("id"))
CUSTOMER_BY_STRIPE_ID = select(customers).where(customers.c.stripe_customer_id == bindparam("id"))
PAYMENT_BY_ID = select(payments).where(payments.c.id == bindparam("id"))
PAYMENT_BY_REF = select(payments).where(payments.c.provider_ref == bindparam("ref"))
SET_PAYMENT = update(payments).where(payments.c.id == bindparam("payment"))
INSERT_PAYMENT = insert(payments)
SUCCEED_OURS = (
    update(payments)
    .where(payments.c.id == bindparam("payment"), payments.c.state != "succeeded")
    .values(
        state="succeeded",
        updated_at=bindparam("now"),
        provider_ref=func.coalesce(payments.c.provider_ref, bindparam("ref")),
    )
    .returning(*payments.c)
)
"""Statements of the webhook path, built once and run through `direct_sql`: building and
executing them the usual way cost more CPU than SQLite spends running them."""


def _customer(session: Session, obj: dict[str, Any]) -> dict[str, Any] | None:
    metadata = obj.get("metadata") or {}
    wanted = metadata.get(METADATA_CUSTOMER) or obj.get("client_reference_id")
    if wanted:
        row = direct_sql.one_or_none(session, CUSTOMER_BY_ID, {"id": wanted})
        if row is not None:
            if obj.get("customer") and not row["stripe_customer_id"]:
                session.execute(
                    update(customers)
                    .where(customers.c.id == row["id"])
                    .values(stripe_customer_id=obj["customer"])
                )
            return row
    if obj.get("customer"):
        return direct_sql.one_or_none(session, CUSTOMER_BY_STRIPE_ID, {"id": obj["customer"]})
    return None


def _payment(session: Session, intent: dict[str, Any], state: str) -> tuple[dict[str, Any], bool]:
    """Our payment for a PaymentIntent, moved forward to `state`: found by the id we put in
    its metadata (so a webhook that overtakes the API answer still finds it) or by its id,
    or a new row for one made at Stripe (a subscription's renewal). Returns the payment and
    whether its state moved."""
    wanted = (intent.get("metadata") or {}).get(METADATA_PAYMENT)
    row = None
    if wanted and state == "succeeded":
        # the common case in one statement: our payment, not yet succeeded, learns its
        # PaymentIntent's id unless it knew it already. A Checkout payment learns it only
        # here and saves a second UPDATE; one made through our API knew it, and SQLite
        # rewrites its provider_ref index entry all the same (one page more in the commit)
        params = {"payment": wanted, "now": ledger.now(), "ref": intent["id"]}
        moved = direct_sql.one_or_none(session, SUCCEED_OURS, params)
        if moved is not None:
            return moved, True
    if wanted:
        row = direct_sql.one_or_none(session, PAYMENT_BY_ID, {"id": wanted})
    if row is None:
        row = direct_sql.one_or_none(session, PAYMENT_BY_REF, {"ref": intent["id"]})
    if row is not None:
        payment = row
        changes: dict[str, Any] = {}
        if payment["provider_ref"] is None:
            changes["provider_ref"] = payment["provider_ref"] = intent["id"]
        moved = PAYMENT_RANK.get(state, 0) > PAYMENT_RANK.get(payment["state"], 0)
        if moved:
            changes["state"] = payment["state"] = state
        if changes:
            session.execute(
                SET_PAYMENT, {"payment": payment["id"], "updated_at": ledger.now(), **changes}
            )
        return payment, moved
    customer = _customer(session, intent)
    payment = {
        "id": wanted or ledger.new_id(),
        "customer_id": customer["id"] if customer else None,
        "invoice_id": None,
        "provider": "stripe",
        "provider_ref": intent["id"],
        "amount": int(intent.get("amount") or 0),
        "currency": str(intent.get("currency", "")).upper(),
        "state": state,
        "authorized": 0,
        "redirect_url": None,
        "created_at": ledger.now(),
        "updated_at": ledger.now(),
    }
    direct_sql.rowcount(session, INSERT_PAYMENT, payment)
    return payment, True


def _book_payment(
    session: Session, payment: dict[str, Any], source: str, amount: int, currency: str, cause: str
) -> bool:
    if payment["customer_id"] is None:
        return False  # unknown to us: reconciliation reports it
    return ledger.book(
        session,
        customer_id=payment["customer_id"],
        kind=ledger.PAYMENT,
        source=source,
        amount=-amount,
        currency=currency,
        invoice_id=payment.get("invoice_id"),
        payment_id=payment["id"],
        cause=cause,
    )


def _mark_invoice_paid(session: Session, invoice_id: str | None) -> list[Event]:
    return invoices.mark_paid(session, invoice_id)


# --- appliers ----------------------------------------------------------------------------


def payment_intent_succeeded(
    session: Session, intent: dict[str, Any], created: int, cause: str, settings: BillingSettings
) -> list[Event]:
    payment, moved = _payment(session, intent, "succeeded")
    received = int(intent.get("amount_received") or intent.get("amount") or 0)
    currency = str(intent["currency"]).upper()
    booked = _book_payment(session, payment, intent["id"], received, currency, cause)
    found: list[Event] = []
    if moved or booked:
        found.append(
            PaymentSucceeded(
                payment_id=payment["id"],
                customer_id=payment["customer_id"],
                provider="stripe",
                amount=received,
                currency=currency,
            )
        )
    return found + _mark_invoice_paid(session, payment.get("invoice_id"))


def payment_intent_failed(
    session: Session, intent: dict[str, Any], created: int, cause: str, settings: BillingSettings
) -> list[Event]:
    payment, moved = _payment(session, intent, "failed")
    if not moved:
        return []
    error = intent.get("last_payment_error") or {}
    return [
        PaymentFailed(
            payment_id=payment["id"],
            customer_id=payment["customer_id"],
            provider="stripe",
            reason=error.get("code"),
        )
    ]


def charge_refunded(
    session: Session, charge: dict[str, Any], created: int, cause: str, settings: BillingSettings
) -> list[Event]:
    intent_id = charge.get("payment_intent")
    if not intent_id:
        return []
    payment, _ = _payment(
        session,
        {
            "id": intent_id,
            "amount": charge.get("amount"),
            "currency": charge.get("currency"),
            "customer": charge.get("customer"),
            "metadata": charge.get("metadata") or {},
        },
        "succeeded",  # a refunded charge was paid
    )
    if payment["customer_id"] is None:
        return []
    found: list[Event] = []
    for refund in (charge.get("refunds") or {}).get("data", []):
        if refund.get("status") != "succeeded":
            continue
        booked = ledger.book(
            session,
            customer_id=payment["customer_id"],
            kind=ledger.REFUND,
            source=refund["id"],
            amount=int(refund["amount"]),
            currency=str(charge["currency"]).upper(),
            invoice_id=payment.get("invoice_id"),
            payment_id=payment["id"],
            cause=cause,
        )
        if booked:
            found.append(
                PaymentRefunded(
                    payment_id=payment["id"],
                    customer_id=payment["customer_id"],
                    amount=int(refund["amount"]),
                    currency=str(charge["currency"]).upper(),
                )
            )
    return found


def checkout_completed(
    session: Session, checkout: dict[str, Any], created: int, cause: str, settings: BillingSettings
) -> list[Event]:
    customer = _customer(session, checkout)
    if checkout.get("mode") == "subscription" and checkout.get("subscription"):
        metadata = checkout.get("metadata") or {}
        return _upsert_subscription(
            session,
            {
                "id": checkout["subscription"],
                "customer": checkout.get("customer"),
                "status": "active",
                "metadata": metadata,
            },
            customer,
            version=0,  # any subscription event tells more than the checkout does
        )
    if checkout.get("mode") == "payment" and checkout.get("payment_status") == "paid":
        intent = {
            "id": checkout["payment_intent"],
            "amount": checkout.get("amount_total"),
            "amount_received": checkout.get("amount_total"),
            "currency": checkout["currency"],
            "customer": checkout.get("customer"),
            "metadata": checkout.get("metadata") or {},
        }
        return payment_intent_succeeded(session, intent, created, cause, settings)
    return []


def _timestamp(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def _upsert_subscription(
    session: Session,
    obj: dict[str, Any],
    customer: dict[str, Any] | None,
    version: int,
    deleted: bool = False,
) -> list[Event]:
    status = "cancelled" if deleted else SUBSCRIPTION_STATUS.get(obj["status"], obj["status"])
    items = (obj.get("items") or {}).get("data") or [{}]
    values = {
        "status": status,
        "cancel_at_period_end": bool(obj.get("cancel_at_period_end")),
        "current_period_end": _timestamp(
            obj.get("current_period_end") or items[0].get("current_period_end")
        ),
        "trial_end": _timestamp(obj.get("trial_end")),
        "seats": int(items[0].get("quantity") or 1),
        "provider_version": version,
    }
    row = session.execute(
        select(subscriptions).where(subscriptions.c.provider_ref == obj["id"])
    ).one_or_none()
    customer_id = customer["id"] if customer else None
    if row is None:
        subscription_id = ledger.new_id()
        session.execute(
            insert(subscriptions).values(
                id=subscription_id,
                customer_id=customer_id,
                plan_id=(obj.get("metadata") or {}).get("mindframe_plan_id"),
                provider="stripe",
                provider_ref=obj["id"],
                created_at=ledger.now(),
                **values,
            )
        )
        created: list[Event] = [
            SubscriptionCreated(
                subscription_id=subscription_id, customer_id=customer_id, status=status
            )
        ]
        if deleted:
            created.append(
                SubscriptionCancelled(subscription_id=subscription_id, customer_id=customer_id)
            )
        return created
    # a deletion is final; a checkout (version 0) tells less than any subscription event;
    # otherwise the newer event wins (at the same version, the one delivered later)
    if row.status == "cancelled" or version == 0 or version < row.provider_version:
        return []
    customer_id = row.customer_id or customer_id
    session.execute(
        update(subscriptions)
        .where(subscriptions.c.id == row.id)
        .values(customer_id=customer_id, **values)
    )
    if deleted:
        return [SubscriptionCancelled(subscription_id=row.id, customer_id=customer_id)]
    return [
        SubscriptionUpdated(
            subscription_id=row.id,
            customer_id=customer_id,
            status=status,
            cancel_at_period_end=values["cancel_at_period_end"],
        )
    ]


def _version(created: int, kind: str) -> int:
    """Order of subscription events: by `created` (seconds), then created < updated < deleted
    within one second."""
    return created * 4 + ("created", "updated", "deleted").index(kind) + 1


def subscription_created(
    session: Session, obj: dict[str, Any], created: int, cause: str, settings: BillingSettings
) -> list[Event]:
    version = _version(created, "created")
    return _upsert_subscription(session, obj, _customer(session, obj), version)


def subscription_updated(
    session: Session, obj: dict[str, Any], created: int, cause: str, settings: BillingSettings
) -> list[Event]:
    version = _version(created, "updated")
    return _upsert_subscription(session, obj, _customer(session, obj), version)


def subscription_deleted(
    session: Session, obj: dict[str, Any], created: int, cause: str, settings: BillingSettings
) -> list[Event]:
    version = _version(created, "deleted")
    return _upsert_subscription(session, obj, _customer(session, obj), version, deleted=True)


def _our_invoice(
    session: Session, stripe_invoice: dict[str, Any], settings: BillingSettings
) -> tuple[dict[str, Any] | None, list[Event]]:
    """Our numbered invoice for a Stripe invoice, drafted and finalised on first sight
    (whichever of its events comes first), from the amount Stripe charged; a period's
    invoice goes into the mail outbox in that transaction, so it is mailed once."""
    row = session.execute(
        select(invoice_table).where(invoice_table.c.provider_ref == stripe_invoice["id"])
    ).one_or_none()
    if row is not None:
        return dict(row._mapping), []
    customer = _customer(session, stripe_invoice)
    if customer is None:
        return None, []
    subscription = session.execute(
        select(subscriptions.c.id).where(
            subscriptions.c.provider_ref == stripe_invoice.get("subscription")
        )
    ).scalar_one_or_none()
    lines = (stripe_invoice.get("lines") or {}).get("data") or [{}]
    invoice_id = invoices.draft_from_gross(
        session,
        customer,
        lines[0].get("description") or "Subscription",
        int(stripe_invoice.get("amount_due") or stripe_invoice.get("total") or 0),
        str(stripe_invoice["currency"]).upper(),
        settings.seller_country,
        subscription_id=subscription,
        provider_ref=stripe_invoice["id"],
    )
    row = invoices.finalise(
        session,
        invoice_id,
        settings.invoice_series,
        settings.invoice_due_days,
        mail=stripe_invoice.get("billing_reason") in PERIOD_INVOICES,
    )
    return row, [
        InvoiceFinalised(
            invoice_id=invoice_id,
            number=row["number"],
            customer_id=row["customer_id"],
            total=row["total"],
            currency=row["currency"],
        )
    ]


def invoice_paid(
    session: Session, obj: dict[str, Any], created: int, cause: str, settings: BillingSettings
) -> list[Event]:
    invoice, found = _our_invoice(session, obj, settings)
    if invoice is None:
        return found
    source = obj.get("payment_intent") or f"{obj['id']}:paid"
    ledger.book(
        session,
        customer_id=invoice["customer_id"],
        kind=ledger.PAYMENT,
        source=source,
        amount=-int(obj.get("amount_paid") or 0),
        currency=str(obj["currency"]).upper(),
        invoice_id=invoice["id"],
        cause=cause,
    )
    return found + _mark_invoice_paid(session, invoice["id"])


def invoice_payment_failed(
    session: Session, obj: dict[str, Any], created: int, cause: str, settings: BillingSettings
) -> list[Event]:
    invoice, found = _our_invoice(session, obj, settings)
    if invoice is None or invoice["status"] in ("paid", "void", "uncollectible"):
        return found
    attempt = max(int(obj.get("attempt_count") or 1), invoice["dunning_attempts"])
    if attempt <= invoice["dunning_attempts"]:
        return found  # this failure, or a later one, is already known
    session.execute(
        update(invoice_table)
        .where(invoice_table.c.id == invoice["id"])
        .values(dunning_attempts=attempt, next_retry_at=None)
    )
    return [
        *found,
        InvoicePaymentFailed(
            invoice_id=invoice["id"], customer_id=invoice["customer_id"], attempt=attempt
        ),
    ]


APPLIERS: dict[str, Applier] = {
    "checkout.session.completed": checkout_completed,
    "payment_intent.succeeded": payment_intent_succeeded,
    "payment_intent.payment_failed": payment_intent_failed,
    "invoice.paid": invoice_paid,
    "invoice.payment_failed": invoice_payment_failed,
    "customer.subscription.created": subscription_created,
    "customer.subscription.updated": subscription_updated,
    "customer.subscription.deleted": subscription_deleted,
    "charge.refunded": charge_refunded,
}
"""The events that move money or subscriptions."""
