"""Testing what a person sees: a runtime served on a real loopback port, and Debian's Chromium
driven by Playwright (never a browser Playwright downloads).

    async def test_page(boot_kernel, browser):
        async with boot_kernel(["hello"]) as kernel, serving(kernel.runtime) as url:
            page = await browser.new_page()
            await page.goto(f"{url}/hello/")

`serving_page(html)` serves a page of your own on another origin (a shop embedding a
widget). `browser` skips, saying why, where `/usr/bin/chromium` is missing (`scripts/chromium`
installs it; CI runs that).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser

    from mindframe.kernel.runtime import Runtime

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Headless on a machine whose only network is loopback: no background connections that
this machine would refuse (or that would look up hosts) at every start."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def serving(runtime: Runtime, port: int | None = None, **config: Any) -> AsyncIterator[str]:
    """Serve an already started runtime over HTTP on loopback (`port`, or a free one) for as
    long as the block runs; yields its base URL (`http://127.0.0.1:PORT`). `config` goes to
    `uvicorn.Config`."""
    async with serving_app(runtime.asgi, port, **config) as url:
        yield url


@asynccontextmanager
async def serving_app(app: Any, port: int | None = None, **config: Any) -> AsyncIterator[str]:
    """`serving` for any ASGI app (a fake of another service a plugin calls, say)."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
            access_log=False,
            **config,
        )
    )
    async with anyio.create_task_group() as group:
        group.start_soon(server.serve)
        with anyio.fail_after(10):
            while not server.started:
                await anyio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


@contextmanager
def serving_page(html: str) -> Iterator[str]:
    """Serve one HTML page on another loopback port than the runtime (another origin, as a
    customer's site embedding a widget is) for as long as the block runs; yields its URL.
    A real server: Chromium lets only a loopback page reach a loopback runtime."""
    body = html.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium through Playwright, closed after the test."""
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (scripts/chromium does it)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("playwright is not installed (the `test` extra has it)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()
