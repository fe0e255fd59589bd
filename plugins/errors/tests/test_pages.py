"""The pages under /errors/: issues with their trend, an issue and an event with its stack
trace, everything an event carries shown as text, in each of the seven locales, and only to
whoever may read errors."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from alert_testlib import until
from mindframe_plugins.errors.demo_page import demo_release

from mindframe.sdk.i18n import LOCALES

pytestmark = pytest.mark.anyio

HOSTILE = '<script>alert("x")</script>'
ISSUES_HEADING = {
    "nb": "Feil",
    "sv": "Fel",
    "da": "Fejl",
    "fi": "Virheet",
    "de": "Fehler",
    "en_US": "Issues",
    "en_GB": "Issues",
}


def hostile_event() -> dict[str, Any]:
    frame = {
        "filename": "shop/cart.py",
        "function": "checkout",
        "lineno": 12,
        "pre_context": ["def checkout(cart):", "    total = 0"],
        "context_line": f"    raise ValueError('{HOSTILE}')",
        "post_context": ["", "def pay():"],
        "vars": {"cart": ["<b>bold</b>"], "total": 0},
        "in_app": True,
    }
    return {
        "platform": "python",
        "level": "error",
        "release": "shop@1.0.0",
        "tags": {"checkout": "<i>web</i>"},
        "exception": {
            "values": [{"type": "ValueError", "value": HOSTILE, "stacktrace": {"frames": [frame]}}]
        },
    }


@asynccontextmanager
async def shop(boot_kernel: Any) -> AsyncIterator[tuple[Any, Any, dict[str, Any]]]:
    """(kernel, a signed-in reader, the digested issue of one hostile event)."""
    settings = {"errors": {"digest_interval": 0.05}}
    async with boot_kernel(["errors", "auth", "i18n"], settings=settings) as kernel:
        manager = await kernel.as_user(["errors.manage"])
        project = (await manager.post("/api/errors/projects", json={"name": "shop"})).json()
        key = project["keys"][-1]["public_key"]
        sent = await kernel.client.post(
            f"/api/errors/api/{project['id']}/store/?sentry_key={key}", json=hostile_event()
        )
        assert sent.status_code == 200, sent.text

        async def digested() -> list[dict[str, Any]]:
            return (await manager.get("/api/errors/issues")).json()

        (issue,) = await until(digested)
        reader = await kernel.as_user(["errors.read"], username="reader")
        yield kernel, reader, issue


def chart_data(page: str, chart_id: str) -> dict[str, Any]:
    found = re.search(rf'<script type="application/json" id="{chart_id}-data">(.*?)</script>', page)
    assert found, page
    return json.loads(found.group(1))


async def test_the_issue_list_shows_issues_and_their_trend_with_event_text_escaped(boot_kernel):
    async with shop(boot_kernel) as (_, reader, issue):
        page = await reader.get("/errors/", headers={"accept-language": "en-US"})

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert HOSTILE not in html
    assert "ValueError: &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert f'href="/errors/issues/{issue["id"]}"' in html
    trend = chart_data(html, "trend-issues")
    assert sum(trend["counts"]) == 1 and len(trend["hours"]) == 7 * 24
    assert '<script src="/static/vendor/chart.js/dist/chart.umd.min.js">' in html


async def test_the_issue_page_shows_the_latest_stack_trace_as_text(boot_kernel):
    async with shop(boot_kernel) as (_, reader, issue):
        page = await reader.get(f"/errors/issues/{issue['id']}")
        event_id = (await reader.get(f"/api/errors/issues/{issue['id']}/events")).json()[0][
            "event_id"
        ]
        event_page = await reader.get(f"/errors/events/{event_id}")

    for html in (page.text, event_page.text):
        assert HOSTILE not in html and "<b>bold</b>" not in html and "<i>web</i>" not in html
        assert '<strong class="function">checkout</strong>' in html
        assert '<span class="filename">shop/cart.py</span>:<span class="lineno">12</span>' in html
        assert (
            '<span class="current">   12      raise ValueError(&#39;&lt;script&gt;' in html
        )  # the line that raised, numbered and marked
        assert "&lt;b&gt;bold&lt;/b&gt;" in html  # a local variable
        assert "&lt;i&gt;web&lt;/i&gt;" in html  # a tag
    assert sum(chart_data(page.text, "trend-issue")["counts"]) == 1


async def test_the_pages_speak_each_of_the_seven_locales(boot_kernel):
    async with shop(boot_kernel) as (_, reader, _issue):
        pages = {
            locale: await reader.get(
                "/errors/", headers={"accept-language": locale.replace("_", "-")}
            )
            for locale in LOCALES
        }
    for locale, page in pages.items():
        assert f'<html lang="{locale.replace("_", "-")}">' in page.text
        assert f"<h1>{ISSUES_HEADING[locale]}</h1>" in page.text, locale
    assert "Siste gang sett" in pages["nb"].text
    assert "Zuletzt gesehen" in pages["de"].text


async def test_only_readers_of_errors_see_the_pages(boot_kernel):
    async with shop(boot_kernel) as (kernel, reader, issue):
        anonymous = await kernel.client.get("/errors/")
        outsider = await kernel.as_user([], username="outsider")
        refused = await outsider.get(f"/errors/issues/{issue['id']}")
        missing = await reader.get("/errors/issues/999999")
    assert anonymous.status_code == 401
    assert refused.status_code == 403
    assert missing.status_code == 404


async def test_the_demo_page_hands_its_app_a_dsn_of_this_server_only(boot_kernel):
    dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:8000/api/errors/7"
    async with boot_kernel(["errors", "auth", "i18n"]) as kernel:
        page = await kernel.client.get("/errors/demo/", params={"dsn": dsn})
        elsewhere = await kernel.client.get(
            "/errors/demo/", params={"dsn": "https://key@evil.example/1"}
        )
        bundle = await kernel.client.get("/errors/demo/static/app.js")
        source_map = await kernel.client.get("/errors/demo/static/app.js.map")
        escape = await kernel.client.get("/errors/demo/static/..%2F..%2Fplugin.toml")

    assert page.status_code == 200, "the demo is built by scripts/setup (npm run build)"
    config = json.loads(
        re.search(r'id="errors-demo-config">(.*?)</script>', page.text).group(1)  # type: ignore[union-attr]
    )
    assert config["dsn"] == dsn
    assert config["release"] == demo_release()
    assert config["labels"]["reset"] == "Try again"
    assert 'id="demo-no-dsn"' in elsewhere.text
    assert "evil.example" not in elsewhere.text.split('id="errors-demo-config"')[1]
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert bundle.text.rstrip().endswith("//# sourceMappingURL=app.js.map")
    assert "../src/Shelf.jsx" in source_map.json()["sources"]
    assert escape.status_code == 404
