"""health-waitlist as it is served: `POST /api/health-waitlist/run` and the bus topic
`agents.health-waitlist.run` ordering a fixed list as the stated rules do, refusals in the
asker's language; referrals and their priorities are patients' health data, so running it
is a permission and audited with each referral on the list as a subject."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from mindframe.sdk.agents import agent_topics

pytestmark = pytest.mark.anyio

AGENT = "health-waitlist"
RUN = f"/api/{AGENT}/run"
# Monday 2 March 2026; priority 1 waits at most 10 working days, 3 at most 90 days
REQUEST = {
    "list_id": "ortho-clinic",
    "country": "NO",
    "today": "2026-03-02",
    "rules": [
        {"priority": 1, "max_wait": 10, "unit": "working_days"},
        {"priority": 3, "max_wait": 90},
    ],
    "referrals": [
        {"referral_id": "hip", "priority": 3, "referred": "2026-01-05"},  # 5 April
        {"referral_id": "knee", "priority": 3, "referred": "2025-11-01"},  # 30 January
        {"referral_id": "fracture", "priority": 1, "referred": "2026-02-26"},  # 12 March
    ],
    "slots_per_working_day": 1,
}


@pytest.fixture
async def booted(boot_kernel):
    async with boot_kernel([AGENT, "auth", "i18n"]) as kernel:
        yield kernel


@pytest.fixture
async def client(booted):
    return await booted.as_user([f"{AGENT}.run"], username="coordinator")


async def test_the_route_orders_the_list_by_breach_date_and_projects_the_days_seen(booted, client):
    response = await client.post(RUN, json=REQUEST)
    assert response.status_code == 200, response.text
    waitlist = response.json()["output"]
    rows = waitlist["order"]
    assert [(r["referral_id"], r["breach_date"], r["status"]) for r in rows] == [
        ("knee", "2026-01-30", "breached"),
        ("fracture", "2026-03-12", "on_time"),  # 8 working days left, warned at 5
        ("hip", "2026-04-05", "on_time"),
    ]
    assert [r["projected_date"] for r in rows] == ["2026-03-02", "2026-03-03", "2026-03-04"]
    assert (waitlist["breached"], waitlist["due_soon"]) == (1, 0)
    assert waitlist["projection"]["breaches"] == 1  # knee is already late
    assert waitlist["summary"].startswith("1 referral is past its breach date")
    auditor = await booted.as_user(["audit.read"])
    entries = (await auditor.get("/api/agents/audit", params={"agent": AGENT})).json()
    assert [(e["who"], e["subjects"]) for e in entries] == [
        ("coordinator", ["hip", "knee", "fracture"])
    ]
    async with booted.runtime.database.engine.connect() as connection:
        for table in ("agents_runs", "agents_inputs", "agents_checkpoints", "agents_trace"):
            dump = repr((await connection.execute(text(f"SELECT * FROM {table}"))).all())
            assert "fracture" not in dump, table


async def test_the_bus_topic_runs_the_agent_and_replies_with_the_run(booted):
    topics = agent_topics(AGENT)
    reply = await booted.runtime.bus.request(topics.run(input=REQUEST), timeout=10)
    assert reply["status"] == "completed", reply
    assert [r["referral_id"] for r in reply["output"]["order"]] == ["knee", "fracture", "hip"]


async def test_a_priority_without_a_rule_is_refused_in_the_askers_language(booted):
    client = await booted.as_user([f"{AGENT}.run"], locale="de")
    unknown = {
        **REQUEST,
        "referrals": [{"referral_id": "x", "priority": 2, "referred": "2026-02-02"}],
    }
    response = await client.post(RUN, json=unknown)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("Die Überweisung x hat die Priorität 2")


async def test_a_referral_from_the_future_is_refused_and_a_priority_of_ten_is_a_400(client):
    future = {
        **REQUEST,
        "referrals": [{"referral_id": "x", "priority": 1, "referred": "2026-03-03"}],
    }
    response = await client.post(RUN, json=future)
    assert response.status_code == 422 and "2026-03-03" in response.json()["detail"]
    too_high = {**REQUEST, "rules": [{"priority": 10, "max_wait": 5}]}
    assert (await client.post(RUN, json=too_high)).status_code == 400
    far = {**REQUEST, "today": "9999-12-31"}
    assert (await client.post(RUN, json=far)).status_code == 422
