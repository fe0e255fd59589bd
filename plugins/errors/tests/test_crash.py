"""Accepted means durable: a real `mindframe run` is SIGKILLed right after answering 200 to
a burst, while envelopes are still in flight and the digest is behind; after a restart,
every envelope it had accepted is an event of an issue."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx
from test_intake import envelope, event

from mindframe.sdk.browser import free_port
from mindframe.sdk.testing import boot

PLUGINS = Path(__file__).resolve().parents[2]
BURST = 400
KILL_AFTER = 250  # accepted envelopes; the rest are in flight when the server dies


def server_env(data: Path) -> dict[str, str]:
    others = [p.parent.name for p in PLUGINS.glob("*/plugin.toml") if p.parent.name != "errors"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINDFRAME_")}
    env.update(
        MINDFRAME_DATA_DIR=str(data),
        MINDFRAME_DISABLED=json.dumps(others),
        MINDFRAME_ERRORS__DIGEST_BATCH="10",  # a digest behind the intake at the kill
    )
    return env


SLOW_COMMITS = """
import time
from sqlalchemy import event
from sqlalchemy.engine import Engine


def slow(conn, cursor, statement, *args):
    if statement.startswith(("INSERT INTO errors_spool_cursor", "UPDATE errors_spool_cursor")):
        time.sleep(0.05)


event.listen(Engine, "before_cursor_execute", slow)
from mindframe.kernel.cli import main
main()
"""
"""The server, with each digest batch slowed by 50 ms: a digest behind the intake, so the kill
catches envelopes answered 200 that only the spool holds."""


def start(data: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", SLOW_COMMITS, "run"]
    with log.open("ab") as out:
        return subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
            env=server_env(data),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def until_up(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the server did not start in 60 s"
            try:
                if (await client.get(f"http://127.0.0.1:{port}/health")).status_code:
                    return
            except httpx.TransportError:
                await asyncio.sleep(0.05)


def stored_event_ids(data: Path) -> set[str]:
    with closing(sqlite3.connect(data / "mindframe.db", timeout=10)) as db:
        return {row[0] for row in db.execute("select event_id from errors_events")}


async def make_project(data: Path) -> tuple[int, str]:
    async with boot(["errors"], data_dir=data) as kernel:
        from mindframe_plugins.errors.service import ErrorTracker

        tracker = kernel.runtime.container.resolve(ErrorTracker)
        project, key = await tracker.projects.create("crash", rate_limit=0)
        return project.id, key


async def burst_then_kill(
    port: int, project_id: int, key: str, process: subprocess.Popen[bytes]
) -> set[str]:
    """Send BURST envelopes over 16 connections; SIGKILL the server once KILL_AFTER are
    accepted. Returns the event ids it answered 200 for."""
    accepted: set[str] = set()
    bodies = []
    for n in range(BURST):
        sent = event(f"crash {n % 3}")
        bodies.append((sent["event_id"], envelope(({"type": "event"}, json.dumps(sent).encode()))))
    queue = iter(bodies)
    url = f"http://127.0.0.1:{port}/api/errors/api/{project_id}/envelope/"
    headers = {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={key}"}
    killed = asyncio.Event()

    async def sender(client: httpx.AsyncClient) -> None:
        for event_id, body in queue:
            if killed.is_set():
                return
            try:
                response = await client.post(url, content=body, headers=headers)
            except httpx.TransportError:
                return
            if response.status_code == 200:
                accepted.add(event_id)
                if len(accepted) >= KILL_AFTER and not killed.is_set():
                    os.kill(process.pid, signal.SIGKILL)
                    killed.set()

    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*[sender(client) for _ in range(16)])
    process.wait(timeout=10)
    return accepted


def test_a_sigkill_after_200_loses_no_accepted_envelope(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "server.log"
    project_id, key = asyncio.run(make_project(data))
    port = free_port()
    first = start(data, port, log)
    try:
        asyncio.run(until_up(port, first, log))
        accepted = asyncio.run(burst_then_kill(port, project_id, key, first))
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == -signal.SIGKILL
    assert len(accepted) >= KILL_AFTER
    pending = accepted - stored_event_ids(data)
    assert pending, "the digest had caught up before the kill: nothing was at risk"
    second = start(data, port, log)
    try:
        asyncio.run(until_up(port, second, log))
        deadline = time.monotonic() + 30
        while not accepted <= stored_event_ids(data):
            assert time.monotonic() < deadline, (
                f"{len(accepted - stored_event_ids(data))} accepted envelopes were lost"
            )
            time.sleep(0.05)
    finally:
        second.send_signal(signal.SIGINT)
        try:
            second.wait(timeout=15)
        except subprocess.TimeoutExpired:
            second.kill()
            second.wait()
    with closing(sqlite3.connect(data / "mindframe.db")) as db:
        grouped = db.execute("select title, count from errors_issues order by title").fetchall()
    assert [title for title, _ in grouped] == ["crash 0", "crash 1", "crash 2"]
    assert sum(count for _, count in grouped) == len(stored_event_ids(data)) >= len(accepted)
