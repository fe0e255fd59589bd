"""The access audit records every subject of a run about many people, however long their ids,
finds entries by any one of them, and its chain covers each subject: `mindframe audit verify`
notices one changed, removed or added; a database from before subjects were a list is
migrated with its chain intact."""

import sqlite3
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text

from .test_registry import verify

pytestmark = pytest.mark.anyio

AGENT = "ward-round"
WIRING = """
from mindframe.sdk import hookimpl
from mindframe.sdk.agents import serve_agent

from .agent import AGENT


@hookimpl
def register_routes(ctx):
    return serve_agent(ctx, AGENT)
"""
ROUND = """
import msgspec
from mindframe.sdk.agents import Agent, Run


class Round(msgspec.Struct):
    patients: list[str]


class Seen(msgspec.Struct):
    count: int


async def run(data: Round, run: Run) -> Seen:
    return Seen(count=len(data.patients))


AGENT = Agent(
    industry="test",
    title="Ward round",
    description="Sees every patient on the ward",
    input=Round,
    output=Seen,
    run=run,
    health_data=True,
    subject="patients",
)
"""
# 40 ids of 24 characters: 999 characters joined, five times what the old column held
PATIENTS = [f"patient-{n:04d}-of-ward-7b" for n in range(40)]


@pytest.fixture
def ward_round(plugin_factory):
    plugin_factory.make(
        AGENT, WIRING, requires=["agents"], files={"agent.py": textwrap.dedent(ROUND)}
    )


def tamper(data_dir: Path, *statements: str) -> None:
    """Change the stopped server's database behind the plugin's back."""
    with sqlite3.connect(data_dir / "mindframe.db") as connection:
        for statement in statements:
            connection.execute(statement)


async def audit_of(kernel, **params) -> list[dict]:
    auditor = await kernel.as_user(["audit.read"])
    response = await auditor.get("/api/agents/audit", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_run_about_many_patients_records_every_one_and_is_found_by_any(
    boot_kernel, ward_round
):
    async with boot_kernel([AGENT, "auth"]) as kernel:
        nurse = await kernel.as_user([f"{AGENT}.run"], username="nurse")
        run = await nurse.post(f"/api/{AGENT}/run", json={"patients": PATIENTS})
        assert run.json()["output"] == {"count": 40}
        other = await nurse.post(f"/api/{AGENT}/run", json={"patients": ["someone-else"]})
        run_id = run.json()["run_id"]
        assert (await nurse.get(f"/api/agents/runs/{run_id}")).status_code == 200
        entries = await audit_of(kernel)
        assert [(e["action"], e["run_id"], e["subjects"]) for e in entries] == [
            ("run", run_id, PATIENTS),
            ("run", other.json()["run_id"], ["someone-else"]),
            ("read", run_id, PATIENTS),
        ]
        about_last = await audit_of(kernel, subject=PATIENTS[-1])
        assert [(e["seq"], e["action"]) for e in about_last] == [(1, "run"), (3, "read")]
        assert [e["seq"] for e in await audit_of(kernel, subject="someone-else")] == [2]
        assert await audit_of(kernel, subject="patient-0001") == []  # whole ids only


async def test_verify_notices_one_subject_changed_removed_or_added(
    boot_kernel, ward_round, tmp_path
):
    data_dir = tmp_path / "data"
    async with boot_kernel([AGENT, "auth"], data_dir=data_dir) as kernel:
        nurse = await kernel.as_user([f"{AGENT}.run"])
        for patients in (["p-1", "p-2"], PATIENTS, ["p-3"]):
            ran = await nurse.post(f"/api/{AGENT}/run", json={"patients": patients})
            assert ran.status_code == 200, ran.text
    whole = verify(data_dir)
    assert (whole.returncode, whole.stdout.strip()) == (
        0,
        "access audit: 3 rows, the chain is whole",
    ), whole.stderr
    edits = [
        "UPDATE agents_audit_subjects SET subject = 'p-9' WHERE seq = 2 AND position = 17",
        "DELETE FROM agents_audit_subjects WHERE seq = 1 AND position = 1",
        "INSERT INTO agents_audit_subjects (seq, position, subject) VALUES (3, 1, 'p-4')",
    ]
    expected = [
        ["row 2 was changed after it was written"],
        ["row 1 was changed after it was written", "row 2 was changed after it was written"],
        [
            "row 1 was changed after it was written",
            "row 2 was changed after it was written",
            "row 3 was changed after it was written",
        ],
    ]
    for edit, problems in zip(edits, expected, strict=True):
        tamper(data_dir, edit)
        found = verify(data_dir)
        assert (found.returncode, found.stdout.splitlines()) == (1, problems), found.stderr


OLD_LAYOUT = [
    "ALTER TABLE agents_audit ADD COLUMN subject VARCHAR(200)",
    "UPDATE agents_audit SET subject = (SELECT subject FROM agents_audit_subjects s "
    "WHERE s.seq = agents_audit.seq)",
    "CREATE INDEX agents_audit_subject ON agents_audit (subject)",
    "DROP TABLE agents_audit_subjects",
    "DROP TABLE IF EXISTS agents_alembic_version",
    "DELETE FROM kernel_schemas WHERE plugin = 'agents'",
]
"""The database as the plugin left it before subjects were a list: one `subject` column,
no revision applied."""


async def test_a_database_with_one_subject_column_is_migrated_and_still_verifies(
    boot_kernel, ward_round, tmp_path
):
    data_dir = tmp_path / "data"
    async with boot_kernel([AGENT, "auth"], data_dir=data_dir) as kernel:
        nurse = await kernel.as_user([f"{AGENT}.run"], username="nurse")
        for patient in ("p-1", "p-2"):
            await nurse.post(f"/api/{AGENT}/run", json={"patients": [patient]})
    tamper(data_dir, *OLD_LAYOUT)
    async with boot_kernel([AGENT, "auth"], data_dir=data_dir) as kernel:
        engine = kernel.runtime.database.engine
        async with engine.connect() as connection:
            columns = await connection.execute(text("SELECT * FROM agents_audit"))
            assert "subject" not in list(columns.keys())
        assert [e["subjects"] for e in await audit_of(kernel)] == [["p-1"], ["p-2"]]
    whole = verify(data_dir)
    assert (whole.returncode, whole.stdout.strip()) == (
        0,
        "access audit: 2 rows, the chain is whole",
    ), whole.stderr
