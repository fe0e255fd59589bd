"""`BillingService`: the catalogue, customers, checkouts, payments, refunds and invoices.

Each operation writes our own rows first (so a webhook that overtakes the provider's answer
finds them), then calls the provider with an idempotency key derived from those rows, then
books what the answer proves. Bookings are keyed by the provider's id of the movement, so
the answer and the webhook book it once between them.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from mindframe.sdk import Event, PluginContext, ServiceError
from mindframe.sdk.i18n import N_

from . import invoices, ledger, vipps_events
from .errors import BillingError, Conflict, NotFound
from .events import InvoiceFinalised, PaymentRefunded, PaymentSucceeded
from .invoices import Line
from .jobs import BillingJobs
from .keys import operation_key
from .models import customers, payments, plans, products, subscriptions
from .money import CURRENCIES
from .settings import BillingSettings
from .stripe_gateway import StripeGateway
from .vat import RATES, UnknownCountry, valid_eu_vat_number
from .vipps_gateway import VippsGateway
from .vipps_recurring import VippsRecurring
from .vipps_recurring_gateway import VippsRecurringGateway

CURRENCY_REFUSED = N_("currency must be one of {currencies}")
NO_SUCH = N_("no {what} with id {id}")
NO_VAT_RATE = N_("no VAT rate is known for country {country}")
AMOUNT_REFUSED = N_("amount must be a positive whole number of minor units (øre, cents)")
REFUND_REFUSED = N_("{left} is left to refund on this payment; asked for {amount}")
CAPTURE_REFUSED = N_("the payment is {state} with {left} left to capture; asked for {amount}")
NOT_VIPPS = N_("only Vipps MobilePay payments are captured or cancelled")
NOT_A_DRAFT = N_("invoice {id} is not a draft")


class BillingService:
    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        self.stripe = StripeGateway(ctx.settings)
        self.vipps = VippsGateway(ctx.settings)
        self.recurring = VippsRecurring(ctx, VippsRecurringGateway(self.vipps))

    @property
    def settings(self) -> BillingSettings:
        return self._ctx.settings

    def explain(self, error: BillingError) -> str:
        """The refusal in the request's locale."""
        return self._ctx.gettext(error.message).format(**error.params)

    def wake(self, job: str) -> None:
        """Run one of the plugin's jobs now (they start with the plugin, after this)."""
        with contextlib.suppress(ServiceError):  # not started yet: it runs when it starts
            self._ctx.resolve(BillingJobs).wake(job)

    async def transaction(self, fn: Any, *args: Any, read_only: bool = False) -> Any:
        """`ctx.transaction`; `read_only=True` only when `fn` writes nothing (it then reads a
        snapshot beside SQLite's writer instead of waiting for the write lock)."""
        return await self._ctx.transaction(fn, *args, read_only=read_only)

    async def _publish(self, found: list[Event]) -> None:
        for event in found:
            await self._ctx.publish(event)

    # --- catalogue and customers ---------------------------------------------------------

    async def create_product(self, name: str) -> dict[str, Any]:
        row = {"id": ledger.new_id(), "name": name, "created_at": ledger.now()}
        await self.transaction(_insert, products, row)
        return row

    async def create_plan(self, **values: Any) -> dict[str, Any]:
        if values["currency"] not in CURRENCIES:
            raise BillingError(CURRENCY_REFUSED, currencies=", ".join(CURRENCIES))
        if await self.transaction(_get, products, values["product_id"], read_only=True) is None:
            raise NotFound(NO_SUCH, what="product", id=values["product_id"])
        row = {"id": ledger.new_id(), "created_at": ledger.now(), **values}
        await self.transaction(_insert, plans, row)
        return row

    async def create_customer(self, **values: Any) -> dict[str, Any]:
        country = values["country"].upper()
        if country not in RATES and not valid_eu_vat_number(country, values.get("vat_number")):
            raise BillingError(NO_VAT_RATE, country=country)
        if values["currency"] not in CURRENCIES:
            raise BillingError(CURRENCY_REFUSED, currencies=", ".join(CURRENCIES))
        row = {
            "id": ledger.new_id(),
            "created_at": ledger.now(),
            "stripe_customer_id": None,
            "erased_at": None,
            **values,
            "country": country,
        }
        await self.transaction(_insert, customers, row)
        return row

    async def customer(self, customer_id: str) -> dict[str, Any]:
        found = await self.transaction(_customer_with_balance, customer_id, read_only=True)
        if found is None:
            raise NotFound(NO_SUCH, what="customer", id=customer_id)
        return found

    async def _stripe_customer(self, customer: dict[str, Any]) -> str:
        if customer["stripe_customer_id"]:
            return str(customer["stripe_customer_id"])
        stripe_id = await self.stripe.create_customer(
            customer["id"], customer["email"], customer["name"]
        )
        await self.transaction(_set_stripe_customer, customer["id"], stripe_id)
        return stripe_id

    # --- Stripe --------------------------------------------------------------------------

    async def subscribe(self, customer_id: str, plan_id: str, seats: int) -> dict[str, str]:
        """A Checkout Session for a new subscription; the subscription appears in the ledger
        when Stripe's webhooks say it exists."""
        customer = await self.customer(customer_id)
        plan = await self.transaction(_get, plans, plan_id, read_only=True)
        if plan is None:
            raise NotFound(NO_SUCH, what="plan", id=plan_id)
        quantity = seats if plan["pricing"] == "per_seat" else 1
        vat = invoices.customer_treatment(customer, self.settings.seller_country)
        gross = plan["unit_amount"] + vat.on(plan["unit_amount"])
        metadata = {"mindframe_customer_id": customer_id, "mindframe_plan_id": plan_id}
        subscription_data: dict[str, Any] = {"metadata": metadata}
        if plan["trial_days"]:
            subscription_data["trial_period_days"] = plan["trial_days"]
        session_id, url = await self.stripe.checkout(
            operation_key("checkout", customer_id, plan_id, uuid.uuid4().hex),
            mode="subscription",
            customer=await self._stripe_customer(customer),
            line_items=[
                {
                    "price_data": {
                        "currency": plan["currency"].lower(),
                        "unit_amount": gross,
                        "tax_behavior": "inclusive",
                        "product_data": {"name": plan["name"]},
                        "recurring": {"interval": plan["interval"]},
                    },
                    "quantity": quantity,
                }
            ],
            metadata=metadata,
            extra={"subscription_data": subscription_data},
        )
        return {"checkout_session": session_id, "url": url}

    async def pay_once(
        self, customer_id: str, description: str, amount: int, currency: str
    ) -> dict[str, str]:
        """A Checkout Session for a one-off payment of `amount` (net; VAT added)."""
        customer = await self.customer(customer_id)
        vat = invoices.customer_treatment(customer, self.settings.seller_country)
        gross = amount + vat.on(amount)
        payment = await self._new_payment(customer_id, "stripe", gross, currency)
        metadata = {"mindframe_customer_id": customer_id, "mindframe_payment_id": payment}
        session_id, url = await self.stripe.checkout(
            operation_key("checkout", payment),
            mode="payment",
            customer=await self._stripe_customer(customer),
            line_items=[
                {
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": gross,
                        "tax_behavior": "inclusive",
                        "product_data": {"name": description},
                    },
                    "quantity": 1,
                }
            ],
            metadata=metadata,
            extra={"payment_intent_data": {"metadata": metadata}},
        )
        return {"payment_id": payment, "checkout_session": session_id, "url": url}

    async def payment_intent(
        self, customer_id: str, amount: int, currency: str, invoice_id: str | None = None
    ) -> dict[str, Any]:
        """A PaymentIntent whose client secret the customer's browser confirms with
        Stripe.js: the card goes from the browser to Stripe, never here."""
        customer = await self.customer(customer_id)
        payment = await self._new_payment(customer_id, "stripe", amount, currency, invoice_id)
        intent = await self.stripe.create_payment_intent(
            payment, amount, currency, await self._stripe_customer(customer)
        )
        found = await self.transaction(_link_intent, payment, intent.id, intent.status)
        await self._publish(found)
        return {"payment_id": payment, "client_secret": intent.client_secret, "id": intent.id}

    async def portal(self, customer_id: str) -> str:
        customer = await self.customer(customer_id)
        key = operation_key("portal", customer_id, uuid.uuid4().hex)
        return await self.stripe.portal(await self._stripe_customer(customer), key)

    async def _new_payment(
        self,
        customer_id: str,
        provider: str,
        amount: int,
        currency: str,
        invoice_id: str | None = None,
        provider_ref: str | None = None,
    ) -> str:
        if currency not in CURRENCIES:
            raise BillingError(CURRENCY_REFUSED, currencies=", ".join(CURRENCIES))
        if amount <= 0:
            raise BillingError(AMOUNT_REFUSED)
        payment_id = ledger.new_id()
        row = {
            "id": payment_id,
            "customer_id": customer_id,
            "invoice_id": invoice_id,
            "provider": provider,
            "provider_ref": provider_ref,
            "amount": amount,
            "currency": currency,
            "state": "created" if provider == "stripe" else "CREATED",
            "authorized": 0,
            "created_at": ledger.now(),
            "updated_at": ledger.now(),
        }
        await self.transaction(_insert, payments, row)
        return payment_id

    async def payment(self, payment_id: str) -> dict[str, Any]:
        found = await self.transaction(_payment_with_totals, payment_id, read_only=True)
        if found is None:
            raise NotFound(NO_SUCH, what="payment", id=payment_id)
        return found

    async def refund(self, payment_id: str, amount: int | None, request_key: str) -> dict[str, Any]:
        """Refund `amount` (all that is left when None) of a captured payment."""
        payment = await self.payment(payment_id)
        left = payment["captured"] - payment["refunded"]
        amount = left if amount is None else amount
        if amount <= 0 or amount > left:
            raise Conflict(REFUND_REFUSED, left=left, amount=amount)
        key = operation_key("refund", payment_id, request_key)
        if payment["provider"] == "vipps":
            await self.vipps.refund(payment["provider_ref"], amount, payment["currency"], key)
            source = vipps_events.money_source(payment["provider_ref"], ledger.REFUND, key)
        else:
            refund = await self.stripe.refund(key, payment["provider_ref"], amount)
            if refund.status != "succeeded":
                return await self.payment(payment_id)  # the webhook books it when it is
            source = refund.id
        found = await self.transaction(_book_refund, payment, source, amount)
        await self._publish(found)
        return await self.payment(payment_id)

    # --- Vipps ---------------------------------------------------------------------------

    async def vipps_payment(
        self, customer_id: str, amount: int, currency: str, text: str, phone: str | None
    ) -> dict[str, Any]:
        await self.customer(customer_id)
        payment_id = ledger.new_id()
        reference = f"mf-{payment_id}"
        await self._new_payment_with_id(payment_id, customer_id, amount, currency, reference)
        created = await self.vipps.create(
            reference, amount, currency, operation_key("create", payment_id), phone, text
        )
        await self.transaction(_set_redirect, payment_id, created.get("redirectUrl"))
        return {"payment_id": payment_id, "reference": reference, "url": created["redirectUrl"]}

    async def _new_payment_with_id(
        self, payment_id: str, customer_id: str, amount: int, currency: str, reference: str
    ) -> None:
        if currency not in CURRENCIES or amount <= 0:
            raise BillingError(AMOUNT_REFUSED)
        row = {
            "id": payment_id,
            "customer_id": customer_id,
            "invoice_id": None,
            "provider": "vipps",
            "provider_ref": reference,
            "amount": amount,
            "currency": currency,
            "state": "CREATED",
            "authorized": 0,
            "created_at": ledger.now(),
            "updated_at": ledger.now(),
        }
        await self.transaction(_insert, payments, row)

    async def _vipps(self, payment_id: str) -> dict[str, Any]:
        payment = await self.payment(payment_id)
        if payment["provider"] != "vipps":
            raise Conflict(NOT_VIPPS)
        return payment

    async def capture(self, payment_id: str, amount: int | None, request_key: str) -> dict:
        """Capture `amount` (all that is authorized and not captured when None)."""
        payment = await self._vipps(payment_id)
        if payment["state"] != "AUTHORIZED":
            live = await self.vipps.get(payment["provider_ref"])
            await self.transaction(_sync_vipps_state, payment_id, live)
            payment = await self._vipps(payment_id)
        left = payment["authorized"] - payment["captured"]
        amount = left if amount is None else amount
        if payment["state"] != "AUTHORIZED" or amount <= 0 or amount > left:
            raise Conflict(CAPTURE_REFUSED, state=payment["state"], left=left, amount=amount)
        key = operation_key("capture", payment_id, request_key)
        await self.vipps.capture(payment["provider_ref"], amount, payment["currency"], key)
        source = vipps_events.money_source(payment["provider_ref"], ledger.PAYMENT, key)
        found = await self.transaction(_book_capture, payment, source, amount)
        await self._publish(found)
        return await self.payment(payment_id)

    async def cancel(self, payment_id: str) -> dict[str, Any]:
        payment = await self._vipps(payment_id)
        answer = await self.vipps.cancel(
            payment["provider_ref"], operation_key("cancel", payment_id)
        )
        await self.transaction(_sync_vipps_state, payment_id, answer)
        return await self.payment(payment_id)

    async def subscribe_vipps(
        self, customer_id: str, plan_id: str, seats: int, phone: str | None
    ) -> dict[str, Any]:
        """A subscription paid through a Vipps MobilePay recurring agreement: the link where
        the customer accepts the agreement in the app."""
        customer = await self.customer(customer_id)
        plan = await self.transaction(_get, plans, plan_id, read_only=True)
        if plan is None:
            raise NotFound(NO_SUCH, what="plan", id=plan_id)
        return await self.recurring.subscribe(customer, plan, seats, phone)

    async def cancel_subscription(self, subscription_id: str) -> dict[str, Any]:
        """Cancel now: a Vipps agreement is stopped (and the subscription cancelled here);
        a Stripe subscription is cancelled at Stripe, whose webhook cancels it here."""
        subscription = await self.transaction(_get, subscriptions, subscription_id, read_only=True)
        if subscription is None:
            raise NotFound(NO_SUCH, what="subscription", id=subscription_id)
        if subscription["provider"] == "vipps":
            await self.recurring.stop(subscription)
        elif subscription["provider_ref"] and subscription["status"] != "cancelled":
            key = operation_key("cancel-subscription", subscription_id)
            await self.stripe.cancel_subscription(subscription["provider_ref"], key)
        return await self.transaction(_get, subscriptions, subscription_id, read_only=True)

    # --- invoices ------------------------------------------------------------------------

    async def draft_invoice(self, customer_id: str, lines: list[Line]) -> dict[str, Any]:
        await self.customer(customer_id)
        try:
            invoice_id = await self.transaction(
                invoices.draft, customer_id, lines, self.settings.seller_country
            )
        except UnknownCountry as error:
            raise BillingError(NO_VAT_RATE, country=str(error)) from None
        return await self.invoice(invoice_id)

    async def finalise_invoice(self, invoice_id: str) -> dict[str, Any]:
        settings = self.settings
        try:
            row = await self.transaction(
                invoices.finalise, invoice_id, settings.invoice_series, settings.invoice_due_days
            )
        except invoices.NotADraft:
            raise Conflict(NOT_A_DRAFT, id=invoice_id) from None
        self.wake("mail")  # the invoice is in the mail outbox: mail it now
        await self._publish(
            [
                InvoiceFinalised(
                    invoice_id=invoice_id,
                    number=row["number"],
                    customer_id=row["customer_id"],
                    total=row["total"],
                    currency=row["currency"],
                )
            ]
        )
        return row

    async def invoice(self, invoice_id: str) -> dict[str, Any]:
        found = await self.transaction(invoices.get, invoice_id, read_only=True)
        if found is None:
            raise NotFound(NO_SUCH, what="invoice", id=invoice_id)
        return found

    async def subscriptions_of(self, customer_id: str) -> list[dict[str, Any]]:
        return await self.transaction(_subscriptions_of, customer_id, read_only=True)


# --- transactions (synchronous; each runs in one ctx.transaction) -----------------------


def _insert(session: Session, table: Any, row: dict[str, Any]) -> None:
    session.execute(insert(table).values(**row))


def _get(session: Session, table: Any, row_id: str) -> dict[str, Any] | None:
    row = session.execute(select(table).where(table.c.id == row_id)).one_or_none()
    return dict(row._mapping) if row is not None else None


def _customer_with_balance(session: Session, customer_id: str) -> dict[str, Any] | None:
    customer = _get(session, customers, customer_id)
    if customer is not None:
        customer["balances"] = ledger.balances(session, customer_id)
    return customer


def _set_stripe_customer(session: Session, customer_id: str, stripe_id: str) -> None:
    session.execute(
        update(customers)
        .where(customers.c.id == customer_id, customers.c.stripe_customer_id.is_(None))
        .values(stripe_customer_id=stripe_id)
    )


def _payment_with_totals(session: Session, payment_id: str) -> dict[str, Any] | None:
    payment = _get(session, payments, payment_id)
    if payment is not None:
        payment["captured"], payment["refunded"] = ledger.payment_totals(session, payment_id)
    return payment


def _link_intent(session: Session, payment_id: str, intent_id: str, status: str) -> list[Event]:
    """Record the PaymentIntent's id unless a webhook did first; never move the state back."""
    session.execute(
        update(payments)
        .where(payments.c.id == payment_id, payments.c.provider_ref.is_(None))
        .values(provider_ref=intent_id)
    )
    return []


def _set_redirect(session: Session, payment_id: str, url: str | None) -> None:
    session.execute(update(payments).where(payments.c.id == payment_id).values(redirect_url=url))


def _book_refund(
    session: Session, payment: dict[str, Any], source: str, amount: int
) -> list[Event]:
    booked = ledger.book(
        session,
        customer_id=payment["customer_id"],
        kind=ledger.REFUND,
        source=source,
        amount=amount,
        currency=payment["currency"],
        invoice_id=payment["invoice_id"],
        payment_id=payment["id"],
        cause="api",
    )
    if not booked:
        return []
    return [
        PaymentRefunded(
            payment_id=payment["id"],
            customer_id=payment["customer_id"],
            amount=amount,
            currency=payment["currency"],
        )
    ]


def _book_capture(
    session: Session, payment: dict[str, Any], source: str, amount: int
) -> list[Event]:
    booked = ledger.book(
        session,
        customer_id=payment["customer_id"],
        kind=ledger.PAYMENT,
        source=source,
        amount=-amount,
        currency=payment["currency"],
        invoice_id=payment["invoice_id"],
        payment_id=payment["id"],
        cause="api",
    )
    if not booked:
        return []
    return [
        PaymentSucceeded(
            payment_id=payment["id"],
            customer_id=payment["customer_id"],
            provider="vipps",
            amount=amount,
            currency=payment["currency"],
        )
    ]


def _sync_vipps_state(session: Session, payment_id: str, answer: dict[str, Any]) -> None:
    """Take Vipps's state and authorized amount from an API answer, forward only."""
    state = answer.get("state")
    payment = _get(session, payments, payment_id)
    if payment is None or state not in vipps_events.STATE_RANK:
        return
    if vipps_events.STATE_RANK[state] <= vipps_events.STATE_RANK.get(payment["state"], 0):
        return
    authorized = ((answer.get("aggregate") or {}).get("authorizedAmount") or {}).get("value", 0)
    session.execute(
        update(payments)
        .where(payments.c.id == payment_id)
        .values(state=state, authorized=int(authorized), updated_at=ledger.now())
    )


def _subscriptions_of(session: Session, customer_id: str) -> list[dict[str, Any]]:
    rows = session.execute(select(subscriptions).where(subscriptions.c.customer_id == customer_id))
    return [dict(row._mapping) for row in rows]
