"""Fixtures of the errors tests: the runtime served on a real loopback port (so the real
`sentry-sdk` does real HTTP), a signed-in manager, and the SDK pointed at a project."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from mindframe.sdk.browser import free_port, serving


@dataclass
class Live:
    """A booted runtime with the errors plugin, listening on `base_url`."""

    kernel: Any
    base_url: str
    manager: httpx.AsyncClient  # signed in, holding errors.read and errors.manage
    http: httpx.AsyncClient  # anonymous, over real HTTP (what an SDK is)

    @property
    def tracker(self) -> Any:
        from mindframe_plugins.errors.service import ErrorTracker

        return self.kernel.runtime.container.resolve(ErrorTracker)

    async def project(self, name: str, **limits: Any) -> dict[str, Any]:
        response = await self.manager.post("/api/errors/projects", json={"name": name, **limits})
        assert response.status_code == 201, response.text
        return response.json()

    async def issues(self, **filters: Any) -> list[dict[str, Any]]:
        response = await self.manager.get("/api/errors/issues", params=filters)
        assert response.status_code == 200, response.text
        return response.json()

    async def events(self, issue_id: int) -> list[dict[str, Any]]:
        response = await self.manager.get(f"/api/errors/issues/{issue_id}/events")
        assert response.status_code == 200, response.text
        return response.json()

    async def until(
        self, condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition"
    ) -> Any:
        """Poll the async `condition` until it returns something truthy (bounded)."""
        with anyio.fail_after(timeout):
            while True:
                result = await condition()
                if result:
                    return result
                await anyio.sleep(0.02)

    async def issues_counting(self, total: int, **filters: Any) -> list[dict[str, Any]]:
        """The project's issues once their counts add up to `total` (the digest caught up)."""

        async def ready() -> list[dict[str, Any]] | None:
            found = await self.issues(**filters)
            return found if sum(i["count"] for i in found) >= total else None

        return await self.until(ready, what=f"{total} events digested")


@pytest.fixture
def live_errors(boot_kernel: Any) -> Callable[..., AbstractAsyncContextManager[Live]]:
    """`async with live_errors(settings={...}) as live:` errors (and auth) served on a port."""

    @asynccontextmanager
    async def start(**settings: Any) -> AsyncIterator[Live]:
        port = free_port()
        settings.setdefault("public_url", f"http://127.0.0.1:{port}")  # for the DSNs
        async with boot_kernel(["errors", "auth"], settings={"errors": settings}) as kernel:
            manager = await kernel.as_user(["errors.read", "errors.manage"])
            async with (
                serving(kernel.runtime, port, timeout_graceful_shutdown=1) as base_url,
                httpx.AsyncClient(base_url=base_url, timeout=10) as http,
            ):
                yield Live(kernel, base_url, manager, http)

    return start


@pytest.fixture
def sentry() -> Any:
    """`with sentry(dsn, release=...) as sdk:` the real sentry-sdk, initialised for the block
    (no default integrations: the test process's own threads and logging stay out of it)."""
    import contextlib

    import sentry_sdk

    @contextlib.contextmanager
    def init(dsn: str, **options: Any) -> Any:
        options.setdefault("default_integrations", False)
        options.setdefault("auto_enabling_integrations", False)
        sentry_sdk.init(dsn=dsn, **options)
        try:
            yield sentry_sdk
        finally:
            sentry_sdk.get_client().close(timeout=5)

    return init


async def flush(sdk: Any) -> None:
    """Wait (in a thread: the server runs in this loop) until the SDK has sent everything."""
    await anyio.to_thread.run_sync(lambda: sdk.flush(timeout=10))
