"""health-news2 as it is served: `POST /api/health-news2/run` and the bus topic
`agents.health-news2.run`, both answering with the chart's score; a signed-in user holding
`health-news2.run` only; advice in the asker's language; vital signs never kept in clear."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import text

from mindframe.sdk.agents import agent_topics

pytestmark = pytest.mark.anyio

AGENT = "health-news2"
RUN = f"/api/{AGENT}/run"
# RR 24 (2), SpO2 93 on scale 1 (2), oxygen (2), systolic 105 (1), pulse 115 (2), alert (0),
# 38.5 °C (1): 10 on the chart, an emergency response
UNWELL = {
    "patient_id": "p-4711",
    "respiration_rate": 24,
    "spo2": 93,
    "on_oxygen": True,
    "systolic_bp": 105,
    "pulse": 115,
    "temperature": 38.5,
}
EMERGENCY = (
    "Emergency response: immediate assessment by a team with critical-care competencies, "
    "considering transfer to a higher level of care; monitor continuously."
)


@pytest.fixture
async def booted(boot_kernel):
    async with boot_kernel([AGENT, "auth", "i18n"]) as kernel:
        yield kernel


async def test_the_route_scores_the_vital_signs_as_the_chart_does(booted):
    client = await booted.as_user([f"{AGENT}.run"], username="nurse")
    response = await client.post(RUN, json=UNWELL)
    assert response.status_code == 200, response.text
    run = response.json()
    assert (run["status"], run["requested_by"]) == ("completed", "nurse")
    score = run["output"]
    assert (score["score"], score["risk"], score["response"]) == (10, "high", "emergency")
    assert score["single_parameter_3"] is False
    assert {p["parameter"]: p["score"] for p in score["parameters"]} == {
        "respiration_rate": 2,
        "spo2": 2,
        "on_oxygen": 2,
        "systolic_bp": 1,
        "pulse": 2,
        "consciousness": 0,
        "temperature": 1,
    }
    assert score["advice"] == EMERGENCY


async def test_the_bus_topic_runs_the_agent_and_replies_with_the_run(booted):
    topics = agent_topics(AGENT)
    reply = await booted.runtime.bus.request(
        topics.run(input={**UNWELL, "consciousness": "confusion"}, requested_by="monitor"),
        timeout=10,
    )
    assert reply["status"] == "completed", reply
    assert (reply["output"]["score"], reply["output"]["single_parameter_3"]) == (13, True)
    bad = await booted.runtime.bus.request(topics.run(input={"patient_id": "x"}), timeout=10)
    assert bad["status"] == 400 and "respiration_rate" in bad["detail"]


async def test_only_a_user_holding_the_agents_permission_may_run_it(booted):
    assert (await booted.client.post(RUN, json=UNWELL)).status_code == 401
    stranger = await booted.as_user()
    assert (await stranger.post(RUN, json=UNWELL)).status_code == 403


async def test_a_saturation_above_100_is_a_400_naming_the_field(booted):
    client = await booted.as_user([f"{AGENT}.run"])
    response = await client.post(RUN, json={**UNWELL, "spo2": 101})
    assert response.status_code == 400
    assert "spo2" in response.text


async def test_the_advice_is_in_the_askers_language(booted):
    path = Path(__file__).parents[1] / "locales" / "de" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        german = read_po(file, locale="de")[EMERGENCY].string
    client = await booted.as_user([f"{AGENT}.run"])
    response = await client.post(RUN, json=UNWELL, headers={"Accept-Language": "de"})
    assert response.json()["output"]["advice"] == german


async def test_each_run_is_audited_and_the_vital_signs_are_never_stored_in_clear(booted):
    client = await booted.as_user([f"{AGENT}.run"], username="nurse")
    run_id = (await client.post(RUN, json=UNWELL)).json()["run_id"]
    auditor = await booted.as_user(["audit.read"])
    entries = (await auditor.get("/api/agents/audit", params={"agent": AGENT})).json()
    assert [(e["action"], e["who"], e["subjects"], e["run_id"]) for e in entries] == [
        ("run", "nurse", ["p-4711"], run_id)
    ]
    async with booted.runtime.database.engine.connect() as connection:
        for table in ("agents_runs", "agents_inputs", "agents_checkpoints", "agents_trace"):
            dump = repr((await connection.execute(text(f"SELECT * FROM {table}"))).all())
            assert "p-4711" not in dump and "emergency" not in dump, table
