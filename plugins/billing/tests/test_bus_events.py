"""The bus events no other test listened for: `billing.subscription.created`,
`billing.invoice.finalised`, `billing.invoice.payment_failed` and
`billing.payment.refunded`. Each is driven by the real flow (the HTTP API, the fakes'
signed webhooks) and must arrive once, with the ids, amounts and currency of what it reports,
however often the provider delivers the webhook behind it."""

import pytest
from billing_testlib import STRIPE_HOOK, active_subscription, signed_stripe, table_rows
from test_vipps import authorized_payment
from test_vipps_recurring import active_agreement, agreement, renew

pytestmark = pytest.mark.anyio


async def once(billing, topic):
    """The one event on `topic` not yet taken, after checking no second one follows."""
    event = await billing.kernel.bus_probe.next(topic, timeout=5)
    with pytest.raises(TimeoutError):
        await billing.kernel.bus_probe.next(topic, timeout=0.5)
    return event


async def redeliver(billing, event):
    """Stripe sends `event` again (signed anew): our endpoint knows it already."""
    body, headers = signed_stripe(event)
    response = await billing.kernel.client.post(STRIPE_HOOK, content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": "duplicate"}


def stripe_events(billing, kind):
    return [e for e in billing.stripe.events if e["type"] == kind]


async def invoice_numbered(billing, number):
    [invoice] = [i for i in await table_rows(billing, "invoices") if i["number"] == number]
    return invoice


def invoice_facts(event) -> tuple:
    """What a `billing.invoice.finalised` event says: invoice, number, customer, total, currency."""
    return (event.invoice_id, event.number, event.customer_id, event.total, event.currency)


# --- billing.subscription.created ----------------------------------------------------------


async def test_a_stripe_checkout_publishes_subscription_created_once(billing):
    customer, stripe_subscription = await active_subscription(billing)
    for kind in ("customer.subscription.created", "checkout.session.completed"):
        [event] = stripe_events(billing, kind)
        await redeliver(billing, event)
    [subscription] = await table_rows(billing, "subscriptions")
    assert subscription["provider_ref"] == stripe_subscription
    created = await once(billing, "billing.subscription.created")
    assert (created.subscription_id, created.customer_id, created.status) == (
        subscription["id"],
        customer["id"],
        "active",
    )


async def test_a_vipps_agreement_publishes_subscription_created_once(billing):
    customer, made = await agreement(billing)
    created = await once(billing, "billing.subscription.created")
    assert (created.subscription_id, created.customer_id, created.status) == (
        made["subscription_id"],
        customer["id"],
        "incomplete",
    )
    billing.vipps.accept_agreement(made["agreement_id"])
    await billing.vipps.settled()  # activation is an update, not a second creation
    updated = await billing.kernel.bus_probe.next("billing.subscription.updated")
    assert (updated.subscription_id, updated.status) == (made["subscription_id"], "active")
    with pytest.raises(TimeoutError):
        await billing.kernel.bus_probe.next("billing.subscription.created", timeout=0.5)


# --- billing.invoice.finalised -------------------------------------------------------------


async def test_finalising_an_invoice_through_the_api_publishes_invoice_finalised_once(billing):
    customer = await billing.customer(country="SE", currency="SEK")
    draft = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/invoices",
        json={"lines": [{"description": "Onboarding", "unit_amount": 40000, "quantity": 2}]},
    )
    assert draft.status_code == 201, draft.text
    with pytest.raises(TimeoutError):  # a draft is not finalised
        await billing.kernel.bus_probe.next("billing.invoice.finalised", timeout=0.5)
    path = f"/api/billing/invoices/{draft.json()['id']}/finalise"
    finalised = await billing.operator.post(path)
    assert finalised.status_code == 200, finalised.text
    assert (await billing.operator.post(path)).status_code == 409  # not a draft any more
    event = await once(billing, "billing.invoice.finalised")
    assert invoice_facts(event) == (
        draft.json()["id"],
        "INV-000001",
        customer["id"],
        100000,
        "SEK",
    )  # 800 kr and 25 % VAT


async def test_a_period_invoiced_at_stripe_publishes_invoice_finalised_once(billing):
    customer, _subscription = await active_subscription(billing)
    [paid] = stripe_events(billing, "invoice.paid")
    await redeliver(billing, paid)
    invoice = await invoice_numbered(billing, "INV-000001")
    assert invoice["provider_ref"] == paid["data"]["object"]["id"]
    event = await once(billing, "billing.invoice.finalised")
    assert invoice_facts(event) == (invoice["id"], "INV-000001", customer["id"], 25000, "NOK")


async def test_a_vipps_renewal_publishes_invoice_finalised_once(billing):
    customer, _made = await active_agreement(billing)
    await renew(billing)  # the first period, invoiced on activation; a run after it
    invoice = await invoice_numbered(billing, "INV-000001")
    event = await once(billing, "billing.invoice.finalised")
    assert invoice_facts(event) == (invoice["id"], "INV-000001", customer["id"], 25000, "NOK")


# --- billing.invoice.payment_failed --------------------------------------------------------


async def test_a_declined_stripe_renewal_publishes_invoice_payment_failed_once(billing):
    customer, subscription = await active_subscription(billing)
    billing.stripe.renew(subscription, succeed=False)
    await billing.stripe.settled()
    [failed] = stripe_events(billing, "invoice.payment_failed")
    await redeliver(billing, failed)
    invoice = await invoice_numbered(billing, "INV-000002")
    assert invoice["provider_ref"] == failed["data"]["object"]["id"]
    event = await once(billing, "billing.invoice.payment_failed")
    assert (event.invoice_id, event.customer_id, event.attempt) == (
        invoice["id"],
        customer["id"],
        1,
    )


async def test_a_first_failure_arriving_after_the_second_publishes_no_second_event(billing):
    customer, subscription = await active_subscription(billing)
    stripe = billing.stripe
    stripe.webhooks.paused = True
    declined = stripe.renew(subscription, succeed=False)
    stripe._fail_invoice(stripe.objects[declined["id"]])  # Stripe's own retry fails too
    first, second = stripe_events(billing, "invoice.payment_failed")
    attempts = [e["data"]["object"]["attempt_count"] for e in (first, second)]
    assert attempts == [1, 2]
    for event in (second, first):  # out of order
        body, headers = signed_stripe(event)
        response = await billing.kernel.client.post(STRIPE_HOOK, content=body, headers=headers)
        assert response.json() == {"received": "applied"}
    stripe.webhooks.resume()  # and everything once more, in order
    await stripe.settled()
    invoice = await invoice_numbered(billing, "INV-000002")
    assert invoice["dunning_attempts"] == 2
    event = await once(billing, "billing.invoice.payment_failed")
    assert (event.invoice_id, event.customer_id, event.attempt) == (
        invoice["id"],
        customer["id"],
        2,
    )


async def test_a_failed_vipps_renewal_charge_publishes_invoice_payment_failed_once(billing):
    customer, _made = await active_agreement(billing)
    charge = await renew(billing)
    billing.vipps.collect(charge["id"], failure="insufficient_funds")
    await billing.vipps.settled()
    invoice = await invoice_numbered(billing, "INV-000001")
    event = await once(billing, "billing.invoice.payment_failed")
    assert (event.invoice_id, event.customer_id, event.attempt) == (
        invoice["id"],
        customer["id"],
        1,
    )


# --- billing.payment.refunded --------------------------------------------------------------


async def card_payment(billing, amount=10000):
    customer = await billing.customer()
    created = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/payment-intents",
        json={"amount": amount, "currency": "NOK"},
    )
    assert created.status_code == 201, created.text
    billing.stripe.confirm(created.json()["id"])
    await billing.stripe.settled()
    return customer, created.json()


@pytest.mark.parametrize("first", ["answer", "webhook"])
async def test_a_refund_through_the_api_publishes_payment_refunded_once(billing, first):
    """Booked by whichever comes first, Stripe's answer or its `charge.refunded` webhook;
    published by that one alone."""
    customer, created = await card_payment(billing)
    billing.stripe.webhooks.paused = first == "answer"
    billing.stripe.webhook_before_answer = first == "webhook"
    response = await billing.operator.post(
        f"/api/billing/payments/{created['payment_id']}/refunds", json={"amount": 3000}
    )
    assert response.status_code == 200, response.text
    assert response.json()["refunded"] == 3000
    event = await billing.kernel.bus_probe.next("billing.payment.refunded", timeout=5)
    billing.stripe.webhooks.resume()  # the webhook (or its redelivery) books nothing more
    await billing.stripe.settled()
    [refunded] = stripe_events(billing, "charge.refunded")
    await redeliver(billing, refunded)
    with pytest.raises(TimeoutError):
        await billing.kernel.bus_probe.next("billing.payment.refunded", timeout=0.5)
    assert (event.payment_id, event.customer_id) == (created["payment_id"], customer["id"])
    assert (event.amount, event.currency) == (3000, "NOK")


async def test_a_refund_made_at_stripe_publishes_payment_refunded_from_its_webhook(billing):
    customer, created = await card_payment(billing)
    billing.stripe.refund_in_dashboard(created["id"], 2500)
    await billing.stripe.settled()
    [refunded] = stripe_events(billing, "charge.refunded")
    await redeliver(billing, refunded)
    event = await once(billing, "billing.payment.refunded")
    assert (event.payment_id, event.customer_id) == (created["payment_id"], customer["id"])
    assert (event.amount, event.currency) == (2500, "NOK")
    assert (await billing.payment(created["payment_id"]))["refunded"] == 2500


@pytest.mark.parametrize("first", ["answer", "webhook"])
async def test_a_vipps_refund_publishes_payment_refunded_once(billing, first):
    created = await authorized_payment(billing)
    path = f"/api/billing/payments/{created['payment_id']}"
    captured = await billing.operator.post(f"{path}/captures", json={"amount": 20000})
    assert captured.status_code == 200, captured.text
    await billing.vipps.settled()
    billing.vipps.webhooks.paused = first == "answer"
    billing.vipps.webhook_before_answer = first == "webhook"
    refund = await billing.operator.post(f"{path}/refunds", json={"amount": 5000})
    assert refund.status_code == 200, refund.text
    assert refund.json()["refunded"] == 5000
    event = await billing.kernel.bus_probe.next("billing.payment.refunded", timeout=5)
    billing.vipps.webhooks.resume()  # the REFUNDED webhook books nothing more
    await billing.vipps.settled()
    with pytest.raises(TimeoutError):
        await billing.kernel.bus_probe.next("billing.payment.refunded", timeout=0.5)
    assert (event.payment_id, event.customer_id) == (
        created["payment_id"],
        refund.json()["customer_id"],
    )
    assert (event.amount, event.currency) == (5000, "NOK")
