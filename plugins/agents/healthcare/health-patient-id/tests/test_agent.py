"""health-patient-id as it is served: `POST /api/health-patient-id/run` and the bus topic
`agents.health-patient-id.run`, reading out birth date and sex or saying what is wrong in
the asker's language; identity numbers name patients, so running it is a permission, each
run is audited and the numbers are never stored in clear."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import text

from mindframe.sdk.agents import agent_topics

pytestmark = pytest.mark.anyio

AGENT = "health-patient-id"
RUN = f"/api/{AGENT}/run"
REQUEST = {
    "numbers": [
        {"number": "131052-308T", "country": "FI"},
        {"number": "811218-9875", "country": "SE"},  # the last digit mistyped
    ]
}
MISTYPED = "The check digits do not match: the number is probably mistyped"


@pytest.fixture
async def booted(boot_kernel):
    async with boot_kernel([AGENT, "auth", "i18n"]) as kernel:
        yield kernel


async def test_the_route_reads_out_a_valid_number_and_says_why_another_is_not(booted):
    client = await booted.as_user([f"{AGENT}.run"], username="desk")
    response = await client.post(RUN, json=REQUEST)
    assert response.status_code == 200, response.text
    good, bad = response.json()["output"]["results"]
    assert (good["valid"], good["kind"], good["birth_date"], good["sex"]) == (
        True,
        "hetu",
        "1952-10-13",
        "female",
    )
    assert good["explanation"] == "Finnish personal identity code (henkilötunnus)"
    assert (bad["valid"], bad["problem"], bad["explanation"]) == (False, "checksum", MISTYPED)
    assert response.json()["output"]["summary"] == "1 of 2 numbers are valid."


async def test_the_bus_topic_runs_the_agent_and_replies_with_the_run(booted):
    topics = agent_topics(AGENT)
    reply = await booted.runtime.bus.request(
        topics.run(input={"numbers": [{"number": "070761-4285", "country": "DK"}]}), timeout=10
    )
    assert reply["status"] == "completed", reply
    (result,) = reply["output"]["results"]
    assert (result["birth_date"], result["sex"], result["checksum_checked"]) == (
        "1961-07-07",
        "male",
        False,
    )


async def test_what_is_wrong_is_said_in_the_askers_language(booted):
    path = Path(__file__).parents[1] / "locales" / "da" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        danish = read_po(file, locale="da")[MISTYPED].string
    client = await booted.as_user([f"{AGENT}.run"], locale="da")
    response = await client.post(RUN, json=REQUEST)
    assert response.json()["output"]["results"][1]["explanation"] == danish != MISTYPED


async def test_more_numbers_than_the_audit_can_name_or_an_unknown_country_is_a_400(booted):
    client = await booted.as_user([f"{AGENT}.run"])
    many = {"numbers": REQUEST["numbers"] * 8}
    assert (await client.post(RUN, json=many)).status_code == 400
    iceland = {"numbers": [{"number": "1201743399", "country": "IS"}]}
    response = await client.post(RUN, json=iceland)
    assert response.status_code == 400 and "country" in response.text
    assert (await booted.client.post(RUN, json=REQUEST)).status_code == 401


async def test_each_run_is_audited_and_the_numbers_are_never_stored_in_clear(booted):
    client = await booted.as_user([f"{AGENT}.run"], username="desk")
    run_id = (await client.post(RUN, json=REQUEST)).json()["run_id"]
    auditor = await booted.as_user(["audit.read"])
    entries = (await auditor.get("/api/agents/audit", params={"agent": AGENT})).json()
    assert [(e["who"], e["subjects"], e["run_id"]) for e in entries] == [
        ("desk", ["131052308T", "8112189875"], run_id)
    ]
    async with booted.runtime.database.engine.connect() as connection:
        for table in ("agents_runs", "agents_inputs", "agents_checkpoints", "agents_trace"):
            dump = repr((await connection.execute(text(f"SELECT * FROM {table}"))).all())
            assert "308T" not in dump and "1952-10-13" not in dump, table
