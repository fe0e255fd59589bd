"""The runtime's own errors tracked with no SDK; retention by age and by count; GDPR export
and erasure through the personal-data hooks."""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import pytest
from test_intake import envelope, event, post

from mindframe.sdk import PluginHooks, Subject

pytestmark = pytest.mark.anyio

BROKEN = """
from typing import Any
from litestar import get
from mindframe.sdk import hookimpl


def total(prices: list[int]) -> int:
    return sum(100 // p for p in prices)


@get("/checkout")
async def checkout() -> int:
    return total([1, 0])


@hookimpl
def register_routes(ctx) -> list[Any]:
    return [checkout]
"""


async def test_a_failing_request_of_another_plugin_is_an_issue_of_the_builtin_project(
    boot_kernel, plugin_factory
):
    plugin_factory.make("broken", BROKEN)
    async with boot_kernel(["errors", "broken", "auth"]) as kernel:
        manager = await kernel.as_user(["errors.read"])
        for _ in range(3):
            assert (await kernel.client.get("/api/broken/checkout")).status_code == 500
        builtin = next(
            p for p in (await manager.get("/api/errors/projects")).json() if p["builtin"]
        )
        with anyio.fail_after(10):  # until the digest has the three
            while True:
                found = (
                    await manager.get("/api/errors/issues", params={"project": builtin["id"]})
                ).json()
                if sum(i["count"] for i in found) >= 3:
                    break
                await anyio.sleep(0.02)
        [event_row] = (
            await manager.get(f"/api/errors/issues/{found[0]['id']}/events?limit=1")
        ).json()
    assert builtin["name"] == "mindframe"
    [issue] = found
    assert issue["title"] == "ZeroDivisionError: integer division or modulo by zero"
    assert issue["count"] == 3
    sent = event_row["event"]
    assert sent["tags"]["plugin"] == "broken" and sent["tags"]["path"] == "/api/broken/checkout"
    frame = sent["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert frame["function"] == "<genexpr>" and "100 // p" in frame["context_line"]
    assert frame["in_app"] is True


def user_event(message: str, user: dict[str, str]) -> bytes:
    return envelope(({"type": "event"}, json.dumps(event(message, user=user)).encode()))


async def test_retention_deletes_by_age_and_keeps_the_newest_per_project(live_errors):
    from mindframe_plugins.errors import retention

    async with live_errors() as live:
        capped = await live.project("capped", max_events=3)
        aging = await live.project("aging", retention_days=1)
        for n in range(5):
            await post(live, capped, user_event(f"capped {n % 2}", {"id": str(n)}))
        await post(live, aging, user_event("old", {"id": "x"}))
        await live.issues_counting(5, project=capped["id"])
        await live.issues_counting(1, project=aging["id"])
        deleted = await retention.apply(live.tracker, now=time.time() + 2 * 86400 - 3600)
        kept = [
            e["event"]["message"]
            for i in await live.issues(project=capped["id"])
            for e in await live.events(i["id"])
        ]
        aged = await live.issues(project=aging["id"])
    assert deleted == 3
    assert sorted(kept) == ["capped 0", "capped 0", "capped 1"]  # events 2, 3, 4
    assert aged == []


async def test_a_persons_events_are_exported_then_erased_and_counts_of_users_follow(live_errors):
    async with live_errors() as live:
        project = await live.project("app")
        ada = {"id": "u1", "email": "ada@example.org"}
        await post(live, project, user_event("crash", ada))
        await post(live, project, user_event("crash", {"email": "ada@example.org"}))
        await post(live, project, user_event("crash", {"id": "u2"}))
        [issue] = await live.issues_counting(3, project=project["id"])
        assert issue["users"] == 3
        hooks = live.kernel.runtime.container.resolve(PluginHooks)
        subject = Subject("u1", username="ada", email="ada@example.org")
        exported = await _outcome(hooks, "export_personal_data", subject)
        await _outcome(hooks, "erase_personal_data", subject)
        await _outcome(hooks, "erase_personal_data", subject)  # safe to repeat
        after = await _outcome(hooks, "export_personal_data", subject)
        [left] = await live.issues(project=project["id"])
        remaining = await live.events(issue["id"])
    assert len(exported["events"]) == 2
    assert {e["event"]["user"].get("email") for e in exported["events"]} == {"ada@example.org"}
    assert after == {"events": []}
    assert [e["event"]["user"] for e in remaining] == [{"id": "u2"}]
    assert (left["users"], left["count"]) == (1, 3)


async def _outcome(hooks: Any, hook: str, subject: Subject) -> Any:
    for outcome in await hooks.call_each(hook, subject=subject):
        if outcome.plugin == "errors":
            assert outcome.error is None, outcome.error
            return outcome.result
    raise AssertionError(f"errors did not answer {hook}")


async def test_events_are_kept_compressed_and_those_kept_as_plain_json_before_still_read(
    live_errors,
):
    from mindframe_plugins.errors.models import events
    from sqlalchemy import select, update

    crumbs = {"values": [{"category": "cart", "message": f"line {n} added"} for n in range(50)]}
    async with live_errors() as live:
        project = await live.project("app")
        for n in range(2):
            sent = event(f"crash {n}", user={"id": "u1"}, breadcrumbs=crumbs)
            await post(live, project, envelope(({"type": "event"}, json.dumps(sent).encode())))
        issues = await live.issues_counting(2, project=project["id"])
        shown = [e for i in issues for e in await live.events(i["id"])]

        def kept(session: Any) -> list[bytes]:
            return list(session.execute(select(events.c.data)).scalars())

        def as_before(session: Any) -> None:  # the first event as an earlier version kept it
            first = shown[0]
            plain = json.dumps(first["event"]).encode()
            session.execute(update(events).where(events.c.id == first["id"]).values(data=plain))

        data = await live.tracker.ctx.transaction(kept)
        await live.tracker.ctx.transaction(as_before)
        again = [e for i in issues for e in await live.events(i["id"])]
        hooks = live.kernel.runtime.container.resolve(PluginHooks)
        exported = await _outcome(hooks, "export_personal_data", Subject("u1"))
    assert not any(row.startswith(b"{") for row in data)  # LZ4 frames, not JSON
    assert sum(map(len, data)) * 3 < sum(len(json.dumps(e["event"])) for e in shown)
    assert again == shown
    assert sorted(e["event"]["message"] for e in exported["events"]) == ["crash 0", "crash 1"]
