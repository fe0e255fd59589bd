"""The intake over real HTTP, with envelopes written by hand (the wire format is the
contract): what is refused, with which status and why, and that good envelopes keep flowing
past bad ones; CORS for browser SDKs; the legacy store endpoint; every item type."""

from __future__ import annotations

import gzip
import json
import uuid
import zlib
from typing import Any

import pytest

pytestmark = pytest.mark.anyio


def event(message: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "message": message, "level": "error", **fields}


def envelope(*items: tuple[dict[str, Any], bytes], with_length: bool = True) -> bytes:
    lines = [json.dumps({"event_id": uuid.uuid4().hex}).encode()]
    for headers, payload in items:
        lines.append(
            json.dumps({**headers, **({"length": len(payload)} if with_length else {})}).encode()
        )
        lines.append(payload)
    return b"\n".join(lines) + b"\n"


def event_item(message: str) -> tuple[dict[str, Any], bytes]:
    return {"type": "event"}, json.dumps(event(message)).encode()


def auth(key: str) -> dict[str, str]:
    return {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_client=hand/1.0, sentry_key={key}"}


def key_of(project: dict[str, Any]) -> str:
    return project["dsn"].split("//", 1)[1].split("@", 1)[0]


async def post(live: Any, project: dict[str, Any], body: bytes, **headers: str) -> Any:
    url = f"/api/errors/api/{project['id']}/envelope/"
    return await live.http.post(url, content=body, headers={**auth(key_of(project)), **headers})


async def test_bad_envelopes_are_refused_with_a_4xx_saying_why_and_good_ones_keep_flowing(
    live_errors,
):
    async with live_errors(max_envelope_bytes=50_000) as live:
        project = await live.project("app")
        other = await live.project("other")
        good = envelope(event_item("good"))
        cases = {
            "truncated": (good[:-30], 400, "truncated"),
            "length too short": (
                envelope(
                    ({"type": "event", "length": 5}, json.dumps(event("x")).encode()),
                    with_length=False,
                ),
                400,
                "'length' 5",
            ),
            "bad json": (
                envelope(({"type": "event"}, b'{"message": "x",}')),
                400,
                "not valid JSON",
            ),
            "bad header": (b"{not json}\n", 400, "envelope header"),
            "no type": (envelope(({"kind": "event"}, b"{}")), 400, "no 'type'"),
        }
        statuses = {}
        for name, (body, status, words) in cases.items():
            response = await post(live, project, body)
            statuses[name] = response.status_code
            assert response.status_code == status, (name, response.text)
            problem = response.json()
            assert response.headers["content-type"].startswith("application/problem+json")
            assert words in problem["detail"], (name, problem)
            assert (
                await post(live, project, envelope(event_item(f"after {name}")))
            ).status_code == 200
        assert (await post(live, project, good, **{"Content-Encoding": "gzip"})).status_code == 400
        assert (await post(live, project, good, **{"Content-Encoding": "zstd"})).status_code == 415
        too_big = envelope(event_item("x" * 60_000))
        refused = await post(live, project, too_big, Origin="http://shop.example")
        assert refused.status_code == 413  # answered by the kernel, with the intake's CORS
        assert refused.headers["access-control-allow-origin"] == "http://shop.example"
        bomb = gzip.compress(b"x" * 30_000_000)
        assert (await post(live, project, bomb, **{"Content-Encoding": "gzip"})).status_code == 413
        wrong_key = await live.http.post(
            f"/api/errors/api/{project['id']}/envelope/", content=good, headers=auth("0" * 32)
        )
        assert wrong_key.status_code == 401 and "unknown or revoked" in wrong_key.json()["detail"]
        no_key = await live.http.post(f"/api/errors/api/{project['id']}/envelope/", content=good)
        assert no_key.status_code == 401
        foreign = await live.http.post(
            f"/api/errors/api/{project['id']}/envelope/", content=good, headers=auth(key_of(other))
        )
        assert foreign.status_code == 403
        unknown = await live.http.post(
            "/api/errors/api/999/envelope/", content=good, headers=auth(key_of(project))
        )
        assert unknown.status_code == 404
        problem = (await post(live, project, cases["bad json"][0])).json()
        assert (problem["item"], problem["part"]) == (1, "payload")
        found = await live.issues_counting(len(cases), project=project["id"])
    assert sorted(i["title"] for i in found) == sorted(f"after {name}" for name in cases)


async def test_envelopes_without_length_deflate_bodies_and_every_item_type(live_errors):
    async with live_errors() as live:
        project = await live.project("app")
        body = envelope(
            event_item("no length"),
            ({"type": "session"}, b'{"sid": "s1", "status": "ok", "init": true}'),
            ({"type": "client_report"}, b'{"discarded_events": []}'),
            ({"type": "transaction"}, json.dumps(event("GET /", type="transaction")).encode()),
            ({"type": "attachment", "filename": "log.txt"}, b"line one"),
            ({"type": "unknown_future_thing"}, b"whatever"),
            with_length=False,
        )
        response = await post(live, project, zlib.compress(body), **{"Content-Encoding": "deflate"})
        assert response.status_code == 200, response.text
        assert len(response.json()["id"]) == 32
        [issue] = await live.issues_counting(1, project=project["id"])
        counts = await live.kernel.runtime.container.resolve(type(live.tracker)).ctx.transaction(
            _item_counts
        )
    assert issue["title"] == "no length"
    assert counts == {"attachment": 1, "client_report": 1, "session": 1, "transaction": 1}


def _item_counts(session: Any) -> dict[str, int]:
    from sqlalchemy import text

    rows = session.execute(text("select item_type, sum(count) from errors_item_counts group by 1"))
    return dict(rows.all())


async def test_browser_sdks_get_cors_and_may_send_the_key_in_the_query(live_errors):
    async with live_errors() as live:
        project = await live.project("web")
        url = f"/api/errors/api/{project['id']}/envelope/"
        origin = {"Origin": "http://shop.example"}
        preflight = await live.http.options(
            url,
            headers={
                **origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "http://shop.example"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert preflight.headers["access-control-allow-headers"] == "content-type"
        response = await live.http.post(
            f"{url}?sentry_key={key_of(project)}&sentry_version=7",
            content=envelope(event_item("from a browser")),
            headers={**origin, "Content-Type": "text/plain;charset=UTF-8"},
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "http://shop.example"
        assert "x-sentry-rate-limits" in response.headers["access-control-expose-headers"]
        refused = await live.http.post(url, content=b"{}", headers=origin)
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == "http://shop.example"
        [issue] = await live.issues_counting(1, project=project["id"])
    assert issue["title"] == "from a browser"


async def test_the_legacy_store_endpoint_takes_one_event(live_errors):
    async with live_errors() as live:
        project = await live.project("old")
        sent = event("from an old SDK")
        response = await live.http.post(
            f"/api/errors/api/{project['id']}/store/",
            content=json.dumps(sent),
            headers={**auth(key_of(project)), "Content-Type": "application/json"},
        )
        assert (response.status_code, response.json()) == (200, {"id": sent["event_id"]})
        bad = await live.http.post(
            f"/api/errors/api/{project['id']}/store/",
            content=b"[1, 2]",
            headers=auth(key_of(project)),
        )
        assert bad.status_code == 400
        [issue] = await live.issues_counting(1, project=project["id"])
    assert issue["title"] == "from an old SDK"


async def test_an_envelope_sent_twice_is_stored_once(live_errors):
    async with live_errors() as live:
        project = await live.project("retry")
        body = envelope(event_item("sent twice"))
        assert (await post(live, project, body)).status_code == 200
        assert (await post(live, project, body)).status_code == 200
        assert (await post(live, project, envelope(event_item("marker")))).status_code == 200
        found = await live.issues_counting(2, project=project["id"])
    assert {i["title"]: i["count"] for i in found} == {"sent twice": 1, "marker": 1}
