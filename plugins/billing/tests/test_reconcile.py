"""Reconciliation: every difference between the ledger and Stripe's and Vipps's objects is
reported, on demand through the API and `mindframe billing reconcile`."""

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from billing_testlib import STRIPE_SECRET, VIPPS_SECRET, held_stripe_payment

pytestmark = pytest.mark.anyio
MINDFRAME = Path(sys.executable).with_name("mindframe")


async def drifted(billing):
    """A card payment whose success webhook never came, and a Vipps payment authorized in
    the app without our hearing of it."""
    payment_id, _ = await held_stripe_payment(billing)  # its webhook is held, never sent
    customer = await billing.customer()
    vipps = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/vipps-payments",
        json={"amount": 5000, "currency": "NOK"},
    )
    await billing.vipps.settled()
    billing.vipps.webhooks.paused = True
    billing.vipps.authorize(vipps.json()["reference"])
    return payment_id, vipps.json()["reference"]


def expected_differences(billing, payment_intent, reference):
    return [
        {
            "provider": "stripe",
            "object_id": payment_intent,
            "field": "captured",
            "ours": 0,
            "theirs": 10000,
        },
        {
            "provider": "vipps",
            "object_id": reference,
            "field": "state",
            "ours": "CREATED",
            "theirs": "AUTHORIZED",
        },
    ]


async def test_differences_are_reported_until_the_ledger_catches_up(billing):
    payment_id, reference = await drifted(billing)
    intent = (await billing.payment(payment_id))["provider_ref"]
    response = await billing.operator.get("/api/billing/reconciliation")
    assert response.json()["differences"] == expected_differences(billing, intent, reference)
    billing.stripe.webhooks.resume()
    billing.vipps.webhooks.resume()
    await billing.stripe.settled()
    await billing.vipps.settled()
    assert (await billing.operator.get("/api/billing/reconciliation")).json() == {"differences": []}


async def test_mindframe_billing_reconcile_lists_them_and_exits_1(billing, tmp_path):
    payment_id, reference = await drifted(billing)
    intent = (await billing.payment(payment_id))["provider_ref"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MINDFRAME_")},
        "MINDFRAME_DATA_DIR": str(tmp_path / "data"),
        "MINDFRAME_BILLING__STRIPE_API_KEY": billing.stripe.api_key,
        "MINDFRAME_BILLING__STRIPE_API_BASE": billing.stripe.url,
        "MINDFRAME_BILLING__STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
        "MINDFRAME_BILLING__VIPPS_API_BASE": billing.vipps.url,
        "MINDFRAME_BILLING__VIPPS_CLIENT_ID": billing.vipps.keys[0],
        "MINDFRAME_BILLING__VIPPS_CLIENT_SECRET": billing.vipps.keys[1],
        "MINDFRAME_BILLING__VIPPS_SUBSCRIPTION_KEY": billing.vipps.keys[2],
        "MINDFRAME_BILLING__VIPPS_MERCHANT_SERIAL_NUMBER": billing.vipps.keys[3],
        "MINDFRAME_BILLING__VIPPS_WEBHOOK_SECRET": VIPPS_SECRET,
        "MINDFRAME_AUTH__ARGON2_TIME_COST": "1",
        "MINDFRAME_AUTH__ARGON2_MEMORY_COST": "8",
        "MINDFRAME_AUTH__ARGON2_PARALLELISM": "1",
    }
    process = await asyncio.create_subprocess_exec(
        str(MINDFRAME),
        "billing",
        "reconcile",
        "--json",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode == 1, err.decode()
    assert json.loads(out) == expected_differences(billing, intent, reference)


async def test_mindframe_help_lists_billing_without_importing_it(tmp_path):
    process = await asyncio.create_subprocess_exec(
        str(MINDFRAME),
        "--help",
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, _ = await process.communicate()
    assert "billing" in out.decode() and "reconcile" in out.decode()


async def test_a_vipps_agreement_stopped_behind_our_back_and_a_charge_amount_are_reported(
    billing,
):
    from billing_testlib import eventually
    from test_vipps_recurring import _charges, active_agreement

    _customer, created = await active_agreement(billing)
    [charge] = await eventually(lambda: _charges(billing))  # the first period's
    agreement = created["agreement_id"]
    billing.vipps.agreements[agreement]["status"] = "STOPPED"  # no webhook tells us
    billing.vipps.charges[charge["id"]]["amount"] = 24000
    response = await billing.operator.get("/api/billing/reconciliation")
    assert response.json()["differences"] == [
        {
            "provider": "vipps",
            "object_id": agreement,
            "field": "status",
            "ours": "ACTIVE",
            "theirs": "STOPPED",
        },
        {
            "provider": "vipps",
            "object_id": charge["id"],
            "field": "amount",
            "ours": 25000,
            "theirs": 24000,
        },
    ]


async def test_vipps_charge_statuses_map_onto_our_payment_states(billing):
    """DUE and PROCESSING are a charge Vipps has not settled: our payment is still PENDING,
    no difference. CHARGED or FAILED behind our back is one until the webhook says so."""
    from billing_testlib import eventually
    from test_vipps_recurring import _charges, active_agreement

    def state_differences(response):
        return [d for d in response.json()["differences"] if d["field"] == "state"]

    await active_agreement(billing)
    [charge] = await eventually(lambda: _charges(billing))  # the first period's
    remote = billing.vipps.charges[charge["id"]]
    billing.vipps.webhooks.paused = True
    for unsettled in ("PENDING", "DUE", "PROCESSING"):
        remote["status"] = unsettled
        response = await billing.operator.get("/api/billing/reconciliation")
        assert response.json() == {"differences": []}, unsettled
    for settled in ("CHARGED", "FAILED"):
        remote["status"] = settled
        response = await billing.operator.get("/api/billing/reconciliation")
        assert state_differences(response) == [
            {
                "provider": "vipps",
                "object_id": charge["id"],
                "field": "state",
                "ours": "PENDING",
                "theirs": settled,
            }
        ]
    billing.vipps.webhooks.resume()
    billing.vipps.collect(charge["id"], failure="insufficient_funds")  # FAILED, told us
    await billing.vipps.settled()
    assert (await billing.operator.get("/api/billing/reconciliation")).json() == {"differences": []}


async def test_a_partly_captured_and_refunded_vipps_payment_is_compared_by_its_aggregate(
    billing,
):
    """Partly captured and refunded, a Vipps payment stays AUTHORIZED and its aggregate
    carries the sums: equal to our journal's, no difference; moved at Vipps alone, each
    sum that differs is one."""
    from test_vipps import authorized_payment

    created = await authorized_payment(billing)
    path = f"/api/billing/payments/{created['payment_id']}"
    await billing.operator.post(f"{path}/captures", json={"amount": 20000})
    await billing.operator.post(f"{path}/refunds", json={"amount": 5000})
    await billing.vipps.settled()
    assert (await billing.payment(created["payment_id"]))["state"] == "AUTHORIZED"
    assert (await billing.operator.get("/api/billing/reconciliation")).json() == {"differences": []}
    remote = billing.vipps.payments[created["reference"]]
    remote["capturedAmount"], remote["refundedAmount"] = 25000, 0  # no webhook tells us
    response = await billing.operator.get("/api/billing/reconciliation")
    assert [(d["field"], d["ours"], d["theirs"]) for d in response.json()["differences"]] == [
        ("captured", 20000, 25000),
        ("refunded", 5000, 0),
    ]
