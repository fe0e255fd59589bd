"""When the digest runs: envelopes left after a burst are digested once the intake goes
quiet, not after `digest_wait`; and a batch's announcements are published together (one
commit of the bus's log), not one after another while the next batch waits."""

from __future__ import annotations

import json

import anyio
import pytest
from test_intake import envelope, event, post

pytestmark = pytest.mark.anyio

LONG = 600.0
"""Longer than any test: neither the interval nor `digest_wait` wakes the digest."""


async def test_envelopes_left_after_a_burst_are_digested_once_the_intake_is_quiet(live_errors):
    settings = {"digest_batch": 1000, "digest_wait": LONG, "digest_interval": LONG}
    async with live_errors(rate_limit=0, digest_quiet=0.05, **settings) as live:
        project = await live.project("quiet")
        for n in range(5):
            body = envelope(({"type": "event"}, json.dumps(event(f"quiet {n}")).encode()))
            assert (await post(live, project, body)).status_code == 200
        issues = await live.issues_counting(5, project=project["id"])
        assert len(issues) == 5
        assert live.tracker.pacing.quiet_wakes >= 1
        assert live.tracker.pacing.pending == 0


async def test_a_batch_announces_its_new_issues_together(live_errors, monkeypatch):
    settings = {"digest_batch": 1000, "digest_interval": LONG}
    async with live_errors(rate_limit=0, digest_wait=LONG, digest_quiet=LONG, **settings) as live:
        project = await live.project("announced")
        ctx = live.tracker.digest._ctx
        publish = ctx.publish
        in_flight, most = 0, 0
        published: list[str] = []

        async def counting_publish(announcement, **options):
            nonlocal in_flight, most
            in_flight += 1
            most = max(most, in_flight)
            try:
                await anyio.sleep(0.01)  # what a commit of the bus's log takes, at least
                return await publish(announcement, **options)
            finally:
                in_flight -= 1
                published.append(announcement.title)

        monkeypatch.setattr(ctx, "publish", counting_publish)
        for n in range(3):
            body = envelope(({"type": "event"}, json.dumps(event(f"new {n}")).encode()))
            assert (await post(live, project, body)).status_code == 200
        live.tracker.digest_job.wake()
        await live.issues_counting(3, project=project["id"])
        with anyio.fail_after(10):
            while len(published) < 3:
                await anyio.sleep(0.02)
        assert sorted(published) == ["new 0", "new 1", "new 2"]
        assert most == 3, "the three announcements were published together"


async def test_a_batch_prepared_ahead_is_not_stored_when_another_digest_moved_the_cursor(
    live_errors, monkeypatch
):
    settings = {"digest_wait": LONG, "digest_quiet": LONG, "digest_interval": LONG}
    async with live_errors(rate_limit=0, digest_batch=2, **settings) as live:
        project = await live.project("ahead")
        monkeypatch.setattr(live.tracker.pacing, "_wake", lambda: None)  # this test runs it
        for n in range(6):
            sent = {"message": f"ahead {n}"}  # no event_id: the digest cannot tell repeats
            body = envelope(({"type": "event"}, json.dumps(sent).encode()))
            assert (await post(live, project, body)).status_code == 200
        digest = live.tracker.digest
        write = digest._write
        raced = []

        async def write_after_another_digest(prepared):
            if not raced:  # another version digests the first three meanwhile
                other = digest._inbox.spool.read(prepared.start, 3)
                batch = await digest._prepared(other, prepared.start)
                raced.append(await digest._ctx.transaction(digest._store, batch))
            return await write(prepared)

        monkeypatch.setattr(digest, "_write", write_after_another_digest)
        await digest.run()  # the job's run, prepared ahead while a full batch waits
        assert digest.prepared_ahead >= 1
        issues = await live.issues_counting(6, project=project["id"])
        assert sorted(issue["title"] for issue in issues) == [f"ahead {n}" for n in range(6)]
        assert [issue["count"] for issue in issues] == [1] * 6


async def test_the_pacing_does_not_wake_a_digest_that_failed_or_found_nothing():
    from mindframe_plugins.errors.pacing import DigestPacing

    wakes: list[str] = []
    pacing = DigestPacing(batch=10, wait=LONG, quiet=0.01, wake=lambda: wakes.append("woken"))
    pacing.started()
    pacing.accepted(3)  # while it runs: no wake, the run looks after them
    pacing.finished(failed=True)  # the job's pause comes first, not a retry every quiet
    await anyio.sleep(0.1)
    assert wakes == []
    pacing.started()
    before = pacing.accepted_total
    pacing.caught_up(before)  # the spool was read to its end: nothing waits
    pacing.finished()
    await anyio.sleep(0.1)
    assert wakes == [] and pacing.pending == 0
    pacing.accepted(1)  # a new arrival, once quiet
    with anyio.fail_after(10):
        while not wakes:
            await anyio.sleep(0.01)
    assert pacing.quiet_wakes == 1
