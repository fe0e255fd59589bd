"""Pages load their scripts from this server: the docs page names no other host, and
every script and style it names is served here."""

import re

import pytest

from mindframe.kernel.http.vendor import declared_packages


@pytest.mark.anyio
async def test_docs_page_loads_every_asset_from_this_server(boot_kernel):
    async with boot_kernel([]) as kernel:
        page = await kernel.client.get("/schema/swagger")
        assert page.status_code == 200
        assert "http://" not in page.text and "https://" not in page.text
        urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assets = [u for u in urls if u.endswith((".js", ".css", ".png"))]
        assert len(assets) == 4, urls  # the bundle, the preset, the styles and the icon
        assert all(u.startswith("/static/vendor/swagger-ui-dist/") for u in assets), assets
        for url in assets:
            answer = await kernel.client.get(url)
            assert answer.status_code == 200, url
            kind = {"js": "javascript", "css": "css", "png": "image/png"}[url.rsplit(".")[-1]]
            assert kind in answer.headers["content-type"]
            assert len(answer.content) > 500


@pytest.mark.anyio
async def test_only_declared_packages_are_served(boot_kernel):
    assert declared_packages() == ["chart.js", "swagger-ui-dist"]
    async with boot_kernel([]) as kernel:
        inside = await kernel.client.get("/static/vendor/@scarf/scarf/package.json")
        escape = await kernel.client.get("/static/vendor/swagger-ui-dist/../.package-lock.json")
        assert inside.status_code == 404  # installed as a dependency, but not declared
        assert escape.status_code == 404
