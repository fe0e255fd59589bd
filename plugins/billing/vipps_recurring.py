"""Subscriptions paid through a Vipps MobilePay recurring agreement.

`subscribe` writes the subscription (`incomplete`) before asking Vipps for an agreement,
keyed by the subscription, so a retried call makes one agreement; with the agreement linked
it publishes `billing.subscription.created`, as a Stripe subscription's first webhook does.
The customer accepts it in the app; its `recurring.agreement-activated.v1` webhook makes the
first period due and wakes the `renewals` job, which invoices and charges it at once.

The `renewals` job then, for each active subscription whose period has ended, issues the
invoice (numbered, booked and put in the mail outbox) and a payment row and moves the
period on, in one transaction; and charges every payment not yet sent to Vipps, with an
`Idempotency-Key` made from the payment. A crash between the commit and the charge leaves
the payment unsent, and the next run sends it with the same key: Vipps makes one charge.
The charge's webhook pays the invoice or counts a failed collection for dunning, whose
retries come back here (`retry`) as a new charge under a key per attempt.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from mindframe.sdk import Event, PluginContext

from . import invoices, ledger, vipps_recurring_events
from .events import InvoiceFinalised, SubscriptionCreated
from .invoices import Line
from .keys import operation_key
from .models import invoices as invoice_table
from .models import payments, plans, subscriptions, vipps_agreements
from .settings import BillingSettings
from .vipps_recurring_gateway import VippsRecurringGateway


def next_period_end(end: datetime, interval: str, anchor: datetime | None = None) -> datetime:
    """The end of the period after the one that ends at `end`: a whole number of calendar
    months (or years) after `anchor`, when the first period began, on the anchor's day or the
    month's last day where the month is shorter. So a period begun on the 31st of January
    ends on the 28th of February and then on the 31st of March, not on the 28th ever after.
    Without an anchor (subscriptions from before it was kept), one month or year after `end`."""
    step = 12 if interval == "year" else 1
    start = anchor or end
    months = (end.year - start.year) * 12 + end.month - start.month
    months -= months % step
    while True:
        candidate = _months_after(start, months)
        if candidate > end:
            return candidate
        months += step


def _aware(moment: datetime | None, now: datetime) -> datetime | None:
    """`moment` with a zone (SQLite gives stored datetimes back without one)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=now.tzinfo)


def _months_after(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(
        year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1])
    )


class VippsRecurring:
    def __init__(self, ctx: PluginContext, gateway: VippsRecurringGateway) -> None:
        self._ctx = ctx
        self.gateway = gateway

    @property
    def settings(self) -> BillingSettings:
        return self._ctx.settings

    async def _publish(self, found: list[Event]) -> None:
        for event in found:
            await self._ctx.publish(event)

    async def subscribe(
        self, customer: dict[str, Any], plan: dict[str, Any], seats: int, phone: str | None
    ) -> dict[str, Any]:
        """A subscription waiting for its agreement: where to send the customer to accept."""
        quantity = seats if plan["pricing"] == "per_seat" else 1
        vat = invoices.customer_treatment(customer, self.settings.seller_country)
        net = plan["unit_amount"] * quantity
        subscription_id = ledger.new_id()
        await self._ctx.transaction(
            _insert,
            subscriptions,
            {
                "id": subscription_id,
                "customer_id": customer["id"],
                "plan_id": plan["id"],
                "seats": quantity,
                "status": "incomplete",
                "cancel_at_period_end": False,
                "current_period_end": None,
                "trial_end": None,
                "provider": "vipps",
                "provider_ref": None,
                "provider_version": 0,
                "created_at": ledger.now(),
            },
        )
        public_url = self.settings.public_url.rstrip("/")
        created = await self.gateway.create_agreement(
            key=operation_key("agreement", subscription_id),
            external_id=subscription_id,
            amount=net + vat.on(net),
            currency=plan["currency"],
            interval=plan["interval"],
            product=plan["name"],
            phone=phone,
            return_url=f"{public_url}/billing/subscriptions/{subscription_id}",
        )
        agreement_id = str(created["agreementId"])
        url = created.get("vippsConfirmationUrl")
        await self._ctx.transaction(
            _link_agreement, subscription_id, customer["id"], agreement_id, url
        )
        await self._publish(
            [
                SubscriptionCreated(
                    subscription_id=subscription_id,
                    customer_id=customer["id"],
                    status="incomplete",
                )
            ]
        )
        return {"subscription_id": subscription_id, "agreement_id": agreement_id, "url": url}

    async def run(self) -> None:
        """The `renewals` job: invoice every period that has ended, then charge."""
        now = ledger.now()
        for subscription_id in await self._ctx.transaction(_due_renewals, now, read_only=True):
            found = await self._ctx.transaction(
                _renew, subscription_id, now, self.settings.invoice_series, self.settings
            )
            await self._publish(found)
        await self.send_charges()

    async def send_charges(self) -> None:
        """Charge every renewal payment Vipps has not been asked for yet."""
        for payment in await self._ctx.transaction(_unsent, read_only=True):
            charge_id = await self.gateway.charge(
                payment["agreement_id"],
                key=operation_key("charge", payment["id"]),
                external_id=payment["id"],
                amount=payment["amount"],
                description=payment["description"],
                due=ledger.now().date(),
            )
            await self._ctx.transaction(_link_charge, payment["id"], charge_id)

    async def retry(self, invoice: dict[str, Any]) -> None:
        """Dunning's retry of a failed renewal: a new payment and charge for the invoice."""
        await self._ctx.transaction(_retry_payment, invoice)
        await self.send_charges()

    async def stop(self, subscription: dict[str, Any]) -> None:
        """Stop the agreement at Vipps, then cancel the subscription here."""
        agreement_id = subscription["provider_ref"]
        if agreement_id:
            await self.gateway.stop(agreement_id, operation_key("stop", agreement_id))
        found = await self._ctx.transaction(_stopped, subscription["id"], agreement_id)
        await self._publish(found)


# --- transactions ------------------------------------------------------------------------


def _insert(session: Session, table: Any, row: dict[str, Any]) -> None:
    session.execute(insert(table).values(**row))


def _link_agreement(
    session: Session, subscription_id: str, customer_id: str, agreement_id: str, url: str | None
) -> None:
    session.execute(
        update(subscriptions)
        .where(subscriptions.c.id == subscription_id)
        .values(provider_ref=agreement_id)
    )
    now = ledger.now()
    ledger.insert_once(
        session,
        vipps_agreements,
        {
            "id": agreement_id,
            "subscription_id": subscription_id,
            "customer_id": customer_id,
            "status": "PENDING",
            "confirmation_url": url,
            "created_at": now,
            "updated_at": now,
        },
    )


def _due_renewals(session: Session, now: datetime) -> list[str]:
    rows = session.execute(
        select(subscriptions.c.id)
        .join(vipps_agreements, vipps_agreements.c.subscription_id == subscriptions.c.id)
        .where(
            subscriptions.c.provider == "vipps",
            subscriptions.c.status == "active",
            subscriptions.c.current_period_end <= now,
            vipps_agreements.c.status == "ACTIVE",
        )
    )
    return [row.id for row in rows]


def _renew(
    session: Session, subscription_id: str, now: datetime, series: str, settings: BillingSettings
) -> list[Event]:
    """Invoice one ended period and move the period on; the payment waits to be charged.
    Claimed by moving the period's end first, only from the end this run read: a second
    run (the job woken by an activation beside a scheduled one) moves nothing and stops."""
    subscription = session.execute(
        select(subscriptions).where(subscriptions.c.id == subscription_id)
    ).one()
    if subscription.status != "active" or subscription.current_period_end is None:
        return []
    period_end = _aware(subscription.current_period_end, now)
    if period_end is None or period_end > now:
        return []
    plan = session.execute(select(plans).where(plans.c.id == subscription.plan_id)).one()
    claimed = session.execute(
        update(subscriptions)
        .where(
            subscriptions.c.id == subscription_id,
            subscriptions.c.status == "active",
            subscriptions.c.current_period_end == subscription.current_period_end,
        )
        .values(
            current_period_end=next_period_end(
                period_end, plan.interval, _aware(subscription.period_anchor, now)
            )
        )
    ).rowcount
    if not claimed:
        return []
    invoice_id = invoices.draft(
        session,
        subscription.customer_id,
        [Line(plan.name, subscription.seats, plan.unit_amount)],
        settings.seller_country,
        currency=plan.currency,
        subscription_id=subscription_id,
    )
    row = invoices.finalise(session, invoice_id, series, settings.invoice_due_days)
    _new_payment(session, row)
    return [
        InvoiceFinalised(
            invoice_id=invoice_id,
            number=row["number"],
            customer_id=row["customer_id"],
            total=row["total"],
            currency=row["currency"],
        )
    ]


def _new_payment(session: Session, invoice: dict[str, Any]) -> str:
    payment_id = ledger.new_id()
    now = ledger.now()
    session.execute(
        insert(payments).values(
            id=payment_id,
            customer_id=invoice["customer_id"],
            invoice_id=invoice["id"],
            provider="vipps",
            provider_ref=None,
            amount=invoice["total"],
            currency=invoice["currency"],
            state="PENDING",
            authorized=0,
            created_at=now,
            updated_at=now,
        )
    )
    return payment_id


def _retry_payment(session: Session, invoice: dict[str, Any]) -> None:
    current = invoices.get(session, invoice["id"])
    if current is not None and current["status"] == "open":
        _new_payment(session, current)


def _unsent(session: Session) -> list[dict[str, Any]]:
    """Renewal payments not yet charged, with their agreement and invoice number."""
    rows = session.execute(
        select(
            payments.c.id,
            payments.c.amount,
            vipps_agreements.c.id.label("agreement_id"),
            invoice_table.c.number,
        )
        .join(invoice_table, invoice_table.c.id == payments.c.invoice_id)
        .join(
            vipps_agreements,
            vipps_agreements.c.subscription_id == invoice_table.c.subscription_id,
        )
        .where(
            payments.c.provider == "vipps",
            payments.c.provider_ref.is_(None),
            payments.c.state == "PENDING",
            vipps_agreements.c.status == "ACTIVE",
        )
    )
    return [{**row._mapping, "description": f"{row.number}"} for row in rows]


def _link_charge(session: Session, payment_id: str, charge_id: str) -> None:
    session.execute(
        update(payments)
        .where(payments.c.id == payment_id, payments.c.provider_ref.is_(None))
        .values(provider_ref=charge_id, updated_at=ledger.now())
    )


def _stopped(session: Session, subscription_id: str, agreement_id: str | None) -> list[Event]:
    if agreement_id:
        session.execute(
            update(vipps_agreements)
            .where(
                vipps_agreements.c.id == agreement_id,
                vipps_agreements.c.status.in_(("PENDING", "ACTIVE")),
            )
            .values(status="STOPPED", updated_at=ledger.now())
        )
    return vipps_recurring_events.cancel_subscription(session, subscription_id)
