"""The API docs page in a real browser: Swagger UI renders the merged schema with every
script, style and icon from this server (the machine's only network is loopback, so a
request to a CDN would fail the page, and is counted here)."""

import pytest

from mindframe.sdk.browser import browser, serving  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.anyio


async def test_docs_page_renders_from_this_server_alone(boot_kernel, browser):  # noqa: F811
    async with boot_kernel(["hello"]) as kernel, serving(kernel.runtime) as url:
        page = await browser.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        await page.goto(f"{url}/schema/swagger")
        title = page.locator(".swagger-ui .info .title")
        await title.wait_for(timeout=15_000)
        assert "Mindframe" in await title.inner_text()
        await page.locator("text=/api/hello/").first.wait_for(timeout=15_000)
        assert requested and all(u.startswith(url) for u in requested), requested
