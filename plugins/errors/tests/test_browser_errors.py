"""Browser errors end to end, in Debian's Chromium: the demo page's React app, built with a
source map, reports through the real `@sentry/browser` to a live runtime; one error is
caught by `@sentry/react`'s ErrorBoundary, one is not; after the bundle and its map were
uploaded through the API, both arrive grouped as issues whose frames name the original
files and functions, and the pages show them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alert_testlib import until
from mindframe_plugins.errors.demo_page import BUILD, demo_release
from mindframe_plugins.errors.dsn import dsn

from mindframe.sdk.browser import browser, serving  # noqa: F401  (browser is a fixture)

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

PAGE_SECONDS = 15_000  # ms: what Playwright may wait for an element


async def upload(manager: Any, project_id: int, release: str, path: Path) -> None:
    name = f"~/errors/demo/static/{path.name}"
    response = await manager.post(
        f"/api/errors/projects/{project_id}/releases/{release}/files",
        data={"name": name},
        files={"file": (path.name, path.read_bytes(), "application/octet-stream")},
    )
    assert response.status_code == 201, response.text


def top_frame(event: dict[str, Any], exception_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The innermost frame of the event's `exception_type` exception, and as it was sent."""
    values = event["exception"]["values"]
    (value,) = [v for v in values if v.get("type") == exception_type]
    return value["stacktrace"]["frames"][-1], value["raw_stacktrace"]["frames"][-1]


async def test_react_errors_arrive_grouped_with_source_mapped_frames(boot_kernel, browser):  # noqa: F811
    release = demo_release()
    assert release is not None, f"the demo app is not built in {BUILD}: run scripts/setup"
    settings = {"errors": {"digest_interval": 0.05}}
    async with (
        boot_kernel(["errors", "auth", "i18n"], settings=settings) as kernel,
        serving(kernel.runtime) as url,
    ):
        manager = await kernel.as_user(["errors.read", "errors.manage"])
        created = await manager.post("/api/errors/projects", json={"name": "storefront"})
        project = created.json()
        await upload(manager, project["id"], release, BUILD / "app.js")
        await upload(manager, project["id"], release, BUILD / "app.js.map")
        project_dsn = dsn(url, project["keys"][-1]["public_key"], project["id"])

        context = await browser.new_context(locale="de-DE")
        page = await context.new_page()
        requested: list[str] = []
        uncaught: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.on("pageerror", lambda error: uncaught.append(str(error)))
        await page.goto(f"{url}/errors/demo/?dsn={project_dsn}")
        await page.locator("#errors-demo-shelf").wait_for(timeout=PAGE_SECONDS)

        await page.click("#errors-demo-break-render")  # caught by the ErrorBoundary
        await page.locator("#errors-demo-fallback").wait_for(timeout=PAGE_SECONDS)
        await page.click("#errors-demo-break-click")  # nobody catches it
        await page.click("#errors-demo-fallback button")  # reset, and break it once more
        await page.locator("#errors-demo-shelf").wait_for(timeout=PAGE_SECONDS)
        await page.click("#errors-demo-break-render")
        await page.locator("#errors-demo-fallback").wait_for(timeout=PAGE_SECONDS)

        async def three_events_in_two_issues() -> list[dict[str, Any]] | None:
            found = (await manager.get("/api/errors/issues")).json()
            return found if sum(i["count"] for i in found) >= 3 else None

        issues = await until(three_events_in_two_issues, timeout=30)
        by_title = {issue["title"]: issue for issue in issues}
        caught = by_title["RangeError: stock cannot be negative: -1"]
        thrown = by_title["Error: an order without lines cannot be shipped"]
        assert (caught["count"], thrown["count"], len(issues)) == (2, 1, 2)
        caught_event = (await manager.get(f"/api/errors/issues/{caught['id']}/events")).json()[0]
        thrown_event = (await manager.get(f"/api/errors/issues/{thrown['id']}/events")).json()[0]

        # the pages show the mapped frames too, to a signed-in reader
        for cookie in manager.cookies.jar:
            await context.add_cookies(
                [{"name": cookie.name, "value": cookie.value, "url": url, "httpOnly": True}]
            )
        await page.goto(f"{url}/errors/issues/{caught['id']}")
        function = page.locator(".exception .frame .function").first
        await function.wait_for(timeout=PAGE_SECONDS)
        shown_function = await function.inner_text()
        shown_file = await page.locator(".exception .frame .filename").first.inner_text()
        await page.goto(f"{url}/errors/?project={project['id']}")
        chart_total = await page.evaluate(
            """() => new Promise((done) => {
                 const draw = () => {
                   const chart = window.Chart && Chart.getChart("trend-issues");
                   if (chart) done(chart.data.datasets[0].data.reduce((a, b) => a + b, 0));
                   else requestAnimationFrame(draw);
                 };
                 draw();
               })"""
        )
        heading = await page.locator("h1").inner_text()

    frame, raw = top_frame(caught_event["event"], "RangeError")
    assert (frame["filename"], frame["function"]) == ("src/Shelf.jsx", "Shelf")
    assert (
        frame["context_line"].strip()
        == "throw new RangeError(`stock cannot be negative: ${stock}`);"
    )
    assert (
        raw["filename"] == f"{url}/errors/demo/static/app.js" and raw["lineno"] != frame["lineno"]
    )
    frame, raw = top_frame(thrown_event["event"], "Error")
    assert (frame["filename"], frame["function"], frame["lineno"]) == (
        "src/orders.js",
        "shipOrder",
        5,
    )
    assert raw["function"] != "shipOrder"  # minified away, and mapped back
    assert thrown_event["event"]["exception"]["values"][-1]["mechanism"]["handled"] is False
    assert any("an order without lines" in error for error in uncaught)

    assert (shown_function, shown_file) == ("Shelf", "src/Shelf.jsx")
    assert chart_total == 3
    assert heading == "Fehler"  # the browser asked for German
    assert requested and all(u.startswith(url) for u in requested), requested
