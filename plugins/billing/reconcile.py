"""Reconciliation: our ledger against the providers' own objects, through the same clients.

Reports every difference (nothing is changed: a person decides): a payment the provider
has and we do not, amounts captured or refunded that differ, a state that differs, a
subscription whose status differs, and what we hold that the provider does not know.
Run by the `reconcile` singleton job and by `mindframe billing reconcile`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import ledger
from .models import payments, subscriptions
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
    ours = await service.transaction(_payments_of, "stripe")
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
    statuses = await service.transaction(_subscription_statuses)
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
    for reference, mine in (await service.transaction(_payments_of, "vipps")).items():
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


def _subscription_statuses(session: Session) -> dict[str, str]:
    rows = session.execute(
        select(subscriptions.c.provider_ref, subscriptions.c.status).where(
            subscriptions.c.provider == "stripe"
        )
    )
    return {reference: status for reference, status in rows}
