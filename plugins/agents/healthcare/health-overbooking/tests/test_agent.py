"""health-overbooking as it is served: `POST /api/health-overbooking/run` and the bus
topic `agents.health-overbooking.run`, each answering with the newsvendor's optimum
(here read off scipy's binomial distribution), refusals in the asker's language; the
no-show risks are patients' health data, so running it is a permission and audited."""

from __future__ import annotations

import pytest
from scipy.stats import binom

from mindframe.sdk.agents import agent_topics

pytestmark = pytest.mark.anyio

AGENT = "health-overbooking"
RUN = f"/api/{AGENT}/run"
# ten slots, every booking a 20 % no-show risk, overtime half as dear again as idle time
REQUEST = {
    "sessions": [{"session_id": "mon-am", "capacity": 10, "no_show_probabilities": [0.2] * 10}],
    "idle_cost": 100,
    "overtime_cost": 150,
}


def closed_form() -> int:
    """Smallest N with P(Bin(N, 0.8) <= 9) <= 150 / 250."""
    n = 10
    while binom.cdf(9, n, 0.8) > 150 / 250:
        n += 1
    return n


@pytest.fixture
async def booted(boot_kernel):
    async with boot_kernel([AGENT, "auth", "i18n"]) as kernel:
        yield kernel


@pytest.fixture
async def client(booted):
    return await booted.as_user([f"{AGENT}.run"], username="planner")


async def test_the_route_books_the_closed_form_number_of_extra_patients(booted, client):
    response = await client.post(RUN, json=REQUEST)
    assert response.status_code == 200, response.text
    plan = response.json()["output"]
    session = plan["sessions"][0]
    assert session["total_bookings"] == closed_form()
    assert session["extra_bookings"] == closed_form() - 10
    assert session["expected_cost"] < session["cost_as_booked"]
    assert plan["critical_ratio"] == 0.6
    assert plan["summary"].startswith(f"Book {closed_form() - 10} extra patients in all")
    auditor = await booted.as_user(["audit.read"])
    entries = (await auditor.get("/api/agents/audit", params={"agent": AGENT})).json()
    assert [(e["who"], e["subjects"]) for e in entries] == [("planner", ["mon-am"])]
    assert (await booted.client.post(RUN, json=REQUEST)).status_code == 401


async def test_the_bus_topic_runs_the_agent_and_replies_with_the_run(booted):
    topics = agent_topics(AGENT)
    reply = await booted.runtime.bus.request(topics.run(input=REQUEST), timeout=10)
    assert reply["status"] == "completed", reply
    assert reply["output"]["sessions"][0]["total_bookings"] == closed_form()


async def test_an_empty_session_without_an_extra_probability_is_refused_in_swedish(client):
    empty = {
        **REQUEST,
        "sessions": [{"session_id": "tue", "capacity": 4, "no_show_probabilities": []}],
    }
    response = await client.post(RUN, json=empty, headers={"Accept-Language": "sv"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("Passet tue har inga bokningar")
    response = await client.post(RUN, json={**empty, "extra_no_show_probability": 0.2})
    assert response.json()["output"]["sessions"][0]["total_bookings"] >= 4
