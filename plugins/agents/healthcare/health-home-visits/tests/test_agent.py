"""health-home-visits as it is served: `POST /api/health-home-visits/run` and the bus topic
`agents.health-home-visits.run` on a small district whose best routes are known by hand,
refusals in the asker's language; who gets home care is health data, so running it is a
permission, audited with each visit as a subject."""

from __future__ import annotations

import pytest

from mindframe.sdk.agents import agent_topics

pytestmark = pytest.mark.anyio

AGENT = "health-home-visits"
RUN = f"/api/{AGENT}/run"
# The base, then north (a, b) and south (c, d): ten minutes out, five apart on each side,
# 25 across. One nurse works 8:00-16:00, one 8:00-12:00; a must start by 8:30, d not before
# 13:00, so only the long shift can make d. By hand, the least travel is one nurse a side
# (10 + 5 + 10 each, 50 in all; any crossing costs 25), the short shift taking the north.
REQUEST = {
    "team_id": "district-7",
    "nurses": [
        {"nurse_id": "long", "shift_start": 480, "shift_end": 960},
        {"nurse_id": "short", "shift_start": 480, "shift_end": 720},
    ],
    "visits": [
        {"visit_id": "a", "earliest": 480, "latest": 510, "duration": 30},
        {"visit_id": "b", "earliest": 480, "latest": 900, "duration": 30},
        {"visit_id": "c", "earliest": 480, "latest": 900, "duration": 30},
        {"visit_id": "d", "earliest": 780, "latest": 900, "duration": 30},
    ],
    "travel_minutes": [
        [0, 10, 10, 10, 10],
        [10, 0, 5, 25, 25],
        [10, 5, 0, 25, 25],
        [10, 25, 25, 0, 5],
        [10, 25, 25, 5, 0],
    ],
    "time_limit_seconds": 1,
}


@pytest.fixture
async def booted(boot_kernel):
    async with boot_kernel([AGENT, "auth", "i18n"]) as kernel:
        yield kernel


@pytest.fixture
async def client(booted):
    return await booted.as_user([f"{AGENT}.run"], username="coordinator")


async def test_the_route_plans_each_side_of_the_district_for_one_nurse(booted, client):
    response = await client.post(RUN, json=REQUEST)
    assert response.status_code == 200, response.text
    plan = response.json()["output"]
    routes = {r["nurse_id"]: [s["visit_id"] for s in r["stops"]] for r in plan["routes"]}
    assert sorted(map(sorted, routes.values())) == [["a", "b"], ["c", "d"]]
    assert sorted(routes["long"]) == ["c", "d"]  # only the long shift is there after 13:00
    assert plan["unplanned"] == [] and plan["travel_minutes"] == 50
    stops = {s["visit_id"]: s for r in plan["routes"] for s in r["stops"]}
    assert stops["a"]["start"] <= 510 and stops["d"]["start"] >= 780
    assert plan["summary"] == "4 visits planned on 2 routes."
    auditor = await booted.as_user(["audit.read"])
    entries = (await auditor.get("/api/agents/audit", params={"agent": AGENT})).json()
    assert [(e["who"], e["subjects"]) for e in entries] == [("coordinator", ["a", "b", "c", "d"])]


async def test_the_bus_topic_runs_the_agent_and_replies_with_the_run(booted):
    topics = agent_topics(AGENT)
    only_short = {**REQUEST, "nurses": [REQUEST["nurses"][1]]}
    reply = await booted.runtime.bus.request(topics.run(input=only_short), timeout=20)
    assert reply["status"] == "completed", reply
    assert reply["output"]["unplanned"] == ["d"]  # after the short shift ends
    assert "1 visit fits no route" in reply["output"]["summary"]


async def test_a_travel_table_of_the_wrong_size_is_refused_in_the_askers_language(booted):
    client = await booted.as_user([f"{AGENT}.run"], locale="fi")
    wrong = {**REQUEST, "travel_minutes": REQUEST["travel_minutes"][:4]}
    response = await client.post(RUN, json=wrong)
    assert response.status_code == 422
    assert "travel_minutes" in response.json()["detail"]
    assert response.json()["detail"] != (
        "travel_minutes must have 5 rows of 5 minutes: the base and each visit"
    )


async def test_a_minute_past_midnight_is_a_400_and_a_stranger_may_not_run_it(booted, client):
    late = {**REQUEST, "nurses": [{"nurse_id": "x", "shift_start": 0, "shift_end": 1441}]}
    response = await client.post(RUN, json=late)
    assert response.status_code == 400 and "shift_end" in response.text
    assert (await booted.client.post(RUN, json=REQUEST)).status_code == 401
