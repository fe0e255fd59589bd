"""Stripe webhooks: only Stripe's, only recent ones, applied exactly once and in any order."""

import json
import time

import pytest
from billing_testlib import (
    STRIPE_HOOK,
    STRIPE_OLD_SECRET,
    STRIPE_SECRET,
    held_stripe_payment,
    running_billing,
    signed_stripe,
    table_rows,
)

pytestmark = pytest.mark.anyio


async def post(billing, body, headers):
    return await billing.kernel.client.post(STRIPE_HOOK, content=body, headers=headers)


async def test_a_forged_signature_is_refused_and_changes_nothing(billing, caplog):
    _, event = await held_stripe_payment(billing)
    body, headers = signed_stripe(event, secrets=["whsec_someone_else"])
    response = await post(billing, body, headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await table_rows(billing, "webhooks") == []
    assert await billing.journal() == []
    assert STRIPE_SECRET not in caplog.text and STRIPE_SECRET not in response.text


async def test_a_tampered_body_is_refused(billing):
    payment_id, event = await held_stripe_payment(billing)
    body, headers = signed_stripe(event)
    response = await post(billing, body.replace(b"10000", b"99999"), headers)
    assert response.status_code == 400
    assert (await billing.payment(payment_id))["captured"] == 0


async def test_a_stale_timestamp_is_refused_but_one_within_tolerance_is_taken(billing):
    payment_id, event = await held_stripe_payment(billing)
    stale = signed_stripe(event, timestamp=int(time.time()) - 301)
    assert (await post(billing, *stale)).status_code == 400
    assert await billing.journal() == []
    fresh = signed_stripe(event, timestamp=int(time.time()) - 290)
    assert (await post(billing, *fresh)).status_code == 200
    assert (await billing.payment(payment_id))["captured"] == 10000


async def test_a_replay_is_harmless_within_the_tolerance_and_refused_after_it(billing):
    _payment_id, event = await held_stripe_payment(billing)
    body, headers = signed_stripe(event)
    assert (await post(billing, body, headers)).json() == {"received": "applied"}
    assert (await post(billing, body, headers)).json() == {"received": "duplicate"}
    captured_long_ago = signed_stripe(event, timestamp=int(time.time()) - 3600)
    assert (await post(billing, *captured_long_ago)).status_code == 400
    assert [e["amount"] for e in await billing.journal()] == [-10000]


async def test_malformed_webhooks_are_refused(billing):
    missing = await post(billing, b"{}", {"Content-Type": "application/json"})
    not_json = await post(billing, *signed_stripe_raw(b"not json"))
    no_object = await post(billing, *signed_stripe_raw(b'{"id": "evt_1", "type": "x"}'))
    garbage_header = await post(billing, b"{}", {"Stripe-Signature": "t=abc,v1=zz"})
    statuses = [r.status_code for r in (missing, not_json, no_object, garbage_header)]
    assert statuses == [400, 400, 400, 400]
    assert await table_rows(billing, "webhooks") == []


def signed_stripe_raw(body):
    from fakes.stripe_server import stripe_signature

    return body, {"Stripe-Signature": stripe_signature(body, [STRIPE_SECRET])}


async def test_during_a_secret_rotation_any_v1_signature_with_our_secret_is_enough(billing):
    payment_id, event = await held_stripe_payment(billing)
    only_old = signed_stripe(event, secrets=[STRIPE_OLD_SECRET])
    assert (await post(billing, *only_old)).status_code == 400
    both = signed_stripe(event, secrets=[STRIPE_OLD_SECRET, STRIPE_SECRET])
    assert (await post(billing, *both)).status_code == 200
    assert (await billing.payment(payment_id))["captured"] == 10000


async def test_the_same_event_delivered_five_times_moves_money_once(billing):
    payment_id, _ = await held_stripe_payment(billing)
    probe = billing.kernel.bus_probe
    delivery = billing.stripe.webhooks.deliveries[-1]
    for _ in range(5):
        await billing.stripe.webhooks.deliver_now(delivery)
    assert (await billing.payment(payment_id))["captured"] == 10000
    assert [e["amount"] for e in await billing.journal()] == [-10000]
    event = await probe.next("billing.payment.succeeded", timeout=5)
    assert event.payment_id == payment_id
    assert probe.topics().count("billing.payment.succeeded") == 1
    assert len(await table_rows(billing, "webhooks")) == 1


async def test_a_webhook_that_overtakes_the_api_answer_is_booked_once(billing):
    payment_id, _ = await held_stripe_payment(billing)
    billing.stripe.webhooks.resume()
    await billing.stripe.settled()
    billing.stripe.webhook_before_answer = True  # charge.refunded arrives before the answer
    response = await billing.operator.post(
        f"/api/billing/payments/{payment_id}/refunds", json={"amount": 2500}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["captured"], response.json()["refunded"]) == (10000, 2500)
    assert sorted(e["amount"] for e in await billing.journal()) == [-10000, 2500]
    refund_webhook = billing.stripe.webhooks.deliveries[-1]
    assert refund_webhook.statuses == [200]  # it came first, and was applied


async def test_a_webhook_is_committed_before_the_answer(billing):
    _payment_id, event = await held_stripe_payment(billing)
    response = await post(billing, *signed_stripe(event))
    assert response.status_code == 200
    [stored] = await table_rows(billing, "webhooks")
    assert (stored["event_id"], stored["applied_at"] is not None) == (event["id"], True)
    assert json.loads(stored["payload"]) == event


async def test_an_event_that_cannot_be_applied_is_kept_and_retried_by_the_apply_job(billing):
    customer = await billing.customer()
    event = {
        "id": "evt_unreadable",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {"object": {"id": "pi_x", "metadata": {}, "customer": None}},
    }
    response = await post(billing, *signed_stripe(event))
    assert response.json() == {"received": "stored"}  # currency missing: cannot be applied
    [stored] = await table_rows(billing, "webhooks")
    assert stored["applied_at"] is None and "KeyError" in stored["error"]
    assert customer  # the journal is untouched
    assert await billing.journal() == []


@pytest.mark.postgres
async def test_on_postgresql_a_webhook_is_applied_once_through_the_usual_execute(
    boot_kernel, postgres_url
):
    """`direct_sql` runs the statements on SQLite's cursor only: here they go through
    SQLAlchemy's `execute`, with the same outcome."""
    async with running_billing(boot_kernel, boot_options={"database_url": postgres_url}) as billing:
        assert billing.kernel.runtime.database.url.get_backend_name() == "postgresql"
        payment_id, event = await held_stripe_payment(billing)
        outcomes = [(await post(billing, *signed_stripe(event))).json() for _ in range(3)]
        assert outcomes == [{"received": "applied"}] + [{"received": "duplicate"}] * 2
        payment = await billing.payment(payment_id)
        assert (payment["state"], payment["captured"]) == ("succeeded", 10000)
        assert [e["amount"] for e in await billing.journal()] == [-10000]


async def test_both_webhook_endpoints_are_documented_and_refuse_in_the_requests_language(billing):
    paths = (await billing.kernel.client.get("/schema/openapi.json")).json()["paths"]
    for provider in ("stripe", "vipps"):
        assert "post" in paths[f"/api/billing/webhooks/{provider}"]
    headers = {"Stripe-Signature": "t=1,v1=00", "Accept-Language": "nb"}
    response = await post(billing, b"{}", headers)
    assert (response.status_code, response.json()["detail"]) == (
        400,
        "webhook avvist: Stripe-Signature refused: no v1 signature matches the body",
    )
