"""Stripe through the real `stripe` library: checkouts, subscriptions, PaymentIntents,
refunds and the portal, each call with an Idempotency-Key, the ledger following webhooks."""

import pytest
from billing_testlib import eventually, table_rows

pytestmark = pytest.mark.anyio


async def plan(billing, **values):
    product = await billing.operator.post("/api/billing/products", json={"name": "Mindframe"})
    body = {
        "product_id": product.json()["id"],
        "name": "Team",
        "unit_amount": 10000,
        "currency": "NOK",
        "pricing": "per_seat",
        **values,
    }
    response = await billing.operator.post("/api/billing/plans", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def subscribe(billing, customer, team, seats=3):
    response = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/subscriptions",
        json={"plan_id": team["id"], "seats": seats},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_every_call_to_stripe_carries_an_idempotency_key(billing):
    customer = await billing.customer()
    await subscribe(billing, customer, await plan(billing))
    posts = [c for c in billing.stripe.server.calls if c.method in ("POST", "DELETE")]
    assert [c.path for c in posts] == ["/v1/customers", "/v1/checkout/sessions"]
    assert all(c.headers.get("idempotency-key") for c in posts)
    assert posts[0].headers["idempotency-key"] != posts[1].headers["idempotency-key"]


async def test_a_checkout_makes_an_active_subscription_and_a_paid_numbered_invoice(billing):
    customer = await billing.customer(locale="nb")
    checkout = await subscribe(billing, customer, await plan(billing))
    assert checkout["url"].startswith(billing.stripe.url)
    [session] = billing.stripe.sessions()
    assert session["line_items_params"][0]["price_data"]["unit_amount"] == "12500"  # VAT in
    billing.stripe.complete_checkout(session["id"])
    await billing.stripe.settled()
    response = await billing.operator.get(f"/api/billing/customers/{customer['id']}/subscriptions")
    [subscription] = response.json()
    assert (subscription["status"], subscription["seats"]) == ("active", 3)
    [invoice] = await table_rows(billing, "invoices")
    assert (invoice["number"], invoice["status"], invoice["total"]) == ("INV-000001", "paid", 37500)
    assert (invoice["subtotal"], invoice["vat_amount"]) == (30000, 7500)
    assert sorted(e["amount"] for e in await billing.journal()) == [-37500, 37500]
    assert (await billing.customer_balance(customer["id"])) == {"NOK": 0}


async def test_a_trial_subscription_is_trialing_and_charges_nothing(billing):
    customer = await billing.customer()
    await subscribe(billing, customer, await plan(billing, trial_days=14), seats=1)
    billing.stripe.complete_checkout(billing.stripe.sessions()[0]["id"])
    await billing.stripe.settled()
    [subscription] = await table_rows(billing, "subscriptions")
    assert subscription["status"] == "trialing" and subscription["trial_end"] is not None
    assert await billing.journal() == []


async def test_cancel_at_period_end_and_cancellation_follow_stripe(billing):
    customer = await billing.customer()
    await subscribe(billing, customer, await plan(billing))
    session = billing.stripe.complete_checkout(billing.stripe.sessions()[0]["id"])
    billing.stripe.update_subscription(session["subscription"], cancel_at_period_end=True)
    await billing.stripe.settled()
    [subscription] = await table_rows(billing, "subscriptions")
    assert (subscription["status"], subscription["cancel_at_period_end"]) == ("active", True)
    billing.stripe.cancel(session["subscription"])  # the customer cancelled in the portal
    await billing.stripe.settled()
    [subscription] = await table_rows(billing, "subscriptions")
    assert subscription["status"] == "cancelled"
    assert "billing.subscription.cancelled" in billing.kernel.bus_probe.topics()


async def test_a_one_off_checkout_payment_is_booked_once(billing):
    customer = await billing.customer(country="SE", currency="SEK")
    response = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/checkouts",
        json={"amount": 20000, "currency": "SEK", "description": "Onboarding"},
    )
    assert response.status_code == 201, response.text
    billing.stripe.complete_checkout(billing.stripe.sessions()[0]["id"])
    await billing.stripe.settled()
    payment = await billing.payment(response.json()["payment_id"])
    assert (payment["state"], payment["captured"]) == ("succeeded", 25000)
    assert [e["amount"] for e in await billing.journal()] == [-25000]


async def test_a_payment_made_at_checkout_learns_its_payment_intent_from_the_success_alone(
    billing,
):
    """Checkout makes the PaymentIntent, so only a webhook tells our payment which it is;
    `payment_intent.succeeded` alone (its `checkout.session.completed` not yet delivered)
    must, since a refund through our API needs it."""
    customer = await billing.customer()
    response = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/checkouts",
        json={"amount": 20000, "currency": "NOK", "description": "Onboarding"},
    )
    billing.stripe.webhooks.paused = True
    billing.stripe.complete_checkout(billing.stripe.sessions()[0]["id"])
    [succeeded] = [e for e in billing.stripe.events if e["type"] == "payment_intent.succeeded"]
    [delivery] = [d for d in billing.stripe.webhooks.deliveries if d.event_id == succeeded["id"]]
    await billing.stripe.webhooks.deliver_now(delivery)
    payment = await billing.payment(response.json()["payment_id"])
    assert (payment["state"], payment["provider_ref"]) == (
        "succeeded",
        succeeded["data"]["object"]["id"],
    )
    refund = await billing.operator.post(
        f"/api/billing/payments/{payment['id']}/refunds", json={"amount": 5000}
    )
    assert (refund.status_code, refund.json()["refunded"]) == (200, 5000)


async def test_partial_then_full_refund_of_a_card_payment(billing):
    customer = await billing.customer()
    created = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/payment-intents",
        json={"amount": 10000, "currency": "NOK"},
    )
    assert created.json()["client_secret"].startswith(created.json()["id"])
    billing.stripe.confirm(created.json()["id"])
    await billing.stripe.settled()
    payment_id = created.json()["payment_id"]
    refunds = f"/api/billing/payments/{payment_id}/refunds"
    first = await billing.operator.post(refunds, json={"amount": 3000})
    assert first.json()["refunded"] == 3000
    too_much = await billing.operator.post(refunds, json={"amount": 8000})
    assert too_much.status_code == 409
    rest = await billing.operator.post(refunds, json={})
    assert (rest.json()["captured"], rest.json()["refunded"]) == (10000, 10000)
    await billing.stripe.settled()
    assert sorted(e["amount"] for e in await billing.journal()) == [-10000, 3000, 7000]


async def test_a_retried_refund_with_the_same_key_refunds_once(billing):
    customer = await billing.customer()
    created = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/payment-intents",
        json={"amount": 10000, "currency": "NOK"},
    )
    billing.stripe.confirm(created.json()["id"])
    await billing.stripe.settled()
    refunds = f"/api/billing/payments/{created.json()['payment_id']}/refunds"
    for _ in range(3):
        response = await billing.operator.post(
            refunds, json={"amount": 1000}, headers={"Idempotency-Key": "client-retry-1"}
        )
        assert response.status_code == 200
    await billing.stripe.settled()
    assert sorted(e["amount"] for e in await billing.journal()) == [-10000, 1000]
    assert len([o for o in billing.stripe.objects.values() if o["object"] == "refund"]) == 1


async def test_a_declined_card_is_a_failed_payment(billing):
    customer = await billing.customer()
    created = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/payment-intents",
        json={"amount": 10000, "currency": "NOK"},
    )
    billing.stripe.confirm(created.json()["id"], succeed=False)
    event = await billing.kernel.bus_probe.next("billing.payment.failed", timeout=5)
    assert (event.payment_id, event.reason) == (created.json()["payment_id"], "card_declined")
    assert (await billing.payment(created.json()["payment_id"]))["state"] == "failed"


async def test_the_customer_portal_link_comes_from_stripe(billing):
    customer = await billing.customer()
    response = await billing.operator.post(f"/api/billing/customers/{customer['id']}/portal")
    assert response.status_code == 201
    assert response.json()["url"].startswith(f"{billing.stripe.url}/p/session/")
    assert await eventually(lambda: table_rows(billing, "customers"))
