"""Reconciliation: our ledger against the providers' own objects, through the same clients.

Reports every difference (nothing is changed: a person decides): a payment the provider
has and we do not, amounts captured or refunded that differ, a state that differs, a
subscription whose status differs, and what we hold that the provider does not know. For
Vipps, ePayments and recurring agreements are apart: each agreement's status, and each
charge's status and amount against the payment row it was made for.
Run by the `reconcile` singleton job and by `mindframe billing reconcile`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import ledger
from .models import invoices, payments, subscriptions, vipps_agreements
from .service import BillingService
from .stripe_events import SUBSCRIPTION_STATUS
from .stripe_gateway import ProviderError


@dataclass(frozen=True)
class Difference:
    provider: str
    object_id: str
    field: str
    ours: Any
    theirs: Any

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def reconcile(service: BillingService) -> list[Difference]:
    found: list[Difference] = []
    settings = service.settings
    if settings.stripe_api_key.get_secret_value():
        found += await _stripe(service)
    if settings.vipps_client_id.get_secret_value():
        found += await _vipps(service)
    return found


async def _stripe(service: BillingService) -> list[Difference]:
    ours = await service.transaction(_payments_of, "stripe", read_only=True)
    found: list[Difference] = []
    refunded: dict[str, int] = defaultdict(int)
    async for refund in service.stripe.refunds():
        if refund.status == "succeeded" and refund.payment_intent:
            refunded[refund.payment_intent] += refund.amount
    seen: set[str] = set()
    async for intent in service.stripe.payment_intents():
        seen.add(intent.id)
        mine = ours.get(intent.id)
        captured = intent.amount_received if intent.status == "succeeded" else 0
        if mine is None:
            if captured:
                found.append(Difference("stripe", intent.id, "payment", None, captured))
            continue
        if mine["captured"] != captured:
            found.append(Difference("stripe", intent.id, "captured", mine["captured"], captured))
        if mine["refunded"] != refunded[intent.id]:
            found.append(
                Difference("stripe", intent.id, "refunded", mine["refunded"], refunded[intent.id])
            )
    for reference, mine in ours.items():
        if reference not in seen:
            found.append(Difference("stripe", reference, "payment", mine["captured"], None))
    statuses = await service.transaction(_subscription_statuses, read_only=True)
    async for subscription in service.stripe.subscriptions():
        theirs = SUBSCRIPTION_STATUS.get(subscription.status, subscription.status)
        if statuses.get(subscription.id) != theirs:
            found.append(
                Difference(
                    "stripe", subscription.id, "status", statuses.get(subscription.id), theirs
                )
            )
    return found


async def _vipps(service: BillingService) -> list[Difference]:
    found: list[Difference] = []
    charges = await service.transaction(_charges, read_only=True)
    epayments = await service.transaction(_payments_of, "vipps", read_only=True)
    for reference, mine in epayments.items():
        if reference in charges:
            continue
        try:
            live = await service.vipps.get(reference)
        except ProviderError as error:
            found.append(Difference("vipps", reference, "payment", mine["state"], str(error)))
            continue
        aggregate = live.get("aggregate") or {}
        for field, amount in (("captured", "capturedAmount"), ("refunded", "refundedAmount")):
            theirs = int((aggregate.get(amount) or {}).get("value", 0))
            if mine[field] != theirs:
                found.append(Difference("vipps", reference, field, mine[field], theirs))
        if mine["state"] != live.get("state"):
            found.append(Difference("vipps", reference, "state", mine["state"], live.get("state")))
    return found + await _vipps_recurring(service, charges)


# a charge Vipps has not settled yet is one our payment row still calls PENDING
CHARGE_STATUS = {"DUE": "PENDING", "PROCESSING": "PENDING"}


async def _vipps_recurring(
    service: BillingService, charges: dict[str, dict[str, Any]]
) -> list[Difference]:
    found: list[Difference] = []
    gateway = service.recurring.gateway
    for agreement_id, status in (
        await service.transaction(_agreement_statuses, read_only=True)
    ).items():
        try:
            live = await gateway.agreement(agreement_id)
        except ProviderError as error:
            found.append(Difference("vipps", agreement_id, "agreement", status, str(error)))
            continue
        if live.get("status") != status:
            found.append(Difference("vipps", agreement_id, "status", status, live.get("status")))
    for charge_id, mine in charges.items():
        try:
            live = await gateway.get_charge(mine["agreement_id"], charge_id)
        except ProviderError as error:
            found.append(Difference("vipps", charge_id, "charge", mine["state"], str(error)))
            continue
        theirs = CHARGE_STATUS.get(live.get("status"), live.get("status"))
        if mine["state"] != theirs:
            found.append(Difference("vipps", charge_id, "state", mine["state"], theirs))
        if mine["amount"] != int(live.get("amount") or 0):
            found.append(Difference("vipps", charge_id, "amount", mine["amount"], live["amount"]))
    return found


def _payments_of(session: Session, provider: str) -> dict[str, dict[str, Any]]:
    rows = session.execute(
        select(payments).where(
            payments.c.provider == provider, payments.c.provider_ref.is_not(None)
        )
    )
    found = {}
    for row in rows:
        captured, refunded = ledger.payment_totals(session, row.id)
        found[row.provider_ref] = {"state": row.state, "captured": captured, "refunded": refunded}
    return found


def _agreement_statuses(session: Session) -> dict[str, str]:
    rows = session.execute(select(vipps_agreements.c.id, vipps_agreements.c.status))
    return {agreement_id: status for agreement_id, status in rows}


def _charges(session: Session) -> dict[str, dict[str, Any]]:
    """Our payments sent as charges on an agreement, by charge id."""
    rows = session.execute(
        select(
            payments.c.provider_ref,
            payments.c.state,
            payments.c.amount,
            vipps_agreements.c.id.label("agreement_id"),
        )
        .join(invoices, invoices.c.id == payments.c.invoice_id)
        .join(vipps_agreements, vipps_agreements.c.subscription_id == invoices.c.subscription_id)
        .where(payments.c.provider == "vipps", payments.c.provider_ref.is_not(None))
    )
    return {row.provider_ref: dict(row._mapping) for row in rows}


def _subscription_statuses(session: Session) -> dict[str, str]:
    rows = session.execute(
        select(subscriptions.c.provider_ref, subscriptions.c.status).where(
            subscriptions.c.provider == "stripe"
        )
    )
    return {reference: status for reference, status in rows}
