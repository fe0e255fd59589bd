"""health-supply-reorder as it is served: `POST /api/health-supply-reorder/run` and the bus
topic `agents.health-supply-reorder.run`, giving the closed-form order quantity and reorder
point, what to order now, and the simulated saving over a standing order."""

from __future__ import annotations

import math

import pytest

from mindframe.sdk.agents import agent_topics

pytestmark = pytest.mark.anyio

AGENT = "health-supply-reorder"
RUN = f"/api/{AGENT}/run"
REQUEST = {
    "items": [
        {
            "item_id": "gloves-m",
            "daily_demand": 20,
            "daily_demand_sd": 6,
            "lead_time_days": 5,
            "unit_cost": 12,
            "order_cost": 80,
            "on_hand": 90,
        },
        {
            "item_id": "iv-set",
            "daily_demand": 4,
            "lead_time_days": 7,
            "unit_cost": 30,
            "order_cost": 50,
            "on_hand": 200,
        },
    ]
}


@pytest.fixture
async def booted(boot_kernel):
    async with boot_kernel([AGENT, "i18n"]) as kernel:
        yield kernel


async def test_the_route_gives_each_item_its_closed_form_policy_and_what_to_order(booted):
    response = await booted.client.post(RUN, json=REQUEST)
    assert response.status_code == 200, response.text
    gloves, iv = response.json()["output"]["items"]
    assert gloves["order_quantity"] == round(math.sqrt(2 * 20 * 365 * 80 / (12 * 0.25)), 2)
    assert gloves["reorder_point"] == pytest.approx(100 + 1.6449 * 6 * math.sqrt(5), abs=0.01)
    assert (gloves["order_now"], iv["order_now"]) == (True, False)  # 90 is below s; 200 not
    assert gloves["order_now_quantity"] == math.ceil(gloves["order_up_to"] - 90)
    assert iv["safety_stock"] == 0 and iv["reorder_point"] == 28
    for item in (gloves, iv):
        simulated = item["simulated"]
        assert simulated["cost_per_year"] < simulated["standing_order_cost_per_year"]
    summary = response.json()["output"]["summary"]
    assert summary.startswith("1 item is due for an order now. Simulated over 2 years")


async def test_the_bus_topic_runs_the_agent_and_replies_with_the_run(booted):
    topics = agent_topics(AGENT)
    reply = await booted.runtime.bus.request(
        topics.run(input={**REQUEST, "simulate_years": 0}), timeout=10
    )
    assert reply["status"] == "completed", reply
    assert [item["simulated"] for item in reply["output"]["items"]] == [None, None]
    assert reply["output"]["summary"] == "1 item is due for an order now."


async def test_a_certain_service_level_or_negative_demand_is_a_400_naming_the_field(booted):
    response = await booted.client.post(RUN, json={**REQUEST, "service_level": 1})
    assert response.status_code == 400 and "service_level" in response.text
    item = {**REQUEST["items"][0], "daily_demand": -1}
    response = await booted.client.post(RUN, json={"items": [item]})
    assert response.status_code == 400 and "daily_demand" in response.text


async def test_the_summary_is_in_the_askers_language(booted):
    response = await booted.client.post(RUN, json=REQUEST, headers={"Accept-Language": "nb"})
    assert response.json()["output"]["summary"].startswith("1 vare bør bestilles nå.")


async def test_a_vanishingly_small_demand_is_planned_not_a_500(booted):
    # found by the API fuzzer: 2.2e-309 units a day made the standing order's interval
    # overflow (an order quantity divided by a subnormal number)
    item = {**REQUEST["items"][0], "daily_demand": 2.225073858507203e-309, "daily_demand_sd": 0}
    response = await booted.client.post(RUN, json={"items": [item]})
    assert response.status_code == 200, response.text
    [planned] = response.json()["output"]["items"]
    assert planned["simulated"]["standing_order_every_days"] == 2 * 365
