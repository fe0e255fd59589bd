"""VAT: each country's rate on invoices, and EU reverse charge for a business with a
valid VAT number (only then)."""

import pytest

pytestmark = pytest.mark.anyio

RATES = [
    ("NO", "25", 2500),
    ("SE", "25", 2500),
    ("DK", "25", 2500),
    ("FI", "25.5", 2550),
    ("DE", "19", 1900),
    ("GB", "20", 2000),
]


@pytest.mark.parametrize(("country", "rate", "vat"), RATES)
async def test_an_invoice_charges_the_vat_of_the_customers_country(billing, country, rate, vat):
    customer = await billing.customer(country=country, currency="EUR")
    response = await billing.operator.post(
        f"/api/billing/customers/{customer['id']}/invoices",
        json={"lines": [{"description": "Seats", "unit_amount": 2500, "quantity": 4}]},
    )
    assert response.status_code == 201, response.text
    invoice = response.json()
    assert (invoice["subtotal"], invoice["vat_rate"], invoice["vat_amount"]) == (10000, rate, vat)
    assert invoice["total"] == 10000 + vat
    assert invoice["reverse_charge"] is False


async def test_an_eu_business_with_a_valid_vat_number_is_reverse_charged(billing):
    business = await billing.customer(
        country="DE", currency="EUR", is_business=True, vat_number="DE136695976"
    )
    response = await billing.operator.post(
        f"/api/billing/customers/{business['id']}/invoices",
        json={"lines": [{"description": "Plan", "unit_amount": 10000}]},
    )
    invoice = response.json()
    assert (invoice["vat_amount"], invoice["total"], invoice["reverse_charge"]) == (0, 10000, True)
    html = await billing.operator.get(f"/api/billing/invoices/{invoice['id']}/html")
    assert "Reverse charge" in html.text


async def test_a_business_with_an_invalid_vat_number_pays_its_countrys_vat(billing):
    business = await billing.customer(
        country="DE", currency="EUR", is_business=True, vat_number="DE136695977"
    )
    response = await billing.operator.post(
        f"/api/billing/customers/{business['id']}/invoices",
        json={"lines": [{"description": "Plan", "unit_amount": 10000}]},
    )
    assert (response.json()["vat_amount"], response.json()["reverse_charge"]) == (1900, False)


async def test_a_swedish_business_buying_from_a_norwegian_seller_is_reverse_charged(billing):
    business = await billing.customer(
        country="SE", currency="SEK", is_business=True, vat_number="SE556703748501"
    )
    response = await billing.operator.post(
        f"/api/billing/customers/{business['id']}/invoices",
        json={"lines": [{"description": "Plan", "unit_amount": 10000}]},
    )
    assert response.json()["reverse_charge"] is True  # the seller is Norwegian by default


def test_a_business_in_the_sellers_own_country_pays_domestic_vat():
    from decimal import Decimal

    from mindframe_plugins.billing.vat import treatment

    domestic = treatment("SE", "SE", True, "SE556703748501")
    assert (domestic.rate, domestic.reverse_charge) == (Decimal(25), False)
    assert domestic.on(10001) == 2500  # 2500.25 rounds half up to 2500
    assert treatment("NO", "FI", False, None).on(10000) == 2550
