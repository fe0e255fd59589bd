"""Issues over the API: projects and keys, states and regressions, merges that last,
filters, sorting, trends and top issues, and who may do what."""

from __future__ import annotations

from typing import Any

import pytest
from test_intake import envelope, event, key_of, post

pytestmark = pytest.mark.anyio


def error_event(
    kind: str, release: str | None, user: str | None = None, env: str = "prod"
) -> bytes:
    fields: dict[str, Any] = {
        "exception": {"values": [{"type": kind, "value": "boom"}]},
        "environment": env,
    }
    if release:
        fields["release"] = release
    if user:
        fields["user"] = {"id": user}
    import json

    return envelope(({"type": "event"}, json.dumps(event("", **fields)).encode()))


async def test_creating_projects_needs_errors_manage_and_keys_rotate_and_revoke(live_errors):
    async with live_errors() as live:
        reader = await live.kernel.as_user(["errors.read"])
        assert (await reader.post("/api/errors/projects", json={"name": "x"})).status_code == 403
        assert (await live.kernel.client.get("/api/errors/issues")).status_code == 401
        assert (await reader.get("/api/errors/issues")).status_code == 200
        admin = await live.kernel.as_user(admin=True)
        created = await admin.post("/api/errors/projects", json={"name": "shop"})
        assert created.status_code == 201
        project = created.json()
        assert {"id", "name", "dsn"} <= project.keys() and isinstance(project["id"], int)
        again = await live.manager.post("/api/errors/projects", json={"name": "shop"})
        assert again.status_code == 409
        old_key = key_of(project)
        new = await live.manager.post(f"/api/errors/projects/{project['id']}/keys")
        assert new.status_code == 201
        new_project = {**project, "dsn": new.json()["dsn"]}
        assert (await post(live, project, error_event("A", None))).status_code == 200
        assert (await post(live, new_project, error_event("B", None))).status_code == 200
        revoked = await live.manager.delete(f"/api/errors/projects/{project['id']}/keys/{old_key}")
        assert revoked.status_code == 204
        assert (await post(live, project, error_event("C", None))).status_code == 401
        assert (await post(live, new_project, error_event("D", None))).status_code == 200
        shown = (await live.manager.get(f"/api/errors/projects/{project['id']}")).json()
        assert shown["dsn"] == new.json()["dsn"]
        assert [k["active"] for k in shown["keys"]] == [False, True]


async def test_a_resolved_issue_reopens_on_a_later_release_and_announces_it(live_errors):
    async with live_errors() as live:
        project = await live.project("app")
        await post(live, project, error_event("Crash", "app@1.0.0", user="u1"))
        [issue] = await live.issues_counting(1, project=project["id"])
        created = await live.kernel.bus_probe.next("errors.issue.created")
        assert (created.issue_id, created.project_id, created.count) == (
            issue["id"],
            project["id"],
            1,
        )
        resolved = await live.manager.post(f"/api/errors/issues/{issue['id']}/resolve")
        assert (resolved.json()["state"], resolved.json()["resolved_in"]) == (
            "resolved",
            "app@1.0.0",
        )
        await post(live, project, error_event("Crash", "app@1.0.0", user="u2"))  # same release
        await live.issues_counting(2, project=project["id"])
        assert (await live.issues(project=project["id"]))[0]["state"] == "resolved"
        await post(live, project, error_event("Crash", "app@1.1.0", user="u2"))
        [again] = await live.issues_counting(3, project=project["id"])
        regressed = await live.kernel.bus_probe.next("errors.issue.regressed")
        ignored = await live.manager.post(f"/api/errors/issues/{issue['id']}/ignore")
        await post(live, project, error_event("Crash", "app@2.0.0"))
        [still] = await live.issues_counting(4, project=project["id"])
    assert (again["state"], again["regressed"], again["users"]) == ("unresolved", True, 2)
    assert (regressed.issue_id, regressed.release, regressed.count) == (issue["id"], "app@1.1.0", 3)
    assert ignored.json()["state"] == "ignored"
    assert still["state"] == "ignored"
    assert live.kernel.bus_probe.topics().count("errors.issue.regressed") == 1


async def test_a_merge_is_kept_for_later_events_and_filters_sorts_and_trends_read_it(live_errors):
    async with live_errors() as live:
        project = await live.project("app")
        for kind, release, env in [
            ("A", "1.0", "prod"),
            ("A", "1.0", "prod"),
            ("B", "2.0", "staging"),
        ]:
            await post(live, project, error_event(kind, release, env=env))
        await post(live, project, error_event("C", "2.0", env="prod"))
        found = await live.issues_counting(4, project=project["id"], sort="count")
        a, b, c = (next(i for i in found if i["title"] == f"{k}: boom") for k in "ABC")
        assert found[0]["id"] == a["id"]  # sorted by count
        staging = await live.issues(project=project["id"], environment="staging")
        assert [i["id"] for i in staging] == [b["id"]]
        assert [i["id"] for i in await live.issues(project=project["id"], release="1.0")] == [
            a["id"]
        ]
        assert [i["id"] for i in await live.issues(query="c: bo")] == [c["id"]]
        merged = await live.manager.post(
            f"/api/errors/issues/{a['id']}/merge", json={"issues": [b["id"]]}
        )
        assert merged.status_code == 200 and merged.json()["count"] == 3
        assert (await live.manager.get(f"/api/errors/issues/{b['id']}")).status_code == 404
        await post(live, project, error_event("B", "3.0"))
        after = await live.issues_counting(5, project=project["id"])
        trend = (await live.manager.get(f"/api/errors/issues/{a['id']}/trend")).json()
        project_trend = (
            await live.manager.get(f"/api/errors/projects/{project['id']}/trend")
        ).json()
        top = (
            await live.manager.get("/api/errors/issues/top", params={"project": project["id"]})
        ).json()
        events = await live.events(a["id"])
        resolved_by_reader = await (await live.kernel.as_user(["errors.read"])).post(
            f"/api/errors/issues/{a['id']}/resolve"
        )
    assert {i["id"]: i["count"] for i in after} == {a["id"]: 4, c["id"]: 1}
    assert len(trend) == 7 * 24 and sum(h["count"] for h in trend) == 4 and trend[-1]["count"] == 4
    assert sum(h["count"] for h in project_trend) == 5
    assert [(i["id"], i["recent"]) for i in top] == [(a["id"], 4), (c["id"], 1)]
    assert len(events) == 4 and events[0]["release"] == "3.0"
    assert resolved_by_reader.status_code == 403
