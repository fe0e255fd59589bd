"""Helpers of the billing tests: the plugin booted against the fake Stripe and Vipps
servers, a signed-in operator, an SMTP sink, and waiting on conditions (never sleeping)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fakes.common import client_target
from fakes.stripe_server import FakeStripe
from fakes.vipps_server import FakeVipps

from mindframe.sdk.smtp_sink import Sink, smtp_sink

STRIPE_SECRET = "whsec_test_current"
STRIPE_OLD_SECRET = "whsec_test_previous"
VIPPS_SECRET = base64.b64encode(b"vipps webhook secret for tests, 64 bytes long......").decode()
HOST = "http://mindframe.test"
STRIPE_HOOK = f"{HOST}/api/billing/webhooks/stripe"
VIPPS_HOOK = f"{HOST}/api/billing/webhooks/vipps"


def billing_settings(stripe: FakeStripe, vipps: FakeVipps, **overrides: Any) -> dict[str, Any]:
    return {
        "stripe_api_key": stripe.api_key,
        "stripe_api_base": stripe.url,
        "stripe_webhook_secret": STRIPE_SECRET,
        "vipps_api_base": vipps.url,
        "vipps_client_id": vipps.keys[0],
        "vipps_client_secret": vipps.keys[1],
        "vipps_subscription_key": vipps.keys[2],
        "vipps_merchant_serial_number": vipps.keys[3],
        "vipps_webhook_secret": VIPPS_SECRET,
        "apply_interval": 0.2,
        "dunning_interval": 3600.0,
        "reconcile_interval": 86400.0,
        "seller_vat_number": "NO999999999MVA",
        **overrides,
    }


@dataclass
class Billing:
    kernel: Any
    stripe: FakeStripe
    vipps: FakeVipps
    operator: httpx.AsyncClient
    sink: Sink

    async def customer(self, **values: Any) -> dict[str, Any]:
        body = {"country": "NO", "currency": "NOK", "email": "kari@example.org", **values}
        response = await self.operator.post("/api/billing/customers", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    async def customer_balance(self, customer_id: str) -> dict[str, int]:
        response = await self.operator.get(f"/api/billing/customers/{customer_id}")
        assert response.status_code == 200, response.text
        return response.json()["balances"]

    async def journal(self, customer_id: str | None = None) -> list[dict[str, Any]]:
        from mindframe_plugins.billing import ledger
        from mindframe_plugins.billing.service import BillingService

        service = self.kernel.runtime.container.resolve(BillingService)
        return await service.transaction(ledger.entries, customer_id)

    async def payment(self, payment_id: str) -> dict[str, Any]:
        response = await self.operator.get(f"/api/billing/payments/{payment_id}")
        assert response.status_code == 200, response.text
        return response.json()


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float = 10.0, interval: float = 0.02
) -> Any:
    """Wait until `check()` returns something truthy (bounded), and return it."""
    async with asyncio.timeout(timeout):
        while True:
            found = await check()
            if found:
                return found
            await asyncio.sleep(interval)


@asynccontextmanager
async def running_billing(
    boot_kernel: Callable[..., Any],
    permissions: tuple[str, ...] = ("billing.*",),
    *,
    fakes: tuple[FakeStripe, FakeVipps] | None = None,
    boot_options: dict[str, Any] | None = None,
    plugins: tuple[str, ...] = (),
    **settings: Any,
) -> AsyncIterator[Billing]:
    """The billing plugin (with auth, mail, i18n) against the fakes (new ones unless given),
    a signed-in operator holding `permissions`, webhooks pointed at this kernel."""
    stripe, vipps = fakes or (FakeStripe([STRIPE_SECRET]), FakeVipps(VIPPS_SECRET))
    async with smtp_sink() as sink:
        if fakes is None:
            await stripe.server.start()
            await vipps.server.start()
        try:
            plugin_settings = {
                "billing": billing_settings(stripe, vipps, **settings),
                "mail": {
                    "smtp_port": sink.port,
                    "sender": "billing@mindframe.test",
                    "poll_interval": 0.1,
                },
            }
            options = {"settings": plugin_settings, **(boot_options or {})}
            async with boot_kernel(["billing", "auth", *plugins], **options) as kernel:
                assert kernel.state("billing") == "active", kernel.error("billing")
                stripe.webhooks.target = client_target(kernel.client, STRIPE_HOOK)
                vipps.webhooks.target = client_target(kernel.client, VIPPS_HOOK)
                operator = await kernel.as_user(list(permissions), username="operator")
                yield Billing(kernel, stripe, vipps, operator, sink)
        finally:
            if fakes is None:
                await stripe.stop()
                await vipps.stop()


def signed_stripe(
    event: dict[str, Any], secrets: list[str] | None = None, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """A body and headers as Stripe would send them (or with other secrets, another time)."""
    from fakes.stripe_server import stripe_signature

    body = json.dumps(event).encode()
    header = stripe_signature(body, secrets or [STRIPE_SECRET], timestamp)
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}


async def held_stripe_payment(billing: Billing, amount: int = 10000) -> tuple[str, dict[str, Any]]:
    """A PaymentIntent the customer confirmed at Stripe, its `payment_intent.succeeded`
    event made but not yet delivered: (our payment id, the event)."""
    customer = await billing.customer()
    response = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/payment-intents",
        json={"amount": amount, "currency": "NOK"},
    )
    assert response.status_code == 201, response.text
    billing.stripe.webhooks.paused = True
    billing.stripe.confirm(response.json()["id"])
    return response.json()["payment_id"], billing.stripe.events[-1]


async def monthly_plan(
    billing: Billing, locale: str = "nb", currency: str = "NOK", **customer: Any
) -> tuple[dict[str, Any], str]:
    """A customer and a monthly plan of 200 (net, in `currency`) to subscribe them to:
    (customer, plan id)."""
    fields = {"email": "ola@example.no", **customer}
    customer = await billing.customer(locale=locale, currency=currency, **fields)
    product = await billing.operator.post("/api/billing/products", json={"name": "Mindframe"})
    plan = await billing.operator.post(
        "/api/billing/plans",
        json={
            "product_id": product.json()["id"],
            "name": "Pro",
            "unit_amount": 20000,
            "currency": currency,
        },
    )
    return customer, plan.json()["id"]


async def active_subscription(
    billing: Billing, locale: str = "nb", currency: str = "NOK", **customer: Any
) -> tuple[dict[str, Any], str]:
    """A customer subscribed through Checkout to `monthly_plan`, its first period collected
    by Stripe at once: (customer, Stripe subscription id)."""
    made, plan_id = await monthly_plan(billing, locale, currency, **customer)
    await billing.operator.post(
        f"/api/billing/customers/{made['id']}/subscriptions", json={"plan_id": plan_id}
    )
    session = billing.stripe.complete_checkout(billing.stripe.sessions()[0]["id"])
    await billing.stripe.settled()
    return made, session["subscription"]


def billing_job(billing: Billing, name: str) -> Any:
    """The plugin's job `name` (`mail`, `dunning` …)."""
    from mindframe_plugins.billing.jobs import BillingJobs

    return billing.kernel.runtime.container.resolve(BillingJobs).jobs[name]


async def run_job(job: Any) -> None:
    """Wake `job` and wait until it has run once more, without an error."""
    runs = job.runs

    async def ran_again() -> bool:
        return bool(job.runs > runs)

    job.wake()
    await eventually(ran_again)
    assert job.last_error is None, job.last_error


async def table_rows(billing: Billing, table: str) -> list[dict[str, Any]]:
    from mindframe_plugins.billing import models
    from mindframe_plugins.billing.service import BillingService
    from sqlalchemy import select

    service = billing.kernel.runtime.container.resolve(BillingService)

    def read(session: Any) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in session.execute(select(getattr(models, table)))]

    return await service.transaction(read)
