"""The example agent, and through it each part of the agent toolkit an author uses: typed,
described input and output; checkpointed steps and a tool call, traced; progress; a
decision; an approval; cancellation; the bus topic; answers in the asker's language; and
the access audit of health data."""

import msgspec
import pytest
from babel.messages.pofile import read_po
from sqlalchemy import text

from mindframe.sdk.agents import agent_topics
from mindframe.sdk.i18n import LOCALES

pytestmark = pytest.mark.anyio

AGENT = "demo-refill"
RUN = f"/api/{AGENT}/run"
RUNNER = [f"{AGENT}.run"]
PHARMACIST = [f"{AGENT}.run", "agents.approve"]
DUE = {"patient_id": "p-1001", "medication": "atorvastatin", "days_left": 3}
CONTROLLED = {"patient_id": "p-2002", "medication": "oxycodone", "days_left": 1}


@pytest.fixture
async def booted(boot_kernel):
    async with boot_kernel([AGENT, "auth", "i18n"]) as kernel:
        yield kernel


def runs(path: str) -> str:
    return f"/api/agents/runs/{path}"


async def test_a_refill_due_now_is_advised_with_a_reminder_and_its_trace(booted):
    client = await booted.as_user(RUNNER, username="nurse")
    response = await client.post(RUN, json=DUE)
    assert response.status_code == 200, response.text
    run = response.json()
    assert (run["status"], run["requested_by"]) == ("completed", "nurse")
    advice = run["output"]
    assert (advice["medication"], advice["urgency"], advice["refill"]) == (
        "atorvastatin",
        "now",
        True,
    )
    assert advice["reminder"] in ("sms", "email", "call")
    assert advice["explanation"] == "3 days left: order the refill now."
    assert advice["prose"] is None  # no language model configured
    trace = (await client.get(runs(f"{run['run_id']}/trace"))).json()
    done = [(entry["kind"], entry["name"], entry["status"]) for entry in trace]
    assert done == [
        ("tool", "formulary", "ok"),
        ("step", "look up", "ok"),
        ("step", "urgency", "ok"),
        ("decision", "decision:demo-refill-reminder", "ok"),
    ]
    assert all(entry["duration_ms"] >= 0 for entry in trace)


async def test_the_agent_is_listed_with_described_schemas_in_the_callers_language(booted):
    listed = (await booted.client.get("/api/agents")).json()
    assert AGENT in [agent["name"] for agent in listed]
    norwegian = {"Accept-Language": "nb"}
    agent = (await booted.client.get(f"/api/agents/{AGENT}", headers=norwegian)).json()
    assert (agent["industry"], agent["title"]) == ("demo", "Sjekk av reseptfornyelse")
    assert agent["health_data"] is True and agent["permission"] == f"{AGENT}.run"
    patient = agent["input_schema"]["properties"]["patient_id"]
    assert patient["description"] == "Hvem medisinen tilhører"
    assert patient["examples"] == ["p-1001"]
    assert agent["input_schema"]["required"] == ["patient_id", "medication", "days_left"]
    urgency = agent["output_schema"]["properties"]["urgency"]
    assert urgency["enum"] == ["later", "now", "soon"]


async def test_running_needs_a_signed_in_user_holding_the_agents_permission(booted):
    assert (await booted.client.post(RUN, json=DUE)).status_code == 401
    stranger = await booted.as_user()
    assert (await stranger.post(RUN, json=DUE)).status_code == 403


async def test_bad_input_is_a_400_naming_the_field(booted):
    client = await booted.as_user(RUNNER)
    response = await client.post(RUN, json={**DUE, "days_left": -1})
    assert response.status_code == 400
    assert "days_left" in response.text


async def test_an_unknown_medication_is_a_422_in_the_askers_language(booted):
    client = await booted.as_user(RUNNER, locale="de")
    response = await client.post(RUN, json={**DUE, "medication": "snake oil"})
    assert response.status_code == 422
    problem = response.json()
    assert problem["detail"] == "snake oil steht nicht in der Arzneimittelliste"
    assert problem["run_status"] == "failed"
    stored = (await client.get(runs(problem["run_id"]))).json()
    assert stored["status"] == "failed"


def catalog(locale: str):
    from pathlib import Path

    path = Path(__file__).parents[1] / "locales" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        return read_po(file, locale=locale)


async def test_the_explanation_answers_in_each_locale_the_asker_reads(booted):
    client = await booted.as_user(RUNNER)
    for locale in LOCALES:
        ask = {"Accept-Language": locale.replace("_", "-")}
        response = await client.post(RUN, json={**DUE, "days_left": 1}, headers=ask)
        messages = catalog(locale)
        supply = messages["{n} day left"].string[0].format(n=1)
        expected = messages["{supply}: order the refill now."].string.format(supply=supply)
        assert response.json()["output"]["explanation"] == expected, locale


async def test_progress_is_published_on_the_agents_topic(booted):
    client = await booted.as_user(RUNNER)
    run_id = (await client.post(RUN, json=DUE)).json()["run_id"]
    topic = f"agents.{AGENT}.progress"
    seen = [await booted.bus_probe.next(topic, timeout=5) for _ in range(3)]
    assert [event.fraction for event in seen] == [0.3, 0.6, 1.0]
    assert {event.run_id for event in seen} == {run_id}
    assert seen[-1].message == "Done"
    status = await booted.bus_probe.next(f"agents.{AGENT}.status", timeout=5)
    assert (status.run_id, status.status) == (run_id, "completed")


async def test_a_controlled_medication_waits_for_a_pharmacist_then_goes_on(booted):
    nurse = await booted.as_user(RUNNER)
    response = await nurse.post(RUN, json=CONTROLLED)
    assert response.status_code == 202
    paused = response.json()
    assert response.headers["location"] == runs(paused["run_id"])
    assert paused["status"] == "needs_approval"
    assert paused["proposal"] == {"medication": "oxycodone", "days_left": 1}
    assert paused["summary"] == "oxycodone is controlled: a pharmacist approves its refill"
    approve = runs(f"{paused['run_id']}/approve")
    assert (await nurse.post(approve, json={})).status_code == 403  # no agents.approve
    pharmacist = await booted.as_user(PHARMACIST, username="pharmacist")
    response = await pharmacist.post(approve, json={"comment": "checked the prescription"})
    assert response.status_code == 200, response.text
    done = response.json()
    assert done["status"] == "completed" and done["output"]["refill"] is True
    trace = (await nurse.get(runs(f"{paused['run_id']}/trace"))).json()
    by_name = [(e["kind"], e["name"], e["status"]) for e in trace]
    assert by_name.count(("tool", "formulary", "ok")) == 1  # the formulary was read once
    assert ("step", "look up", "replayed") in by_name
    assert ("approval", "approval", "ok") in by_name
    approval = next(e for e in trace if e["kind"] == "approval" and e["status"] == "ok")
    assert approval["detail"] == "approved by pharmacist"
    again = await pharmacist.post(approve, json={})
    assert again.status_code == 409  # answered already


async def test_a_rejected_refill_completes_without_the_refill(booted):
    nurse = await booted.as_user(RUNNER)
    run_id = (await nurse.post(RUN, json=CONTROLLED)).json()["run_id"]
    pharmacist = await booted.as_user(PHARMACIST)
    response = await pharmacist.post(runs(f"{run_id}/reject"), json={"comment": "no"})
    advice = response.json()["output"]
    assert advice["refill"] is False
    assert advice["explanation"] == "1 day left, but the refill was not approved."


async def test_a_run_waiting_for_approval_can_be_cancelled(booted):
    nurse = await booted.as_user(RUNNER)
    run_id = (await nurse.post(RUN, json=CONTROLLED)).json()["run_id"]
    cancelled = await nurse.post(runs(f"{run_id}/cancel"))
    assert cancelled.json()["status"] == "cancelled"
    pharmacist = await booted.as_user(PHARMACIST)
    assert (await pharmacist.post(runs(f"{run_id}/approve"), json={})).status_code == 409
    assert (await nurse.post(runs(f"{run_id}/cancel"))).status_code == 409


async def test_the_bus_topic_runs_the_agent_and_replies_with_the_run(booted):
    topics = agent_topics(AGENT)
    request = topics.run(input=DUE, requested_by="scheduler")
    reply = await booted.runtime.bus.request(request, timeout=10)
    assert reply["status"] == "completed"
    assert reply["output"]["urgency"] == "now" and reply["requested_by"] == "scheduler"
    bad = await booted.runtime.bus.request(topics.run(input={"patient_id": "x"}), timeout=10)
    assert bad["status"] == 400 and "medication" in bad["detail"]


async def test_every_run_and_every_look_at_one_is_in_the_access_audit(booted):
    nurse = await booted.as_user(RUNNER, username="nurse")
    run_id = (await nurse.post(RUN + "?purpose=ward+round", json=DUE)).json()["run_id"]
    await nurse.get(runs(run_id))
    assert (await nurse.get("/api/agents/audit")).status_code == 403
    auditor = await booted.as_user(["audit.read"])
    entries = (await auditor.get("/api/agents/audit", params={"agent": AGENT})).json()
    seen = [(e["action"], e["who"], e["subjects"], e["purpose"], e["run_id"]) for e in entries]
    assert seen == [
        ("run", "nurse", ["p-1001"], "ward round", run_id),
        ("read", "nurse", ["p-1001"], "treatment", run_id),
    ]
    assert [e["seq"] for e in entries] == [1, 2]


async def test_health_data_is_kept_as_a_digest_and_sealed_never_in_clear(booted):
    nurse = await booted.as_user(RUNNER)
    first = (await nurse.post(RUN, json=CONTROLLED)).json()  # paused: its input is kept
    second = (await nurse.post(RUN, json=DUE)).json()
    async with booted.runtime.database.engine.connect() as connection:
        for table in ("agents_runs", "agents_inputs", "agents_checkpoints", "agents_trace"):
            rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()
            dump = repr(rows)
            for secret in ("p-2002", "p-1001", "oxycodone", "atorvastatin"):
                assert secret not in dump, (table, secret)
        digests = (await connection.execute(text("SELECT input_digest FROM agents_runs"))).all()
    assert len({row[0] for row in digests}) == 2 and all(len(row[0]) == 64 for row in digests)
    view = (await nurse.get(runs(second["run_id"]))).json()
    assert view["output"]["medication"] == "atorvastatin"  # unsealed for who may see it
    assert (await nurse.get(runs(first["run_id"]))).json()["proposal"]["medication"] == "oxycodone"


async def test_run_history_lists_digests_for_holders_of_agents_read(booted):
    nurse = await booted.as_user(RUNNER, username="nurse")
    run_id = (await nurse.post(RUN, json=DUE)).json()["run_id"]
    history = f"/api/agents/{AGENT}/runs"
    assert (await nurse.get(history)).status_code == 403
    reader = await booted.as_user(["agents.read"])
    rows = (await reader.get(history)).json()
    assert [row["run_id"] for row in rows] == [run_id]
    row = rows[0]
    assert (row["status"], row["requested_by"]) == ("completed", "nurse")
    assert set(row) >= {"input_digest", "duration_ms", "started_at", "finished_at"}
    assert "output" not in row and "input" not in row
    msgspec.json.decode(msgspec.json.encode(row))


async def test_the_reminder_is_the_learning_engines_decision_and_the_reward_reaches_it(
    boot_kernel,
):
    from mindframe.sdk.learning import LearningEngine

    async with boot_kernel([AGENT, "learning", "auth"]) as kernel:
        nurse = await kernel.as_user(RUNNER)
        run = (await nurse.post(RUN, json=DUE)).json()
        engine = kernel.runtime.container.resolve(LearningEngine)
        policy = await engine.info("demo-refill-reminder")
        assert (policy.kind, sorted(policy.actions)) == ("lin_thompson", ["call", "email", "sms"])
        assert policy.decisions == 1
        rewarded = await nurse.post(runs(f"{run['run_id']}/reward"), json={"value": 1.0})
        assert rewarded.status_code == 200
        assert len(rewarded.json()["rewarded"]) == 1
        policy = await engine.info("demo-refill-reminder")
        assert (policy.rewards, policy.mean_reward) == (1, 1.0)
