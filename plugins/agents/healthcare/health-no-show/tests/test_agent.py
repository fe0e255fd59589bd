"""health-no-show as it is served: `POST /api/health-no-show/run` and the bus topic
`agents.health-no-show.run` on a generated clinic history with a known signal; refusals
in the asker's language; the patients assessed named in the access audit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mindframe.sdk.agents import agent_topics

pytestmark = pytest.mark.anyio

AGENT = "health-no-show"
RUN = f"/api/{AGENT}/run"


def appointment(rng: np.random.Generator) -> dict[str, Any]:
    prior = int(rng.integers(0, 10))
    return {
        "prior_appointments": prior,
        "prior_no_shows": int(rng.binomial(prior, rng.beta(2, 6))),
        "lead_days": int(rng.integers(0, 60)),
        "weekday": int(rng.integers(0, 5)),
        "age_band": str(rng.choice(["18-34", "35-49", "50-64", "65-79"])),
    }


def request(seed: int = 5) -> dict[str, Any]:
    """400 past appointments whose no-shows follow the patient's own history, and two
    upcoming ones: a habitual no-show booked far ahead, and a reliable patient."""
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(400):
        item = appointment(rng)
        rate = (item["prior_no_shows"] + 1) / (item["prior_appointments"] + 2)
        chance = 1 / (1 + np.exp(-(5 * rate + 0.02 * item["lead_days"] - 3.5)))
        history.append({**item, "no_show": bool(rng.random() < chance)})
    common = {"weekday": 1, "age_band": "35-49"}
    upcoming = [
        {
            "appointment_id": "a-1",
            "patient_id": "p-1",
            "prior_appointments": 8,
            "prior_no_shows": 6,
            "lead_days": 50,
            **common,
        },
        {
            "appointment_id": "a-2",
            "patient_id": "p-2",
            "prior_appointments": 8,
            "prior_no_shows": 0,
            "lead_days": 2,
            **common,
        },
    ]
    return {"history": history, "upcoming": upcoming}


@pytest.fixture
async def booted(boot_kernel):
    async with boot_kernel([AGENT, "auth", "i18n"]) as kernel:
        yield kernel


async def test_the_route_ranks_the_habitual_no_show_first_and_beats_the_base_rate(booted):
    client = await booted.as_user([f"{AGENT}.run"], username="booking")
    response = await client.post(RUN, json=request())
    assert response.status_code == 200, response.text
    risk = response.json()["output"]
    habitual, reliable = risk["predictions"]
    assert habitual["probability"] > 0.5 > 0.2 > reliable["probability"]
    assert (habitual["flagged"], reliable["flagged"]) == (True, False)
    quality = risk["quality"]
    assert quality["auc"] > 0.6 and quality["brier"] < quality["base_rate_brier"]
    assert "1 appointment is flagged." in risk["summary"]
    auditor = await booted.as_user(["audit.read"])
    entries = (await auditor.get("/api/agents/audit", params={"agent": AGENT})).json()
    assert [(e["who"], e["subjects"]) for e in entries] == [("booking", ["p-1", "p-2"])]


async def test_the_bus_topic_runs_the_agent_and_replies_with_the_run(booted):
    topics = agent_topics(AGENT)
    reply = await booted.runtime.bus.request(
        topics.run(input=request(), requested_by="scheduler"), timeout=30
    )
    assert reply["status"] == "completed", reply
    assert [p["appointment_id"] for p in reply["output"]["predictions"]] == ["a-1", "a-2"]


async def test_a_history_of_one_outcome_only_is_refused_in_the_askers_language(booted):
    data = request()
    for item in data["history"]:
        item["no_show"] = False
    client = await booted.as_user([f"{AGENT}.run"], locale="nb")
    response = await client.post(RUN, json=data)
    assert response.status_code == 422
    assert response.json()["detail"] == ("Historikken må ha minst 2 oppmøtte og 2 uteblitte timer")


async def test_only_a_user_holding_the_agents_permission_may_run_it(booted):
    assert (await booted.client.post(RUN, json=request())).status_code == 401
