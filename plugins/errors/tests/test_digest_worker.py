"""A large batch is decoded, normalised, fingerprinted and stored in a worker process beside
the intake (`digest_worker_min_batch`); what it stores is what the digest stores itself: the
same issues and counts, envelopes it cannot read set aside, events of a release with
uploaded source maps symbolicated, issue states seen by both sides, and nothing lost when
the worker is gone."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import pytest
from test_intake import envelope, event, post
from test_spool_intake import HELD
from test_symbolication import bundle, event_with  # noqa: F401 - `bundle` is a fixture

pytestmark = pytest.mark.anyio

IN_WORKER = {**HELD, "rate_limit": 0, "digest_worker_min_batch": 5}


async def send_and_digest(live: Any, project: dict[str, Any], bodies: list[bytes]) -> None:
    for body in bodies:
        assert (await post(live, project, body)).status_code == 200
    live.tracker.digest_job.wake()


def event_body(sent: dict[str, Any]) -> bytes:
    return envelope(({"type": "event"}, json.dumps(sent).encode()))


async def test_a_large_batch_is_prepared_in_a_worker_and_grouped_the_same(live_errors):
    async with live_errors(**IN_WORKER) as live:
        project = await live.project("burst")
        bodies = [event_body(event(f"bug {n % 3}", user={"id": f"u{n % 2}"})) for n in range(9)]
        bodies.append(envelope(({"type": "transaction"}, b'{"type":"transaction"}')))
        await send_and_digest(live, project, bodies)
        issues = await live.issues_counting(9, project=project["id"])
        assert sorted((i["title"], i["count"]) for i in issues) == [
            ("bug 0", 3),
            ("bug 1", 3),
            ("bug 2", 3),
        ]
        pool = live.tracker.digest._pool
        assert pool.workers == 1  # the batch went to a worker process
        assert await pool.run(os.getpid) != os.getpid()
        assert await live.tracker.inbox.set_aside() == 0


async def test_an_event_with_uploaded_source_maps_is_symbolicated_beside_a_worker_batch(
    live_errors,
    bundle,  # noqa: F811
):
    minified, source_map, frames = bundle
    async with live_errors(**IN_WORKER) as live:
        project = await live.project("shop")
        for name, content in (("app.js", minified), ("app.js.map", source_map)):
            response = await live.manager.post(
                f"/api/errors/projects/{project['id']}/releases/shop@1/files",
                data={"name": f"~/static/{name}"},
                files={"file": (name, content, "application/octet-stream")},
            )
            assert response.status_code == 201, response.text
        bodies = [event_body(event(f"plain {n}")) for n in range(5)]
        bodies.insert(2, event_body(event_with(frames)))
        await send_and_digest(live, project, bodies)
        await live.issues_counting(6, project=project["id"])
        assert live.tracker.digest._pool.workers == 1
        [issue] = await live.issues(project=project["id"], query="shelf")
        listed = await live.manager.get(f"/api/errors/issues/{issue['id']}/events")
        stored = await live.manager.get(f"/api/errors/events/{listed.json()[0]['event_id']}")
        top = stored.json()["event"]["exception"]["values"][0]["stacktrace"]["frames"][-1]
        assert (top["filename"], top["function"]) == ("src/shelf.js", "countStock")


async def test_without_its_worker_the_digest_prepares_the_batch_itself(live_errors, caplog):
    async with live_errors(**IN_WORKER) as live:
        project = await live.project("alone")
        await live.tracker.digest._pool.close()  # as if it could not start or keeps dying
        with caplog.at_level(logging.WARNING):
            await send_and_digest(live, project, [event_body(event("bug")) for _ in range(6)])
            [issue] = await live.issues_counting(6, project=project["id"])
        assert issue["count"] == 6
        assert "worker process failed" in caplog.text


def test_an_envelope_that_cannot_be_read_comes_back_failed_with_why_and_the_rest_prepared():
    from mindframe_plugins.errors.digest_work import Work, prepare

    good = Work(1, 7, 3600.0, None, event_body(event("fine")), frozenset())
    bad = Work(2, 7, 3600.0, "gzip", b"not gzip at all", frozenset())
    done = prepare([good, bad, good], max_attachment=0)
    assert [len(one.events) for one in done] == [1, 0, 1]
    assert done[1].failed is not None and "gzip" in done[1].failed.lower()
    assert done[0].events[0].title == "fine" and done[0].failed is None


async def test_the_worker_starts_when_envelopes_arrive_not_at_boot(live_errors):
    import anyio

    async with live_errors(**IN_WORKER) as live:
        project = await live.project("early")
        pool = live.tracker.digest._pool
        assert pool.workers == 0
        assert (await post(live, project, event_body(event("first")))).status_code == 200
        with anyio.fail_after(20):  # started while the batch fills, before it is handed over
            while pool.workers == 0:
                await anyio.sleep(0.05)


async def test_batches_stored_in_turn_here_and_in_the_worker_see_each_others_states(
    live_errors,
):
    """Each side caches issue states between its batches; a batch stored on one side after
    the other stored one starts afresh, so a regression is announced once, not again by
    the side that still remembered the issue as resolved."""
    async with live_errors(**IN_WORKER) as live:
        project = await live.project("turns")
        sent = 0

        async def send(release: str, count: int) -> dict[str, Any]:
            nonlocal sent
            bodies = [event_body(event("bug", release=release)) for _ in range(count)]
            await send_and_digest(live, project, bodies)  # 5 or more: the worker's
            sent += count
            [issue] = await live.issues_counting(sent, project=project["id"])
            return issue

        issue = await send("app@1.0.0", 2)
        resolve = f"/api/errors/issues/{issue['id']}/resolve"
        assert (await live.manager.post(resolve)).status_code == 200
        await send("app@1.0.0", 2)  # here: its cache now says resolved in 1.0.0
        assert (await send("app@1.1.0", 6))["state"] == "unresolved"  # the worker regresses it
        assert (await send("app@2.0.0", 2))["state"] == "unresolved"  # here: nothing to do
        assert (await live.manager.post(resolve)).json()["resolved_in"] == "app@2.0.0"
        await send("app@2.0.0", 6)  # the worker: its cache now says resolved in 2.0.0
        await send("app@3.0.0", 2)  # here: regressed
        await send("app@3.0.0", 6)  # the worker: nothing to do
        regressions = live.kernel.bus_probe.topics().count("errors.issue.regressed")
        assert regressions == 2
        assert live.tracker.digest._pool.workers == 1


async def test_a_worker_batch_with_an_envelope_it_cannot_digest_is_digested_here(live_errors):
    """The worker cannot set an envelope aside as it was received: it refuses the whole batch,
    storing nothing, and the server digests it, setting that one aside."""
    import sys

    async with live_errors(**IN_WORKER) as live:
        project = await live.project("refused")
        package = type(live.tracker.digest).__module__.rsplit(".", 1)[0]
        store = sys.modules[package + ".digest_store"]
        inbox, ctx = live.tracker.inbox, live.tracker.digest._ctx
        inbox.add(project["id"], event_body(event("fine")))
        inbox.add(project["id"], b"not gzip at all", "gzip")  # as a crash might leave it
        cursor = await ctx.transaction(store.read_cursor, read_only=True)
        batch = store.WorkerBatch(inbox.spool.reader(), 99, 0, True)
        with pytest.raises(store.Unprepared):
            await ctx.transaction(store.prepare_and_store, batch, core=True)
        assert await ctx.transaction(store.read_cursor, read_only=True) == cursor  # not moved
        assert await live.issues(project=project["id"]) == []
        for _ in range(3):  # five waiting: the worker's, which refuses them
            inbox.add(project["id"], event_body(event("fine")))
        [issue] = await live.issues_counting(4, project=project["id"])
        assert issue["title"] == "fine"
        assert await inbox.set_aside() == 1
        assert live.tracker.digest._pool.workers == 1  # the worker was asked first
