"""`/api/i18n/preview?amount=`: any plain decimal up to 15 digits is formatted; anything
else (exponents, NaN, infinities, more digits than babel rounds) is a 400, never a 500."""

import pytest

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "amount", ["1e25", "sNaN", "NaN", "Infinity", "1e999999999", "1234567890123456", "1.5e3"]
)
async def test_an_amount_that_is_not_a_plain_bounded_decimal_is_a_400(kernel, amount):
    response = await kernel.client.get("/api/i18n/preview", params={"amount": amount})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "amount" in response.text and "matching regex" in response.text


@pytest.mark.parametrize("language", ["en-US", "de", "fi"])
async def test_the_largest_amounts_allowed_are_formatted_in_every_locale(kernel, language):
    for amount in ("-999999999999999.999999", "999999999999999.999999", "0.000001"):
        response = await kernel.client.get(
            "/api/i18n/preview",
            params={"amount": amount},
            headers={"Accept-Language": language},
        )
        assert response.status_code == 200, response.text
        assert response.json()["number"]


async def test_the_schema_states_what_an_amount_may_be(kernel):
    schema = (await kernel.client.get("/schema/openapi.json")).json()
    parameters = schema["paths"]["/api/i18n/preview"]["get"]["parameters"]
    amount = next(p for p in parameters if p["name"] == "amount")
    assert amount["schema"]["pattern"] == r"^-?[0-9]{1,15}(\.[0-9]{1,6})?$"
