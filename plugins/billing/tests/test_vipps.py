"""Vipps MobilePay ePayment: token, create with Idempotency-Key, authorize, partial
capture then partial refund, cancel; webhooks verified by Vipps's HMAC scheme."""

import json
import time
from email.utils import formatdate

import pytest
from billing_testlib import VIPPS_HOOK, VIPPS_SECRET, eventually, table_rows
from fakes.vipps_server import vipps_headers

pytestmark = pytest.mark.anyio


async def authorized_payment(billing, amount=50000):
    customer = await billing.customer()
    response = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/vipps-payments",
        json={
            "amount": amount,
            "currency": "NOK",
            "description": "Årsabonnement",
            "phone": "4712345678",
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["url"].startswith(billing.vipps.url)
    billing.vipps.authorize(created["reference"])
    await billing.vipps.settled()
    return created


async def test_create_carries_an_idempotency_key_and_a_token(billing):
    created = await authorized_payment(billing)
    [token, create] = billing.vipps.server.calls[:2]
    assert token.path == "/accesstoken/get"
    assert create.headers["idempotency-key"] and create.headers["authorization"].startswith(
        "Bearer "
    )
    assert json.loads(create.body)["amount"] == {"currency": "NOK", "value": 50000}
    payment = await billing.payment(created["payment_id"])
    assert (payment["state"], payment["authorized"]) == ("AUTHORIZED", 50000)


async def test_partial_capture_then_partial_refund(billing):
    created = await authorized_payment(billing)
    path = f"/api/billing/payments/{created['payment_id']}"
    first = await billing.operator.post(f"{path}/captures", json={"amount": 20000})
    assert first.status_code == 200, first.text
    assert first.json()["captured"] == 20000
    second = await billing.operator.post(f"{path}/captures", json={"amount": 10000})
    assert second.json()["captured"] == 30000
    refund = await billing.operator.post(f"{path}/refunds", json={"amount": 5000})
    assert (refund.json()["captured"], refund.json()["refunded"]) == (30000, 5000)
    await billing.vipps.settled()  # the CAPTURED and REFUNDED webhooks book nothing more
    assert sorted(e["amount"] for e in await billing.journal()) == [-20000, -10000, 5000]
    remote = billing.vipps.payments[created["reference"]]
    assert (remote["capturedAmount"], remote["refundedAmount"]) == (30000, 5000)
    over_capture = await billing.operator.post(f"{path}/captures", json={"amount": 20001})
    over_refund = await billing.operator.post(f"{path}/refunds", json={"amount": 25001})
    assert (over_capture.status_code, over_refund.status_code) == (409, 409)
    reconciled = await billing.operator.get("/api/billing/reconciliation")
    assert reconciled.json() == {"differences": []}


async def test_a_capture_whose_webhook_overtakes_the_answer_is_booked_once(billing):
    created = await authorized_payment(billing)
    billing.vipps.webhook_before_answer = True
    path = f"/api/billing/payments/{created['payment_id']}"
    response = await billing.operator.post(f"{path}/captures", json={"amount": 50000})
    assert response.json()["captured"] == 50000
    assert billing.vipps.webhooks.deliveries[-1].statuses == [200]
    assert [e["amount"] for e in await billing.journal()] == [-50000]


async def test_cancel_releases_what_was_not_captured(billing):
    created = await authorized_payment(billing)
    path = f"/api/billing/payments/{created['payment_id']}"
    await billing.operator.post(f"{path}/captures", json={"amount": 10000})
    response = await billing.operator.post(f"{path}/cancel")
    assert response.json()["state"] == "TERMINATED"
    assert billing.vipps.payments[created["reference"]]["cancelledAmount"] == 40000


async def test_an_aborted_payment_is_a_failed_payment(billing):
    customer = await billing.customer()
    response = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/vipps-payments",
        json={"amount": 1000, "currency": "NOK"},
    )
    billing.vipps.abort(response.json()["reference"])
    event = await billing.kernel.bus_probe.next("billing.payment.failed", timeout=5)
    assert event.reason == "aborted"


async def post_vipps(billing, body, headers):
    return await billing.kernel.client.post(VIPPS_HOOK, content=body, headers=headers)


def capture_event(reference, psp="psp-1", key="k-1", amount=50000):
    return json.dumps(
        {
            "msn": "123456",
            "reference": reference,
            "pspReference": psp,
            "name": "CAPTURED",
            "amount": {"currency": "NOK", "value": amount},
            "timestamp": "2026-11-30T10:00:00Z",
            "idempotencyKey": key,
            "success": True,
        }
    ).encode()


async def test_forged_stale_tampered_and_malformed_vipps_webhooks_are_refused(billing):
    created = await authorized_payment(billing)
    body = capture_event(created["reference"])
    sign = lambda b, secret=VIPPS_SECRET, date=None: vipps_headers(  # noqa: E731
        b, secret, "mindframe.test", "/api/billing/webhooks/vipps", date
    )
    forged = sign(body, secret="not-the-secret")
    stale = sign(body, date=formatdate(time.time() - 301, usegmt=True))
    tampered = sign(body)
    wrong_path = vipps_headers(body, VIPPS_SECRET, "mindframe.test", "/elsewhere")
    no_json = b"nope"
    answers = [
        await post_vipps(billing, body, forged),
        await post_vipps(billing, body, stale),
        await post_vipps(billing, capture_event(created["reference"], amount=1), tampered),
        await post_vipps(billing, body, wrong_path),
        await post_vipps(billing, no_json, sign(no_json)),
        await post_vipps(billing, body, {"Content-Type": "application/json"}),
    ]
    assert [a.status_code for a in answers] == [400] * 6
    assert all(a.headers["content-type"].startswith("application/problem+json") for a in answers)
    assert await billing.journal() == []
    good = await post_vipps(billing, body, sign(body))
    assert good.json() == {"received": "applied"}
    assert [e["amount"] for e in await billing.journal()] == [-50000]


async def test_the_same_vipps_event_five_times_captures_once(billing):
    created = await authorized_payment(billing)
    body = capture_event(created["reference"], amount=20000)
    headers = vipps_headers(body, VIPPS_SECRET, "mindframe.test", "/api/billing/webhooks/vipps")
    outcomes = [(await post_vipps(billing, body, headers)).json()["received"] for _ in range(5)]
    assert outcomes == ["applied"] + ["duplicate"] * 4
    payment = await billing.payment(created["payment_id"])
    assert payment["captured"] == 20000
    assert (
        len([r for r in await table_rows(billing, "webhooks") if r["event_type"] == "CAPTURED"])
        == 1
    )
    assert await eventually(lambda: billing.kernel.bus_probe.next("billing.payment.succeeded"))
