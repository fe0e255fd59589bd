"""The SDK's `serving_page` (a page of the test's own on a loopback origin of its own, gone
when the block ends) and `serving_app` (any ASGI app on a loopback port)."""

import httpx
import pytest

from mindframe.sdk.browser import free_port, serving_app, serving_page


def test_the_page_is_served_on_its_own_port_only_inside_the_block():
    with serving_page("<p>Butikken</p>") as url:
        answer = httpx.get(url)
        assert answer.status_code == 200
        assert answer.text == "<p>Butikken</p>"
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)


@pytest.mark.anyio
async def test_serving_app_serves_any_asgi_app_on_the_port_asked_for():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["path"].encode()})

    port = free_port()
    async with serving_app(app, port) as url, httpx.AsyncClient() as client:
        assert url == f"http://127.0.0.1:{port}"
        assert (await client.get(f"{url}/hook")).text == "/hook"
