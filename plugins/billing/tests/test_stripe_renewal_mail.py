"""A subscription's period invoiced at Stripe (`invoice.paid` or `invoice.payment_failed`
with `billing_reason` `subscription_create` or `subscription_cycle`) becomes one numbered
invoice of ours, booked once and mailed once to the customer in their locale, as HTML with
the PDF attached, however often and in whatever order Stripe delivers its webhooks."""

import pytest
from billing_testlib import (
    STRIPE_HOOK,
    active_subscription,
    billing_job,
    eventually,
    run_job,
    signed_stripe,
    table_rows,
)
from sqlalchemy import text

pytestmark = pytest.mark.anyio

SUBJECT = "Faktura {number} från Mindframe AS"
DUNNING_SUBJECT = "Betalningen för faktura {number} gick inte igenom"


async def swedish_subscription(billing):
    """A Swedish customer (sv, SEK) subscribed through Checkout to 200 kr a month (net):
    Stripe collects 250 kr for the first period at once. (customer, subscription id)."""
    return await active_subscription(
        billing, "sv", "SEK", country="SE", email="anna@example.se", name="Anna Andersson"
    )


async def deliver(billing, events):
    for event in events:
        body, headers = signed_stripe(event)
        response = await billing.kernel.client.post(STRIPE_HOOK, content=body, headers=headers)
        assert response.status_code == 200, response.text


async def mail_settled(billing):
    """Billing handed every invoice to the mail plugin, and the mail plugin sent them."""
    from mindframe_plugins.billing.service import BillingService

    service = billing.kernel.runtime.container.resolve(BillingService)

    def settled(session):
        unhanded = "SELECT count(*) FROM billing_invoice_mail WHERE handed_at IS NULL"
        unsent = "SELECT count(*) FROM mail_outbox WHERE state != 'sent'"
        return not any(session.execute(text(q)).scalar_one() for q in (unhanded, unsent))

    await run_job(billing_job(billing, "mail"))
    await eventually(lambda: service.transaction(settled))


def mails_titled(billing, subject):
    return [m for m in billing.sink.received if str(m["Subject"]) == subject]


async def invoice_of(billing, stripe_invoice_id):
    [invoice] = [
        i for i in await table_rows(billing, "invoices") if i["provider_ref"] == stripe_invoice_id
    ]
    return invoice


async def test_a_renewal_delivered_five_times_is_one_invoice_one_booking_one_mail(billing):
    customer, subscription = await swedish_subscription(billing)
    stripe = billing.stripe
    stripe.webhooks.paused = True
    renewal = stripe.renew(subscription, succeed=True)
    held = stripe.events[-2:]
    assert [e["type"] for e in held] == ["payment_intent.succeeded", "invoice.paid"]
    assert held[1]["data"]["object"]["billing_reason"] == "subscription_cycle"
    # the invoice before its payment, each five times; then Stripe's own deliveries too
    await deliver(billing, [e for e in reversed(held) for _ in range(5)])
    stripe.webhooks.resume()
    await stripe.settled()

    invoice = await invoice_of(billing, renewal["id"])
    assert invoice["number"] == "INV-000002" and invoice["status"] == "paid"
    assert (invoice["subtotal"], invoice["vat_amount"], invoice["total"]) == (20000, 5000, 25000)
    booked = [e for e in await billing.journal(customer["id"]) if e["invoice_id"] == invoice["id"]]
    assert sorted((e["kind"], e["source"], e["amount"]) for e in booked) == [
        ("invoice", invoice["id"], 25000),
        ("payment", renewal["payment_intent"], -25000),
    ]
    assert await billing.customer_balance(customer["id"]) == {"SEK": 0}

    await mail_settled(billing)
    [mail] = mails_titled(billing, SUBJECT.format(number="INV-000002"))
    assert mail["To"] == "anna@example.se"
    assert "250,00\xa0kr" in mail.get_body(("html",)).get_content()  # Babel, Swedish
    assert "Fakturan bifogas som PDF" in mail.get_body(("plain",)).get_content()
    [attachment] = mail.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "INV-000002.pdf"
    assert attachment.get_payload(decode=True).startswith(b"%PDF")
    # the first period (subscription_create) was invoiced and mailed once too
    assert len(mails_titled(billing, SUBJECT.format(number="INV-000001"))) == 1

    # a crash after the handover, before the mark: handed over again, mailed once
    await _forget_handovers(billing)
    await mail_settled(billing)
    assert len(mails_titled(billing, SUBJECT.format(number="INV-000002"))) == 1
    assert len(billing.sink.received) == 2


async def _forget_handovers(billing):
    from mindframe_plugins.billing.service import BillingService

    service = billing.kernel.runtime.container.resolve(BillingService)
    forget = text("UPDATE billing_invoice_mail SET handed_at = NULL, mail_id = NULL")
    await service.transaction(lambda session: session.execute(forget))


async def test_a_failed_renewal_then_paid_is_dunned_once_and_its_invoice_mailed_once(billing):
    customer, subscription = await swedish_subscription(billing)
    stripe = billing.stripe
    renewal = stripe.renew(subscription, succeed=False)
    await stripe.settled()
    invoice = await invoice_of(billing, renewal["id"])
    assert (invoice["number"], invoice["status"], invoice["dunning_attempts"]) == (
        "INV-000002",
        "open",
        1,
    )
    [row] = await table_rows(billing, "subscriptions")
    assert row["status"] == "past_due"
    await run_job(billing_job(billing, "dunning"))  # decides the retry and queues the 'failed' mail
    await mail_settled(billing)
    [dunned] = mails_titled(billing, DUNNING_SUBJECT.format(number="INV-000002"))
    assert "250,00\xa0kr" in dunned.get_content()

    paid = stripe.collect(renewal["id"])  # Stripe's own retry collects it
    await deliver(billing, [stripe.events[-2], stripe.events[-2]])  # invoice.paid again
    await stripe.settled()
    assert paid["status"] == "paid"
    invoice = await invoice_of(billing, renewal["id"])
    assert (invoice["status"], invoice["next_retry_at"]) == ("paid", None)
    [row] = await table_rows(billing, "subscriptions")
    assert row["status"] == "active"
    assert await billing.customer_balance(customer["id"]) == {"SEK": 0}
    await run_job(billing_job(billing, "dunning"))  # nothing left to dun: no further mail
    await mail_settled(billing)
    assert len(mails_titled(billing, SUBJECT.format(number="INV-000002"))) == 1
    assert len(mails_titled(billing, DUNNING_SUBJECT.format(number="INV-000002"))) == 1
    assert len(billing.sink.received) == 3  # INV-000001, INV-000002 and the one dunning mail
