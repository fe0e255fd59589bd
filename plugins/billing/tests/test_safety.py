"""Safety: no route takes a card number, secrets are never returned or logged, and the
operator API is behind billing.manage and billing.refund."""

import logging

import pytest
from billing_testlib import STRIPE_SECRET, VIPPS_SECRET, held_stripe_payment, running_billing

pytestmark = pytest.mark.anyio

CARD = "4242 4242 4242 4242"


async def test_a_card_number_is_refused_wherever_it_is_posted(billing):
    customer = await billing.customer()
    base = f"/api/billing/customers/{customer['id']}"
    attempts = [
        ("/api/billing/customers", {"country": "NO", "currency": "NOK", "name": CARD}),
        (f"{base}/payment-intents", {"amount": 100, "currency": "NOK", "description": CARD}),
        (f"{base}/payment-intents", {"amount": 100, "currency": "NOK", "card_number": CARD}),
        (f"{base}/checkouts", {"amount": 100, "currency": "NOK", "card": "4242424242424242"}),
    ]
    for path, body in attempts:
        response = await billing.operator.post(path, json=body)
        assert response.status_code == 400, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "4242" not in response.text
    query = await billing.operator.get(f"{base}?pan=4242-4242-4242-4242")
    assert query.status_code == 400
    assert [
        c for c in billing.stripe.server.calls if c.method != "GET"
    ] == []  # none reached Stripe


async def test_a_number_that_is_not_a_card_passes(billing):
    customer = await billing.customer(name="Order 1234567890123")  # fails the Luhn check
    assert customer["name"] == "Order 1234567890123"
    an_id = "ab4242424242424242cd"  # a hex id whose digits alone would pass the Luhn check
    found = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/subscriptions", json={"plan_id": an_id}
    )
    assert found.status_code == 404, found.text  # no such plan: it was not taken for a card


async def test_secrets_are_neither_returned_nor_logged(billing, caplog):
    caplog.set_level(logging.DEBUG)
    payment_id, _event = await held_stripe_payment(billing)
    billing.stripe.webhooks.resume()
    await billing.stripe.settled()
    health = await billing.kernel.client.get("/health")
    openapi = await billing.kernel.client.get("/schema/openapi.json")
    payment = await billing.operator.get(f"/api/billing/payments/{payment_id}")
    settings = billing.kernel.runtime.plugin("billing").context.settings
    for text in (health.text, openapi.text, payment.text, caplog.text, repr(settings)):
        for secret in (STRIPE_SECRET, VIPPS_SECRET, "sk_test_fake", "client-secret"):
            assert secret not in text


async def test_the_operator_api_needs_billing_manage_and_refunds_billing_refund(boot_kernel):
    async with running_billing(boot_kernel, permissions=("billing.manage",)) as billing:
        payment_id, _ = await held_stripe_payment(billing)
        billing.stripe.webhooks.resume()
        await billing.stripe.settled()
        anonymous = await billing.kernel.client.get(f"/api/billing/payments/{payment_id}")
        assert anonymous.status_code == 401
        reader = await billing.kernel.as_user([], username="nobody")
        assert (await reader.get(f"/api/billing/payments/{payment_id}")).status_code == 403
        refund = await billing.operator.post(f"/api/billing/payments/{payment_id}/refunds", json={})
        assert refund.status_code == 403
        assert (await billing.payment(payment_id))["refunded"] == 0


async def test_the_webhook_endpoints_need_no_sign_in_only_a_signature(billing):
    response = await billing.kernel.client.post("/api/billing/webhooks/stripe", content=b"{}")
    assert response.status_code == 400  # refused for its signature, not for who sent it
