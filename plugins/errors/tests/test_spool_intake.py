"""The intake's spool: envelopes accepted while the plugin is reloaded are all digested, once
each; a record torn by a crash is skipped and reported (as an issue of the runtime's own
errors) while every envelope before it is digested."""

from __future__ import annotations

import json
import sqlite3
import sys
from contextlib import closing

import anyio
import pytest
from test_intake import envelope, event, post

pytestmark = pytest.mark.anyio

HELD = {"digest_batch": 1000, "digest_wait": 600, "digest_quiet": 600, "digest_interval": 600}
"""A digest that does not run while the test sends."""


@pytest.mark.parametrize("worker_min_batch", [100, 5], ids=["mostly-here", "in-the-worker"])
async def test_a_reload_during_a_burst_loses_nothing_and_repeats_nothing(
    live_errors, worker_min_batch
):
    """Two versions digest side by side during a reload, here or in their workers (each
    worker reads the cursor under the write lock): every envelope stored once."""
    async with live_errors(rate_limit=0, digest_worker_min_batch=worker_min_batch) as live:
        project = await live.project("reloaded")
        accepted: list[str] = []

        async def sender(number: int) -> None:
            for n in range(40):
                sent = event(f"bug {n % 4}")
                body = envelope(({"type": "event"}, json.dumps(sent).encode()))
                response = await post(live, project, body)
                assert response.status_code == 200, response.text
                accepted.append(sent["event_id"])

        async with anyio.create_task_group() as group:
            for number in range(8):
                group.start_soon(sender, number)
            for _ in range(2):
                await anyio.sleep(0.2)
                result = await live.kernel.runtime.reload("errors")
                assert result.ok, result
        assert len(accepted) == 320
        issues = await live.issues_counting(320, project=project["id"])
        assert sorted(issue["title"] for issue in issues) == [f"bug {n}" for n in range(4)]
        assert sum(issue["count"] for issue in issues) == 320


async def test_a_torn_record_is_skipped_and_reported_and_the_rest_digested(
    live_errors, boot_kernel, tmp_path
):
    async with live_errors(rate_limit=0, **HELD) as live:
        project = await live.project("torn")
        for n in range(5):
            await post(live, project, envelope(({"type": "event"}, b"{}")))
            body = envelope(({"type": "event"}, json.dumps(event(f"kept {n}")).encode()))
            response = await post(live, project, body)
            assert response.status_code == 200
        assert live.tracker.digest.digested == 0
        spool_dir = live.tracker.inbox.spool.directory
    segment = sorted(spool_dir.glob("*.spool"))[-1]
    with segment.open("ab") as torn:  # what a crash in the middle of a write leaves
        torn.write(b"\xff\x00\x00\x00\x12\x34\x56\x78only part of it")
    async with boot_kernel(["errors"]) as kernel:
        from mindframe_plugins.errors.service import ErrorTracker

        tracker = kernel.runtime.container.resolve(ErrorTracker)
        database = tmp_path / "data" / "mindframe.db"

        def titles(project_id: int) -> list[str]:
            with closing(sqlite3.connect(database, timeout=10)) as db:
                query = "select title from errors_issues where project_id = ? order by title"
                return [row[0] for row in db.execute(query, (project_id,))]

        with anyio.fail_after(20):
            while not any(t.startswith("TornRecord") for t in titles(tracker.builtin.id)):
                await anyio.sleep(0.05)
        assert tracker.digest.digested == 11  # the ten sent, and the report
        assert [t for t in titles(project["id"]) if t.startswith("kept")] == [
            f"kept {n}" for n in range(5)
        ]
        [torn] = [t for t in titles(tracker.builtin.id) if t.startswith("TornRecord")]
        assert "not a whole record" in torn
        assert not (spool_dir / segment.name).exists(), "a digested segment is deleted"


async def test_an_envelope_that_cannot_be_digested_is_set_aside_and_the_rest_go_in(
    live_errors, monkeypatch, tmp_path
):
    async with live_errors(rate_limit=0, **HELD) as live:
        digest = sys.modules[type(live.tracker.digest).__module__]  # the version running
        work = sys.modules[digest.__package__ + ".digest_work"]
        store = sys.modules[digest.__package__ + ".digest_store"]
        normalize, create_issue = work.normalize, store._create_issue

        def failing_normalize(event, *args, **kwargs):
            if event.get("message") == "unreadable":
                raise ValueError("cannot read this one")
            return normalize(event, *args, **kwargs)

        def failing_create(session, event):
            if event.title == "unstorable":
                raise RuntimeError("cannot store this one")
            return create_issue(session, event)

        monkeypatch.setattr(work, "normalize", failing_normalize)
        monkeypatch.setattr(store, "_create_issue", failing_create)
        project = await live.project("aside")
        for message in ["fine 1", "unreadable", "fine 2", "unstorable", "fine 3"]:
            body = envelope(({"type": "event"}, json.dumps(event(message)).encode()))
            assert (await post(live, project, body)).status_code == 200
        live.tracker.digest_job.wake()
        issues = await live.issues_counting(3, project=project["id"])
        assert sorted(i["title"] for i in issues) == ["fine 1", "fine 2", "fine 3"]
        with closing(sqlite3.connect(tmp_path / "data" / "mindframe.db", timeout=10)) as db:
            aside = [row[0] for row in db.execute("select error from errors_inbox order by id")]
        assert aside == ["ValueError: cannot read this one", "RuntimeError: cannot store this one"]
        live.tracker.digest_job.wake()  # nothing is read twice
        await anyio.sleep(0.5)
        assert sum(i["count"] for i in await live.issues(project=project["id"])) == 3


async def test_a_batch_two_digests_read_from_the_same_cursor_is_stored_once(live_errors):
    async with live_errors(rate_limit=0, **HELD) as live:
        project = await live.project("raced")
        for n in range(3):
            sent = {"message": f"raced {n}"}  # no event_id: the digest cannot tell repeats
            body = envelope(({"type": "event"}, json.dumps(sent).encode()))
            assert (await post(live, project, body)).status_code == 200
        digest = live.tracker.digest
        # two digests (an old and a new version of the plugin) read the same batch
        first = await digest._prepared(None, None)
        second = await digest._prepared(None, None)
        assert first.start == second.start and len(first.records) == len(second.records) == 3
        assert (await digest._write(first)).events == 3
        assert (await digest._write(second)).events == 0  # the cursor moved: not stored again
        issues = await live.issues(project=project["id"])
        assert sum(issue["count"] for issue in issues) == 3


async def test_a_batch_read_but_not_yet_stored_stays_in_the_spool(live_errors, boot_kernel):
    async with live_errors(rate_limit=0, **HELD) as live:
        project = await live.project("unstored")
        for n in range(3):
            body = envelope(({"type": "event"}, json.dumps(event(f"unstored {n}")).encode()))
            assert (await post(live, project, body)).status_code == 200
    async with boot_kernel(["errors"], settings={"errors": HELD}) as kernel:  # a restart
        from mindframe_plugins.errors.service import ErrorTracker

        tracker = kernel.runtime.container.resolve(ErrorTracker)
        digest, spool = tracker.digest, tracker.inbox.spool
        assert len(spool.segments()) == 2  # the one written before the restart is closed
        prepared = await digest._prepared(None, None)
        assert len(prepared.records) == 3 and prepared.next > prepared.records[-1].position
        # the process dies here, before the batch and its cursor are committed
        assert len(spool.read(0, 100).records) == 3, "the batch's segment is still there"
