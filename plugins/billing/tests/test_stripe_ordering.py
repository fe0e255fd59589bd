"""A subscription's whole life at Stripe, its webhooks delivered backwards and each five
times, leaves the ledger as one delivery of each, in order, does."""

import pytest
from billing_testlib import STRIPE_HOOK, running_billing, signed_stripe, table_rows

pytestmark = pytest.mark.anyio


async def life_at_stripe(billing):
    """Checkout, a declined renewal, Stripe's later retry collecting it, a refund made in
    Stripe's dashboard, a change of seats, and cancellation: the events, none delivered."""
    customer = await billing.customer()
    product = await billing.operator.post("/api/billing/products", json={"name": "M"})
    plan = await billing.operator.post(
        "/api/billing/plans",
        json={
            "product_id": product.json()["id"],
            "name": "Team",
            "unit_amount": 8000,
            "currency": "NOK",
            "pricing": "per_seat",
        },
    )
    await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/subscriptions",
        json={"plan_id": plan.json()["id"], "seats": 2},
    )
    stripe = billing.stripe
    stripe.webhooks.paused = True
    session = stripe.complete_checkout(stripe.sessions()[0]["id"])
    subscription = session["subscription"]
    declined = stripe.renew(subscription, succeed=False)
    stripe.collect(declined["id"])
    stripe.refund_in_dashboard(declined["payment_intent"], 5000)
    items = stripe.objects[subscription]["items"]["data"]
    items[0]["quantity"] = 5
    stripe.update_subscription(subscription, cancel_at_period_end=True)
    stripe.cancel(subscription)
    return customer, list(stripe.events)


async def snapshot(billing):
    """The ledger, with our own random ids replaced by the provider's."""
    ours = {i["id"]: i["provider_ref"] for i in await table_rows(billing, "invoices")}
    journal = sorted(
        (e["kind"], ours.get(e["source"], e["source"]), e["amount"], e["currency"])
        for e in await billing.journal()
    )
    subscriptions = sorted(
        (s["provider_ref"], s["status"], s["seats"], s["cancel_at_period_end"])
        for s in await table_rows(billing, "subscriptions")
    )
    payments = sorted(
        (p["provider_ref"], p["state"], p["amount"]) for p in await table_rows(billing, "payments")
    )
    invoices = sorted(
        (i["provider_ref"], i["status"], i["subtotal"], i["vat_amount"], i["total"])
        for i in await table_rows(billing, "invoices")
    )
    numbers = sorted(i["number"] for i in await table_rows(billing, "invoices"))
    return {
        "journal": journal,
        "subscriptions": subscriptions,
        "payments": payments,
        "invoices": invoices,
        "numbers": numbers,
    }


async def deliver(billing, events):
    for event in events:
        response = await billing.kernel.client.post(STRIPE_HOOK, **_request(event))
        assert response.status_code == 200, response.text


def _request(event):
    body, headers = signed_stripe(event)
    return {"content": body, "headers": headers}


async def copy_customer(source, target, customer_id):
    from mindframe_plugins.billing.models import customers
    from mindframe_plugins.billing.service import BillingService
    from sqlalchemy import insert

    [row] = [c for c in await table_rows(source, "customers") if c["id"] == customer_id]
    service = target.kernel.runtime.container.resolve(BillingService)
    await service.transaction(lambda session: session.execute(insert(customers).values(**row)))


async def test_backwards_and_five_times_over_equals_once_in_order(boot_kernel, tmp_path):
    async with running_billing(boot_kernel) as backwards:
        customer, events = await life_at_stripe(backwards)
        assert len(events) == 13
        await deliver(backwards, [e for e in reversed(events) for _ in range(5)])
        fakes = (backwards.stripe, backwards.vipps)
        options = {"data_dir": tmp_path / "in-order"}
        async with running_billing(boot_kernel, fakes=fakes, boot_options=options) as in_order:
            await copy_customer(backwards, in_order, customer["id"])
            await deliver(in_order, events)
            expected = await snapshot(in_order)
        got = await snapshot(backwards)
    assert got == expected
    assert expected["subscriptions"][0][1:] == ("cancelled", 5, True)
    assert [e[0] for e in expected["journal"]].count("payment") == 2
    assert sum(e[2] for e in expected["journal"]) == 5000  # two invoices paid, 5000 refunded
    assert expected["numbers"] == ["INV-000001", "INV-000002"]
