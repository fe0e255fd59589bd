"""GDPR: a customer's billing data is exported; erasure removes what identifies them and
keeps what bookkeeping law requires (issued invoices, payments, the journal) until the
retention period has passed."""

from datetime import UTC, datetime, timedelta

import pytest
from billing_testlib import held_stripe_payment, table_rows

from mindframe.sdk import Subject

pytestmark = pytest.mark.anyio


async def call(billing, hook, subject):
    """Call `hook` on every plugin as the GDPR tooling does (the kernel's PluginHooks);
    the billing plugin's answer."""
    from mindframe.sdk import PluginHooks

    hooks = billing.kernel.runtime.container.resolve(PluginHooks)
    outcomes = await hooks.call_each(hook, subject=subject)
    [outcome] = [o for o in outcomes if o.plugin == "billing"]
    assert outcome.error is None, outcome.error
    return outcome.result


async def test_export_holds_the_customer_their_invoices_payments_and_journal(billing):
    customer = await billing.customer(user_id="u-42", name="Kari Nordmann")
    draft = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/invoices",
        json={"lines": [{"description": "Plan", "unit_amount": 1000}]},
    )
    await billing.operator.post(f"/api/billing/invoices/{draft.json()['id']}/finalise")
    exported = await call(billing, "export_personal_data", Subject(user_id="u-42"))
    [found] = exported["customers"]
    assert found["customer"]["name"] == "Kari Nordmann"
    assert [i["total"] for i in found["invoices"]] == [1250]
    assert found["balances"] == {"NOK": 1250}


async def test_erasure_keeps_issued_invoices_for_the_retention_period_then_anonymises(billing):
    customer = await billing.customer(user_id="u-7", name="Ola Nordmann", email="ola@x.no")
    draft = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/invoices",
        json={"lines": [{"description": "Plan", "unit_amount": 1000}]},
    )
    await billing.operator.post(f"/api/billing/invoices/{draft.json()['id']}/finalise")
    await call(billing, "erase_personal_data", Subject(user_id="u-7"))
    await call(billing, "erase_personal_data", Subject(user_id="u-7"))  # safe to repeat
    [row] = await table_rows(billing, "customers")
    assert (row["name"], row["email"], row["user_id"]) == (None, None, None)
    assert row["erased_at"] is not None
    [invoice] = await table_rows(billing, "invoices")
    assert invoice["buyer"]["name"] == "Ola Nordmann"  # kept: the law wants it on the invoice
    assert [e["amount"] for e in await billing.journal()] == [1250]
    from mindframe_plugins.billing import gdpr
    from mindframe_plugins.billing.service import BillingService

    service = billing.kernel.runtime.container.resolve(BillingService)
    soon = datetime.now(UTC) + timedelta(days=365 * 9)
    assert await service.transaction(gdpr.expire, soon, 10) == 0
    later = datetime.now(UTC) + timedelta(days=365 * 10 + 3)
    assert await service.transaction(gdpr.expire, later, 10) == 1
    [invoice] = await table_rows(billing, "invoices")
    assert "name" not in invoice["buyer"] and invoice["buyer"]["country"] == "NO"
    assert invoice["number"] == "INV-000001" and invoice["total"] == 1250


async def test_payments_stay_in_the_ledger_after_erasure(billing):
    payment_id, _ = await held_stripe_payment(billing)
    billing.stripe.webhooks.resume()
    await billing.stripe.settled()
    [customer] = await table_rows(billing, "customers")
    await call(billing, "erase_personal_data", Subject(user_id="x", email=customer["email"]))
    assert (await billing.payment(payment_id))["captured"] == 10000
