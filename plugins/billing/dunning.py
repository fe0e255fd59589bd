"""Dunning, the `dunning` singleton job: after each failed renewal ask the `DunningPolicy`
what to do, mail the customer in their locale, and retry the invoice when it is due.

A failure is recorded by the webhook that reports it (`dunning_attempts`); this job answers
each failure once (`dunning_decided`). The mail it asks for goes into the dunning mail
outbox in the transaction that records the step (`dunning_mail`), so neither a crash nor a
second decider of the same failure loses it or sends it twice. A
retry is `POST /v1/invoices/{id}/pay` with a key per attempt, or for a renewal charged
through a Vipps agreement a new charge on it; its outcome arrives as the next
`invoice.paid` or `invoice.payment_failed` webhook (Vipps: `recurring.charge-captured.v1` or
`recurring.charge-failed.v1`). Giving up stops the agreement or cancels at Stripe.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from mindframe.sdk import PluginContext, ServiceError
from mindframe.sdk.billing import DunningPolicy, FailedRenewal, ScheduledDunning

from . import ledger
from .events import SubscriptionCancelled
from .models import dunning_mail, invoices, subscriptions
from .notices import Notices
from .service import BillingService, operation_key
from .stripe_gateway import ProviderError

DEFAULT_POLICY = ScheduledDunning()


class Dunning:
    def __init__(self, ctx: PluginContext, service: BillingService, notices: Notices) -> None:
        self._ctx = ctx
        self._service = service
        self._notices = notices

    def policy(self) -> DunningPolicy:
        """Another plugin's `DunningPolicy` (the learning engine's) if one is provided."""
        try:
            return self._ctx.resolve(DunningPolicy)
        except ServiceError:
            return DEFAULT_POLICY

    async def run(self) -> None:
        for invoice in await self._ctx.transaction(_undecided, read_only=True):
            await self._decide(invoice)
        for invoice in await self._ctx.transaction(_due, ledger.now()):
            key = operation_key("dunning", invoice["id"], str(invoice["dunning_attempts"]))
            try:
                if invoice["provider_ref"] is None:  # a Vipps renewal: charge the agreement
                    await self._service.recurring.retry(invoice)
                else:
                    await self._service.stripe.pay_invoice(invoice["provider_ref"], key)
            except ProviderError as error:  # declined: the webhook records the failure
                self._ctx.log.info("billing: retry of %s refused: %s", invoice["number"], error)

    async def _decide(self, invoice: dict[str, Any]) -> None:
        subscription = invoice["subscription_id"]
        failure = FailedRenewal(
            subscription_id=subscription or "",
            invoice_id=invoice["id"],
            attempt=invoice["dunning_attempts"],
            failed_at=datetime.now(UTC),
            amount=invoice["total"],
            currency=invoice["currency"],
            country=invoice["buyer"].get("country") or "",
        )
        step = await self.policy().next_step(failure)
        recorded, ended = await self._ctx.transaction(
            _record_step, invoice["id"], invoice["dunning_attempts"], step.retry_at, step.notify
        )
        if not recorded:  # another run decided this failure already
            return
        if step.notify:
            self._service.wake("mail")
        if ended is not None:
            reference, customer_id = ended
            if reference:
                key = operation_key("dunning-cancel", invoice["id"])
                try:
                    if reference.startswith("agr_"):  # a Vipps agreement: stop it
                        await self._service.recurring.gateway.stop(reference, key)
                    else:
                        await self._service.stripe.cancel_subscription(reference, key)
                except ProviderError as error:
                    self._ctx.log.warning("billing: cancelling %s failed: %s", reference, error)
            await self._ctx.publish(
                SubscriptionCancelled(subscription_id=subscription, customer_id=customer_id)
            )


def _undecided(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(invoices).where(
            invoices.c.status == "open", invoices.c.dunning_attempts > invoices.c.dunning_decided
        )
    )
    return [dict(row._mapping) for row in rows]


def _due(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Invoices whose retry is due, each claimed (its retry time cleared) in this commit."""
    ours = select(subscriptions.c.id).where(subscriptions.c.provider == "vipps")
    rows = [
        dict(row._mapping)
        for row in session.execute(
            select(invoices).where(
                invoices.c.status == "open",
                invoices.c.next_retry_at.is_not(None),
                invoices.c.next_retry_at <= now,
                # a Stripe invoice, or a renewal of a subscription we charge ourselves
                or_(invoices.c.provider_ref.is_not(None), invoices.c.subscription_id.in_(ours)),
            )
        )
    ]
    for row in rows:
        session.execute(
            update(invoices).where(invoices.c.id == row["id"]).values(next_retry_at=None)
        )
    return rows


def _record_step(
    session: Session, invoice_id: str, attempt: int, retry_at: datetime | None, notify: bool
) -> tuple[bool, tuple[str | None, str | None] | None]:
    """Store the decision, unless this attempt was decided already (then False), with its
    mail in the outbox when the policy asks for one. When it gives up, the invoice is
    uncollectible and its subscription cancelled: (the provider's subscription id, the
    customer) is returned too."""
    values: dict[str, Any] = {"dunning_decided": attempt, "next_retry_at": retry_at}
    if retry_at is None:
        values["status"] = "uncollectible"
    undecided = (invoices.c.id == invoice_id) & (invoices.c.dunning_decided < attempt)
    if session.execute(update(invoices).where(undecided).values(**values)).rowcount == 0:
        return False, None
    if notify:
        step = {"invoice_id": invoice_id, "attempt": attempt, "retry_at": retry_at}
        session.execute(insert(dunning_mail).values(**step, queued_at=ledger.now()))
    if retry_at is not None:
        return True, None
    invoice = session.execute(select(invoices).where(invoices.c.id == invoice_id)).one()
    if invoice.subscription_id is None:
        return True, (None, invoice.customer_id)
    session.execute(
        update(subscriptions)
        .where(subscriptions.c.id == invoice.subscription_id)
        .values(status="cancelled")
    )
    reference = session.execute(
        select(subscriptions.c.provider_ref).where(subscriptions.c.id == invoice.subscription_id)
    ).scalar_one_or_none()
    return True, (reference, invoice.customer_id)
