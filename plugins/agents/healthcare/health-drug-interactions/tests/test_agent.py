"""health-drug-interactions as it is served: `POST /api/health-drug-interactions/run` and
the bus topic `agents.health-drug-interactions.run`, finding the known pairs of a
medication list with severity, advice and source, in the asker's language; a medication
list is health data, so running it is a permission, audited, and never stored in clear."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import text

from mindframe.sdk.agents import agent_topics

pytestmark = pytest.mark.anyio

AGENT = "health-drug-interactions"
RUN = f"/api/{AGENT}/run"
REQUEST = {
    "patient_id": "p-31",
    "medications": ["Warfarin 5 mg", "ibuprofen", "simvastatin", "clarithromycin", "metformin"],
}
BLEEDING = "Higher risk of bleeding"


@pytest.fixture
async def booted(boot_kernel):
    async with boot_kernel([AGENT, "auth", "i18n"]) as kernel:
        yield kernel


async def test_the_route_finds_the_known_pairs_most_severe_first_with_their_sources(booted):
    client = await booted.as_user([f"{AGENT}.run"], username="pharmacist")
    response = await client.post(RUN, json=REQUEST)
    assert response.status_code == 200, response.text
    report = response.json()["output"]
    found = [(i["first"], i["second"], i["severity"]) for i in report["interactions"]]
    assert found == [
        ("simvastatin", "clarithromycin", "contraindicated"),
        ("Warfarin 5 mg", "ibuprofen", "major"),
    ]
    first, second = report["interactions"]
    assert first["advice_text"] == "Do not combine: contraindicated."
    assert "simvastatin" in first["source"].lower() and "2011" in first["source"]
    assert second["effect_text"] == BLEEDING
    assert report["not_recognised"] == ["metformin"]
    assert report["summary"].startswith("2 interactions found, 2 of them contraindicated")
    auditor = await booted.as_user(["audit.read"])
    entries = (await auditor.get("/api/agents/audit", params={"agent": AGENT})).json()
    assert [(e["who"], e["subjects"]) for e in entries] == [("pharmacist", ["p-31"])]
    async with booted.runtime.database.engine.connect() as connection:
        for table in ("agents_runs", "agents_inputs", "agents_checkpoints", "agents_trace"):
            dump = repr((await connection.execute(text(f"SELECT * FROM {table}"))).all())
            assert "p-31" not in dump and "clarithromycin" not in dump, table


async def test_the_bus_topic_runs_the_agent_and_replies_with_the_run(booted):
    topics = agent_topics(AGENT)
    reply = await booted.runtime.bus.request(
        topics.run(input={"patient_id": "p-9", "medications": ["oxycodone", "N05BA01"]}),
        timeout=10,
    )
    assert reply["status"] == "completed", reply
    assert [i["effect"] for i in reply["output"]["interactions"]] == ["respiratory_depression"]


async def test_the_effect_is_in_the_askers_language(booted):
    path = Path(__file__).parents[1] / "locales" / "sv" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        swedish = read_po(file, locale="sv")[BLEEDING].string
    client = await booted.as_user([f"{AGENT}.run"], locale="sv")
    response = await client.post(RUN, json=REQUEST)
    assert response.json()["output"]["interactions"][1]["effect_text"] == swedish != BLEEDING


async def test_an_empty_list_is_a_400_and_a_stranger_may_not_run_it(booted):
    client = await booted.as_user([f"{AGENT}.run"])
    response = await client.post(RUN, json={"patient_id": "p-1", "medications": []})
    assert response.status_code == 400 and "medications" in response.text
    stranger = await booted.as_user()
    assert (await stranger.post(RUN, json=REQUEST)).status_code == 403
