"""Yearly plans, flat and per seat: a subscription to one runs a calendar year (the 29th of
February is followed by the 28th), and its invoice, first and renewal, is the yearly price
times the seats with the customer's VAT, whether Stripe or a Vipps agreement collects it."""

import calendar
import json
from datetime import UTC, datetime

import pytest
from billing_testlib import eventually, table_rows

pytestmark = pytest.mark.anyio

SEAT_A_YEAR = 100_000  # 1 000,00 EUR net a seat a year
SEATS = 3
FINNISH_SEAT = 125_500  # 25.5 % VAT in: what Stripe is asked for a seat
FINNISH_TOTAL = 376_500  # three seats, VAT in
FINNISH_VAT = 76_500


def a_year_after(moment: datetime) -> datetime:
    """The same day and time a year later; the 28th of February after the 29th."""
    year = moment.year + 1
    return moment.replace(
        year=year, day=min(moment.day, calendar.monthrange(year, moment.month)[1])
    )


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def finnish_customer(billing):
    return await billing.customer(country="FI", currency="EUR", locale="fi", email="aino@ex.fi")


async def yearly_plan(billing, pricing="per_seat", unit_amount=SEAT_A_YEAR, currency="EUR"):
    product = await billing.operator.post("/api/billing/products", json={"name": "Mindframe"})
    response = await billing.operator.post(
        "/api/billing/plans",
        json={
            "product_id": product.json()["id"],
            "name": "Team, yearly",
            "unit_amount": unit_amount,
            "currency": currency,
            "pricing": pricing,
            "interval": "year",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["interval"] == "year"
    return response.json()


async def invoices_in_order(billing):
    return sorted(await table_rows(billing, "invoices"), key=lambda i: i["number"])


# --- the calendar --------------------------------------------------------------------------


def test_a_yearly_period_ends_on_the_same_day_a_year_on_and_the_29th_of_february_on_the_28th():
    from mindframe_plugins.billing.vipps_recurring import next_period_end

    at = datetime(2026, 3, 15, 9, 30, tzinfo=UTC)
    assert next_period_end(at, "year") == datetime(2027, 3, 15, 9, 30, tzinfo=UTC)
    leap_day = datetime(2024, 2, 29, 9, 30, tzinfo=UTC)
    assert next_period_end(leap_day, "year") == datetime(2025, 2, 28, 9, 30, tzinfo=UTC)
    # into a leap year: the 28th stays the 28th (one more day of service, never one less)
    assert next_period_end(datetime(2027, 2, 28, tzinfo=UTC), "year") == datetime(
        2028, 2, 28, tzinfo=UTC
    )
    assert next_period_end(at, "month") == datetime(2026, 4, 15, 9, 30, tzinfo=UTC)


# --- Stripe --------------------------------------------------------------------------------


async def test_a_yearly_per_seat_stripe_subscription_runs_a_year_at_the_yearly_price_with_vat(
    billing,
):
    customer = await finnish_customer(billing)
    plan = await yearly_plan(billing)
    response = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/subscriptions",
        json={"plan_id": plan["id"], "seats": SEATS},
    )
    assert response.status_code == 201, response.text
    [session] = billing.stripe.sessions()
    [item] = session["line_items_params"]
    assert item["price_data"]["recurring"] == {"interval": "year"}
    assert (item["price_data"]["unit_amount"], item["quantity"]) == (str(FINNISH_SEAT), "3")
    assert item["price_data"]["currency"] == "eur"
    completed = billing.stripe.complete_checkout(session["id"])
    await billing.stripe.settled()
    at_stripe = billing.stripe.objects[completed["subscription"]]
    start = datetime.fromtimestamp(at_stripe["current_period_start"], UTC)
    [subscription] = await table_rows(billing, "subscriptions")
    assert (subscription["status"], subscription["seats"], subscription["plan_id"]) == (
        "active",
        SEATS,
        plan["id"],
    )
    assert aware(subscription["current_period_end"]) == a_year_after(start)
    [first] = await invoices_in_order(billing)
    assert (first["number"], first["status"], first["currency"]) == ("INV-000001", "paid", "EUR")
    assert (first["subtotal"], first["vat_amount"], first["total"]) == (
        SEATS * SEAT_A_YEAR,
        FINNISH_VAT,
        FINNISH_TOTAL,
    )
    assert str(first["vat_rate"]) == "25.5"

    billing.stripe.renew(completed["subscription"], succeed=True)  # a year later
    await billing.stripe.settled()
    [_, renewal] = await invoices_in_order(billing)
    assert (renewal["number"], renewal["status"]) == ("INV-000002", "paid")
    assert (renewal["subtotal"], renewal["vat_amount"], renewal["total"]) == (
        SEATS * SEAT_A_YEAR,
        FINNISH_VAT,
        FINNISH_TOTAL,
    )
    journal = sorted((e["kind"], e["amount"]) for e in await billing.journal(customer["id"]))
    assert journal == [("invoice", FINNISH_TOTAL)] * 2 + [("payment", -FINNISH_TOTAL)] * 2
    assert await billing.customer_balance(customer["id"]) == {"EUR": 0}


async def test_a_flat_yearly_stripe_plan_charges_one_yearly_price_whatever_the_seats(billing):
    customer = await billing.customer(country="DE", currency="EUR", email="kai@example.de")
    plan = await yearly_plan(billing, pricing="flat", unit_amount=240_000)
    response = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/subscriptions",
        json={"plan_id": plan["id"], "seats": 7},
    )
    assert response.status_code == 201, response.text
    [session] = billing.stripe.sessions()
    [item] = session["line_items_params"]
    assert item["price_data"]["recurring"] == {"interval": "year"}
    assert (item["price_data"]["unit_amount"], item["quantity"]) == ("285600", "1")  # 19 %
    billing.stripe.complete_checkout(session["id"])
    await billing.stripe.settled()
    [invoice] = await table_rows(billing, "invoices")
    assert (invoice["subtotal"], invoice["vat_amount"], invoice["total"]) == (
        240_000,
        45_600,
        285_600,
    )
    [subscription] = await table_rows(billing, "subscriptions")
    assert subscription["seats"] == 1


# --- Vipps MobilePay recurring -------------------------------------------------------------


def recurring(billing):
    from mindframe_plugins.billing.service import BillingService

    return billing.kernel.runtime.container.resolve(BillingService).recurring


async def linked_charges(billing, count):
    """The fake's charges once `count` payments of ours know their charge ids."""
    linked = [p for p in await table_rows(billing, "payments") if p["provider_ref"]]
    return list(billing.vipps.charges.values()) if len(linked) >= count else None


async def test_a_yearly_per_seat_vipps_agreement_is_invoiced_and_charged_a_year_at_a_time(
    billing,
):
    from mindframe_plugins.billing import ledger
    from mindframe_plugins.billing.models import subscriptions
    from sqlalchemy import update

    customer = await finnish_customer(billing)
    plan = await yearly_plan(billing)
    response = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/vipps-agreements",
        json={"plan_id": plan["id"], "seats": SEATS, "phone": "4712345678"},
    )
    assert response.status_code == 201, response.text
    [create] = [c for c in billing.vipps.server.calls if c.path == "/recurring/v3/agreements"]
    body = json.loads(create.body)
    assert body["interval"] == {"unit": "YEAR", "count": 1}
    assert body["pricing"] == {"type": "LEGACY", "amount": FINNISH_TOTAL, "currency": "EUR"}

    before = ledger.now()
    billing.vipps.accept_agreement(response.json()["agreement_id"])
    [charge] = await eventually(lambda: linked_charges(billing, 1))
    after = ledger.now()
    # the first period starts on activation and ends a year later
    [subscription] = await table_rows(billing, "subscriptions")
    end = aware(subscription["current_period_end"])
    assert a_year_after(before) <= end <= a_year_after(after)
    assert (subscription["status"], subscription["seats"]) == ("active", SEATS)
    assert (charge["amount"], charge["currency"]) == (FINNISH_TOTAL, "EUR")
    [first] = await invoices_in_order(billing)
    assert (first["subtotal"], first["vat_amount"], first["total"], first["currency"]) == (
        SEATS * SEAT_A_YEAR,
        FINNISH_VAT,
        FINNISH_TOTAL,
        "EUR",
    )
    assert [(line["quantity"], line["unit_amount"]) for line in first["lines"]] == [
        (SEATS, SEAT_A_YEAR)
    ]
    billing.vipps.collect(charge["id"])
    await billing.vipps.settled()

    # a subscription begun on a leap day, its first year ended: renewed to the 28th
    leap_day = datetime(2024, 2, 29, 9, 30, tzinfo=UTC)

    def ended_on_a_leap_day(session):
        session.execute(
            update(subscriptions).values(period_anchor=leap_day, current_period_end=leap_day)
        )

    await recurring(billing)._ctx.transaction(ended_on_a_leap_day)
    await recurring(billing).run()
    [subscription] = await table_rows(billing, "subscriptions")
    assert aware(subscription["current_period_end"]) == datetime(2025, 2, 28, 9, 30, tzinfo=UTC)
    [_, renewal] = await invoices_in_order(billing)
    assert (renewal["number"], renewal["status"], renewal["total"]) == (
        "INV-000002",
        "open",
        FINNISH_TOTAL,
    )
    assert renewal["vat_amount"] == FINNISH_VAT
    charges = await eventually(lambda: linked_charges(billing, 2))
    [second] = [c for c in charges if c["id"] != charge["id"]]
    assert (second["amount"], second["agreementId"]) == (FINNISH_TOTAL, charge["agreementId"])
    billing.vipps.collect(second["id"])
    await billing.vipps.settled()
    assert {i["status"] for i in await table_rows(billing, "invoices")} == {"paid"}
    assert await billing.customer_balance(customer["id"]) == {"EUR": 0}
