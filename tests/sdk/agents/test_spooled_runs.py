"""A run answered is a run kept: a real `mindframe run` answers health-news2 runs while its
writer is held up (every commit of the runs spool's cursor slowed), is SIGKILLed right after
the last answer, and once started again every answered run is in the history with exactly
one access-audit entry, and the audit chain verifies."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mindframe.sdk.browser import free_port

pytestmark = pytest.mark.slow

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"
RUNS = 12
VITALS = {
    "patient_id": "p-1",
    "respiration_rate": 18,
    "spo2": 96,
    "systolic_bp": 120,
    "pulse": 80,
    "temperature": 37.1,
}
SLOW_CURSOR = """
import time
from sqlalchemy import event
from sqlalchemy.engine import Engine


def slow(conn, cursor, statement, *args):
    if "agents_spool_cursor" in statement and not statement.startswith("SELECT"):
        time.sleep(1.0)


event.listen(Engine, "before_cursor_execute", slow)
from mindframe.kernel.cli import main
main()
"""
"""The server, each commit of spooled runs held up a second: the kill catches runs answered
200 that only the spool holds."""


def mindframe(*arguments: str, env: dict[str, str], stdin: str | None = None) -> str:
    command = [str(Path(sys.executable).parent / "mindframe"), *arguments]
    done = subprocess.run(command, env=env, input=stdin, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def serve(code: str | None, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    start = (
        [sys.executable, "-c", code] if code else [str(Path(sys.executable).parent / "mindframe")]
    )
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*start, "run", "--port", str(port), "--no-access-log"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the server did not answer: {log.read_text()}")


def test_runs_answered_before_a_sigkill_are_written_after_the_restart(tmp_path):
    plugins = tmp_path / "plugins"
    skip = shutil.ignore_patterns("tests", "__pycache__")
    shutil.copytree(PLUGINS / "agents" / "registry", plugins / "agents", ignore=skip)
    shutil.copytree(PLUGINS / "auth", plugins / "auth", ignore=skip)
    news2 = PLUGINS / "agents" / "healthcare" / "health-news2"
    shutil.copytree(news2, plugins / "health-news2", ignore=skip)
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINDFRAME_")}
    env.update(
        MINDFRAME_BUILTIN_PLUGINS="false",
        MINDFRAME_PLUGINS_DIRS=f'["{plugins}"]',
        MINDFRAME_DATA_DIR=str(data),
    )
    mindframe("users", "create", "nurse", "--admin", "--password-stdin", env=env,
              stdin="a nurse's password, long enough\n")  # fmt: skip
    token = mindframe("tokens", "create", "ci", "--user", "nurse", "--scope", "*", env=env).split()[
        -1
    ]
    bearer = {"Authorization": f"Bearer {token}"}
    port, log = free_port(), tmp_path / "server.log"

    first = serve(SLOW_CURSOR, port, env, log)
    answered = []
    try:
        for _ in range(RUNS):
            response = httpx.post(
                f"http://127.0.0.1:{port}/api/health-news2/run",
                json=VITALS,
                headers=bearer,
                timeout=10,
            )
            assert response.status_code == 200, response.text
            answered.append(response.json()["run_id"])
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    database = sqlite3.connect(data / "mindframe.db")
    with database:
        kept = {row[0] for row in database.execute("SELECT id FROM agents_runs")}
    assert len(kept & set(answered)) < RUNS, "the writer was not behind: nothing tested"

    second = serve(None, port, env, log)
    try:
        for run_id in answered:
            run = httpx.get(f"http://127.0.0.1:{port}/api/agents/runs/{run_id}", headers=bearer)
            assert run.status_code == 200, run.text
            assert run.json()["output"]["score"] == 0
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(timeout=30)
    with database:
        audited = [
            row[0]
            for row in database.execute("SELECT run_id FROM agents_audit WHERE action = 'run'")
        ]
    database.close()
    assert sorted(audited) == sorted(answered)  # each once: none lost, none applied twice
    verified = mindframe("audit", "verify", env=env)
    # a run entry for each run, and a read entry for each look at it after the restart
    assert f"access audit: {2 * RUNS} rows, the chain is whole" in verified
