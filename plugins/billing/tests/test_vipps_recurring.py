"""Vipps MobilePay recurring agreements: a subscription's agreement is created and
activated, each renewal is invoiced and charged through it with an Idempotency-Key, its
webhooks are applied to the ledger exactly once, a failed charge enters dunning, and
cancelling the subscription stops the agreement."""

import json
from datetime import timedelta

import pytest
from billing_testlib import VIPPS_HOOK, VIPPS_SECRET, eventually, monthly_plan, table_rows
from fakes.vipps_server import FakeVipps, vipps_headers

pytestmark = pytest.mark.anyio


async def agreement(billing, locale="nb"):
    """A customer subscribed to a monthly plan of 200 NOK (net) by a Vipps agreement."""
    customer, plan_id = await monthly_plan(billing, locale)
    response = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/vipps-agreements",
        json={"plan_id": plan_id, "phone": "4712345678"},
    )
    assert response.status_code == 201, response.text
    return customer, response.json()


async def active_agreement(billing, locale="nb"):
    customer, created = await agreement(billing, locale)
    billing.vipps.accept_agreement(created["agreement_id"])
    await billing.vipps.settled()
    return customer, created


def recurring(billing):
    from mindframe_plugins.billing.service import BillingService

    return billing.kernel.runtime.container.resolve(BillingService).recurring


async def renew(billing):
    """The first period's charge, made on activation (by the `renewals` job, woken), and a
    renewals run after it that finds nothing more to do."""
    await eventually(lambda: _charges(billing))
    await recurring(billing).run()
    [charge] = [c for c in billing.vipps.charges.values() if c["status"] == "PENDING"]
    return charge


def calls(billing, method, suffix):
    return [c for c in billing.vipps.server.calls if c.method == method and c.path.endswith(suffix)]


async def one(billing, table):
    [row] = await table_rows(billing, table)
    return row


async def test_an_agreement_is_created_pending_and_activated_by_its_webhook(billing):
    _customer, created = await agreement(billing)
    assert created["url"].startswith(f"{billing.vipps.url}/recurring/confirm")
    [create] = calls(billing, "POST", "/recurring/v3/agreements")
    assert create.headers["idempotency-key"]
    body = json.loads(create.body)
    assert body["pricing"] == {"type": "LEGACY", "amount": 25000, "currency": "NOK"}  # 25 % VAT
    assert body["interval"] == {"unit": "MONTH", "count": 1}
    assert body["phoneNumber"] == "4712345678" and body["productName"] == "Pro"
    assert (await one(billing, "vipps_agreements"))["status"] == "PENDING"
    assert (await one(billing, "subscriptions"))["status"] == "incomplete"
    billing.vipps.accept_agreement(created["agreement_id"])
    await billing.vipps.settled()
    assert (await one(billing, "vipps_agreements"))["status"] == "ACTIVE"
    subscription = await one(billing, "subscriptions")
    assert (subscription["status"], subscription["provider_ref"]) == (
        "active",
        created["agreement_id"],
    )
    event = await billing.kernel.bus_probe.next("billing.subscription.updated")
    assert event.status == "active"


async def test_a_renewal_is_charged_with_an_idempotency_key_and_its_capture_pays_the_invoice(
    billing,
):
    customer, created = await active_agreement(billing)
    period_end = (await one(billing, "subscriptions"))["current_period_end"]
    charge = await renew(billing)
    [post] = calls(billing, "POST", "/charges")
    assert post.headers["idempotency-key"]
    assert (charge["amount"], charge["transactionType"]) == (25000, "DIRECT_CAPTURE")
    assert charge["agreementId"] == created["agreement_id"]
    await recurring(billing).run()  # the period moved on: nothing more is invoiced or charged
    assert len(calls(billing, "POST", "/charges")) == 1
    invoice = await one(billing, "invoices")
    assert (invoice["number"], invoice["status"], invoice["total"]) == ("INV-000001", "open", 25000)
    payment = await one(billing, "payments")
    assert (payment["provider_ref"], payment["id"]) == (charge["id"], charge["externalId"])
    subscription = await one(billing, "subscriptions")
    assert subscription["current_period_end"] - period_end >= timedelta(days=28)
    billing.vipps.collect(charge["id"])
    await billing.vipps.settled()
    assert (await one(billing, "invoices"))["status"] == "paid"
    assert (await one(billing, "payments"))["state"] == "CHARGED"
    journal = sorted((e["kind"], e["amount"]) for e in await billing.journal())
    assert journal == [("invoice", 25000), ("payment", -25000)]
    assert await billing.customer_balance(customer["id"]) == {"NOK": 0}
    assert (await billing.kernel.bus_probe.next("billing.invoice.paid")).number == "INV-000001"


async def test_a_charge_sent_again_after_a_crash_is_one_charge_at_vipps(billing):
    await active_agreement(billing)
    await eventually(lambda: _charges(billing))  # the first period, charged on activation
    from mindframe_plugins.billing import vipps_recurring

    service = recurring(billing)
    now = await _end_period(billing)
    [subscription_id] = await service._ctx.transaction(vipps_recurring._due_renewals, now)
    settings = service.settings
    await service._ctx.transaction(
        vipps_recurring._renew, subscription_id, now, settings.invoice_series, settings
    )
    [payment] = await service._ctx.transaction(vipps_recurring._unsent)
    key = vipps_recurring.operation_key("charge", payment["id"])
    first = await service.gateway.charge(  # sent, and the answer lost to a crash
        payment["agreement_id"],
        key=key,
        external_id=payment["id"],
        amount=payment["amount"],
        description="INV-000002",
        due=now.date(),
    )
    await service.send_charges()  # after the restart: sent again under the same key
    assert len(billing.vipps.charges) == 2  # the first period's and this one
    second = [p for p in await table_rows(billing, "payments") if p["id"] == payment["id"]]
    assert second[0]["provider_ref"] == first


async def test_a_failed_charge_enters_dunning_and_the_retry_is_a_new_charge(billing):
    from test_dunning import _make_due, dunning_job, run_job

    customer, _created = await active_agreement(billing)
    charge = await renew(billing)
    billing.vipps.collect(charge["id"], failure="insufficient_funds")
    await billing.vipps.settled()
    invoice = await one(billing, "invoices")
    assert (invoice["status"], invoice["dunning_attempts"]) == ("open", 1)
    assert (await one(billing, "subscriptions"))["status"] == "past_due"
    assert (await one(billing, "payments"))["state"] == "FAILED"
    failed = await billing.kernel.bus_probe.next("billing.payment.failed")
    assert failed.reason == "insufficient_funds"
    await run_job(dunning_job(billing))
    mails = await eventually(lambda: _failure_mails(billing))
    assert mails[0]["To"] == "ola@example.no" and "INV-000001" in str(mails[0]["Subject"])
    await _make_due(billing, invoice["id"])
    await run_job(dunning_job(billing))  # the retry: a new charge on the agreement
    keys = {c.headers["idempotency-key"] for c in calls(billing, "POST", "/charges")}
    assert len(billing.vipps.charges) == 2 and len(keys) == 2
    [retry] = [c for c in billing.vipps.charges.values() if c["status"] == "PENDING"]
    billing.vipps.collect(retry["id"])
    await billing.vipps.settled()
    assert (await one(billing, "invoices"))["status"] == "paid"
    assert (await one(billing, "subscriptions"))["status"] == "active"
    assert await billing.customer_balance(customer["id"]) == {"NOK": 0}


async def _failure_mails(billing):
    return [m for m in billing.sink.received if "ikke" in str(m["Subject"])]


def captured_event(billing, charge):
    agreement_row = billing.vipps.agreements[charge["agreementId"]]
    charge["status"] = "CHARGED"
    return FakeVipps.body_of(
        {
            "msn": billing.vipps.keys[3],
            "agreementId": charge["agreementId"],
            "agreementExternalId": agreement_row["externalId"],
            "chargeId": charge["id"],
            "chargeExternalId": charge["externalId"],
            "amount": charge["amount"],
            "currency": "NOK",
            "chargeType": "RECURRING",
            "eventType": "recurring.charge-captured.v1",
            "occurred": "2026-11-30T10:00:00Z",
            "actor": "MERCHANT",
        }
    )


def sign(body, secret=VIPPS_SECRET):
    return vipps_headers(body, secret, "mindframe.test", "/api/billing/webhooks/vipps")


async def test_the_same_charge_webhook_five_times_is_applied_once(billing):
    await active_agreement(billing)
    charge = await renew(billing)
    body = captured_event(billing, charge)
    outcomes = [
        (await billing.kernel.client.post(VIPPS_HOOK, content=body, headers=sign(body))).json()
        for _ in range(5)
    ]
    assert [o["received"] for o in outcomes] == ["applied"] + ["duplicate"] * 4
    journal = sorted((e["kind"], e["amount"]) for e in await billing.journal())
    assert journal == [("invoice", 25000), ("payment", -25000)]
    hooks = [h for h in await table_rows(billing, "webhooks") if h["provider"] == "vipps"]
    assert [h["event_type"] for h in hooks].count("recurring.charge-captured.v1") == 1


async def test_a_forged_or_malformed_recurring_webhook_is_refused_and_changes_nothing(billing):
    await active_agreement(billing)
    charge = await renew(billing)
    body = captured_event(billing, charge)
    forged = await billing.kernel.client.post(
        VIPPS_HOOK, content=body, headers=sign(body, secret="not-the-secret")
    )
    no_charge = json.dumps({**json.loads(body), "chargeId": None}).encode()
    malformed = await billing.kernel.client.post(
        VIPPS_HOOK, content=no_charge, headers=sign(no_charge)
    )
    assert (forged.status_code, malformed.status_code) == (400, 400)
    assert [e["kind"] for e in await billing.journal()] == ["invoice"]
    assert (await one(billing, "invoices"))["status"] == "open"


async def test_cancelling_the_subscription_stops_the_agreement(billing):
    _customer, created = await active_agreement(billing)
    await eventually(lambda: _charges(billing))  # the first period, charged on activation
    subscription = await one(billing, "subscriptions")
    response = await billing.operator.post(
        f"/api/billing/subscriptions/{subscription['id']}/cancel"
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    [patch] = calls(billing, "PATCH", created["agreement_id"])
    assert patch.headers["idempotency-key"] and json.loads(patch.body) == {"status": "STOPPED"}
    assert billing.vipps.agreements[created["agreement_id"]]["status"] == "STOPPED"
    await billing.vipps.settled()  # the stopped webhook: already known, nothing more
    assert (await one(billing, "vipps_agreements"))["status"] == "STOPPED"
    await billing.kernel.bus_probe.next("billing.subscription.cancelled")
    with pytest.raises(TimeoutError):
        await billing.kernel.bus_probe.next("billing.subscription.cancelled", timeout=0.5)
    await _end_period(billing)
    await recurring(billing).run()
    assert len(billing.vipps.charges) == 1  # a cancelled subscription is charged no more


async def test_activation_charges_the_first_period_at_once_and_the_renewals_job_not_again(
    billing,
):
    from mindframe_plugins.billing.jobs import BillingJobs
    from test_dunning import run_job

    _customer, created = await active_agreement(billing)  # no renewals run asked for
    [charge] = await eventually(lambda: _charges(billing))
    assert (charge["agreementId"], charge["amount"]) == (created["agreement_id"], 25000)
    invoice = await one(billing, "invoices")
    assert (invoice["number"], invoice["total"]) == ("INV-000001", 25000)
    assert (await one(billing, "payments"))["provider_ref"] == charge["id"]
    await run_job(billing.kernel.runtime.container.resolve(BillingJobs).jobs["renewals"])
    assert len(billing.vipps.charges) == 1
    assert len(calls(billing, "POST", "/charges")) == 1
    assert len(await table_rows(billing, "invoices")) == 1


async def _charges(billing):
    """The fake's charges once ours has learnt the charge id of its payment."""
    linked = [p for p in await table_rows(billing, "payments") if p["provider_ref"]]
    return list(billing.vipps.charges.values()) if linked else None


async def _end_period(billing):
    """Move the subscription's period end to now, as if a month had passed; returns now."""
    from mindframe_plugins.billing import ledger
    from mindframe_plugins.billing.models import subscriptions
    from sqlalchemy import update

    now = ledger.now()

    def period_ended(session):
        session.execute(update(subscriptions).values(current_period_end=now))

    await recurring(billing)._ctx.transaction(period_ended)
    return now


async def test_periods_begun_on_the_31st_end_on_the_31st_wherever_a_month_has_one(billing):
    """Each period ends whole months after the first began: after February's short period
    the 31st comes back (a month on from each end would be the 28th ever after)."""
    from datetime import UTC, datetime

    from mindframe_plugins.billing.models import subscriptions
    from sqlalchemy import update

    await active_agreement(billing)
    await eventually(lambda: _charges(billing))  # the first period, charged on activation
    anchor = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)

    def begun_on_the_31st(session):
        session.execute(
            update(subscriptions).values(
                period_anchor=anchor, current_period_end=datetime(2026, 2, 28, 10, 0, tzinfo=UTC)
            )
        )

    await recurring(billing)._ctx.transaction(begun_on_the_31st)
    ends = []
    for _ in range(3):  # each run invoices the one period that ended
        await recurring(billing).run()
        end = (await one(billing, "subscriptions"))["current_period_end"]
        ends.append(end.replace(tzinfo=UTC) if end.tzinfo is None else end)
    assert [(e.month, e.day, e.hour) for e in ends] == [(3, 31, 10), (4, 30, 10), (5, 31, 10)]
    assert len(await table_rows(billing, "invoices")) == 1 + 3  # the first period, and three


def test_a_period_end_follows_its_anchor_not_the_end_before_it():
    from datetime import UTC, datetime

    from mindframe_plugins.billing.vipps_recurring import next_period_end

    def chain(anchor: datetime, interval: str, count: int) -> list[tuple[int, int, int]]:
        ends, end = [], anchor
        for _ in range(count):
            end = next_period_end(end, interval, anchor)
            ends.append((end.year, end.month, end.day))
        return ends

    assert chain(datetime(2027, 1, 31, tzinfo=UTC), "month", 4) == [
        (2027, 2, 28), (2027, 3, 31), (2027, 4, 30), (2027, 5, 31),
    ]  # fmt: skip
    assert chain(datetime(2028, 2, 29, tzinfo=UTC), "year", 4) == [
        (2029, 2, 28), (2030, 2, 28), (2031, 2, 28), (2032, 2, 29),
    ]  # fmt: skip
    # an end already past the anchor's next date (a period that ran late) goes on from there
    late = next_period_end(
        datetime(2027, 3, 5, tzinfo=UTC), "month", datetime(2027, 1, 31, tzinfo=UTC)
    )
    assert (late.month, late.day) == (3, 31)


async def test_a_database_from_before_the_anchor_gains_its_column_at_start(boot_kernel, tmp_path):
    import sqlite3

    data_dir = tmp_path / "anchored"
    async with boot_kernel(["billing"], data_dir=data_dir):
        pass
    database = sqlite3.connect(data_dir / "mindframe.db")
    with database:  # the subscriptions table as the version before the anchor left it
        database.execute("ALTER TABLE billing_subscriptions DROP COLUMN period_anchor")
        database.execute("DROP TABLE IF EXISTS billing_alembic_version")
        database.execute("DELETE FROM kernel_schemas WHERE plugin = 'billing'")
    database.close()
    async with boot_kernel(["billing"], data_dir=data_dir):
        pass
    database = sqlite3.connect(data_dir / "mindframe.db")
    columns = [row[1] for row in database.execute("PRAGMA table_info(billing_subscriptions)")]
    database.close()
    assert "period_anchor" in columns
