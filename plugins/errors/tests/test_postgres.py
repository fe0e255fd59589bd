"""The intake, digest and issue states on PostgreSQL (upserts, tuple IN, generation bumps),
each test in a database of its own (the SDK's `postgres_url`). Skipped when PostgreSQL is
not reachable."""

from __future__ import annotations

import json

import anyio
import pytest
from test_intake import envelope, event

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


def crash(kind: str, release: str, user: str) -> bytes:
    sent = event("", release=release, user={"id": user})
    sent["exception"] = {"values": [{"type": kind, "value": "boom"}]}
    return envelope(({"type": "event"}, json.dumps(sent).encode()))


async def test_events_group_count_users_and_regress_on_postgresql(boot_kernel, postgres_url: str):
    from mindframe_plugins.errors import issue_states, reading
    from mindframe_plugins.errors.service import ErrorTracker

    async with boot_kernel(["errors"], database_url=postgres_url) as kernel:
        tracker = kernel.runtime.container.resolve(ErrorTracker)
        project, _ = await tracker.projects.create("pg", rate_limit=0)

        async def send(body: bytes) -> None:
            await tracker.intake.accept(project, body)

        async def issues_counting(total: int) -> list[dict]:
            with anyio.fail_after(10):
                while True:
                    found = await tracker.ctx.transaction(reading.list_issues)
                    if sum(i["count"] for i in found) >= total:
                        return found
                    await anyio.sleep(0.02)

        for n in range(6):
            await send(crash("A" if n % 3 else "B", "1.0", f"u{n % 2}"))
        found = await issues_counting(6)
        a = next(i for i in found if i["title"] == "A: boom")
        await tracker.ctx.transaction(issue_states.set_state, a["id"], "resolved", None)
        await send(crash("A", "1.1", "u9"))
        await issues_counting(7)
        regressed = await kernel.bus_probe.next("errors.issue.regressed")
        after = await tracker.ctx.transaction(reading.get_issue, a["id"])
        trend = await tracker.ctx.transaction(lambda s: reading.trend(s, project_id=project.id))
    assert sorted((i["title"], i["count"]) for i in found) == [("A: boom", 4), ("B: boom", 2)]
    assert (after["state"], after["count"], after["users"]) == ("unresolved", 5, 3)
    assert after["releases"] == ["1.0", "1.1"]
    assert regressed.issue_id == a["id"]
    assert sum(h["count"] for h in trend) == 7
