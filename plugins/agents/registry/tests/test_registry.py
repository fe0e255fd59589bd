"""The agents plugin: a registry that stays true as agents come, go and reload; the access
audit's hash chain, verified from the command line; and personal data export and erasure."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from mindframe.sdk import PluginHooks, Subject
from mindframe.sdk.agents import AgentRegistry

pytestmark = pytest.mark.anyio

AGENT = "demo-refill"
DUE = {"patient_id": "p-1001", "medication": "atorvastatin", "days_left": 3}


async def listed(kernel) -> list[str]:
    return [agent["name"] for agent in (await kernel.client.get("/api/agents")).json()]


async def test_the_registry_follows_agents_disabled_enabled_and_reloaded(boot_kernel):
    async with boot_kernel([AGENT]) as kernel:
        assert await listed(kernel) == [AGENT]
        manage = "/api/kernel/plugins"
        assert (await kernel.client.post(f"{manage}/{AGENT}/disable")).status_code == 200
        assert await listed(kernel) == []
        assert (await kernel.client.get(f"/api/agents/{AGENT}")).status_code == 404
        assert (await kernel.client.post(f"{manage}/{AGENT}/enable")).status_code == 200
        assert await listed(kernel) == [AGENT]
        reloaded = await kernel.client.post(f"{manage}/agents/reload")
        assert reloaded.json()["reloaded_dependents"] == [AGENT]
        assert await listed(kernel) == [AGENT]
        health = (await kernel.client.get("/health")).json()["plugins"]["agents"]
        assert (health["ok"], health["agents"]) == (True, 1)


def verify(data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`mindframe audit verify` against the test's database, as an operator would run it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINDFRAME_")}
    env["MINDFRAME_DATA_DIR"] = str(data_dir)
    command = [str(Path(sys.executable).parent / "mindframe"), "audit", "verify"]
    return subprocess.run(
        command, env=env, cwd=data_dir, capture_output=True, text=True, timeout=120
    )


async def tamper(boot_kernel, data_dir: Path, statement: str) -> None:
    """Change the database behind the plugin's back, as someone covering their tracks."""
    async with boot_kernel([AGENT], data_dir=data_dir) as kernel:
        engine = kernel.runtime.database.engine
        async with engine.begin() as connection:
            await connection.execute(text(statement))


async def test_audit_verify_finds_a_changed_row_and_a_deleted_one(boot_kernel, tmp_path):
    data_dir = tmp_path / "data"
    async with boot_kernel([AGENT, "auth"], data_dir=data_dir) as kernel:
        nurse = await kernel.as_user([f"{AGENT}.run"])
        for patient in ("p-1", "p-2", "p-3"):
            assert (
                await nurse.post(f"/api/{AGENT}/run", json={**DUE, "patient_id": patient})
            ).status_code == 200
    whole = verify(data_dir)
    assert (whole.returncode, whole.stdout.strip()) == (
        0,
        "access audit: 3 rows, the chain is whole",
    ), whole.stderr
    await tamper(boot_kernel, data_dir, "UPDATE agents_audit SET who = 'nobody' WHERE seq = 2")
    changed = verify(data_dir)
    assert changed.returncode == 1
    assert changed.stdout.splitlines() == ["row 2 was changed after it was written"]
    await tamper(boot_kernel, data_dir, "DELETE FROM agents_audit WHERE seq = 2")
    deleted = verify(data_dir)
    assert deleted.returncode == 1
    assert deleted.stdout.splitlines() == [
        "row 2 is missing (deleted?)",
        "row 3 does not follow the row before it",
    ]


async def test_a_persons_export_holds_their_runs_and_who_saw_their_health_data(boot_kernel):
    async with boot_kernel([AGENT, "auth"]) as kernel:
        nurse = await kernel.as_user([f"{AGENT}.run"], username="nurse")
        run_id = (await nurse.post(f"/api/{AGENT}/run", json=DUE)).json()["run_id"]
        hooks = kernel.runtime.container.resolve(PluginHooks)
        as_nurse = Subject(user_id="nurse-id", username="nurse")
        outcome = await hooks.call_each("export_personal_data", subject=as_nurse)
        mine = next(o.result for o in outcome if o.plugin == "agents")
        assert [run["run_id"] for run in mine["runs_requested"]] == [run_id]
        patient = Subject(user_id="p-1001")
        outcome = await hooks.call_each("export_personal_data", subject=patient)
        theirs = next(o.result for o in outcome if o.plugin == "agents")
        accesses = [(a["who"], a["action"], a["run_id"]) for a in theirs["health_data_accesses"]]
        assert accesses == [("nurse", "run", run_id)]
        await hooks.call_each("erase_personal_data", subject=as_nurse)
        outcome = await hooks.call_each("export_personal_data", subject=as_nurse)
        assert next(o.result for o in outcome if o.plugin == "agents")["runs_requested"] == []
        view = (await nurse.get(f"/api/agents/runs/{run_id}")).json()
        assert view.get("requested_by") is None


@pytest.mark.postgres
async def test_runs_approvals_and_the_audit_work_on_postgresql(boot_kernel, postgres_url):
    async with boot_kernel([AGENT, "auth"], database_url=postgres_url) as kernel:
        nurse = await kernel.as_user([f"{AGENT}.run", "agents.approve", "audit.read"])
        done = await nurse.post(f"/api/{AGENT}/run", json=DUE)
        assert done.json()["output"]["refill"] is True
        controlled = {**DUE, "medication": "oxycodone", "days_left": 1}
        paused = (await nurse.post(f"/api/{AGENT}/run", json=controlled)).json()
        approved = await nurse.post(f"/api/agents/runs/{paused['run_id']}/approve", json={})
        assert approved.json()["status"] == "completed"
        audit = (await nurse.get("/api/agents/audit")).json()
        assert [entry["seq"] for entry in audit] == [1, 2]
        verified = await kernel.runtime.container.resolve(AgentRegistry).audit.verify()
        assert (verified.rows, verified.ok) == (2, True)
