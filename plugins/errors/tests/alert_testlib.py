"""Helpers of the alert tests: a local HTTP server standing in for a Slack incoming webhook,
and events posted the way an SDK posts them."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio

from mindframe.sdk.browser import free_port, serving_app


@dataclass
class Webhook:
    """Every POST received, with the status it was answered; `answers` are given in turn
    (then 200)."""

    port: int = field(default_factory=free_port)
    answers: list[int] = field(default_factory=list)
    received: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/T0/B0/secret"

    def accepted(self) -> list[dict[str, Any]]:
        return [body for status, body in self.received if status == 200]

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status = self.answers.pop(0) if self.answers else 200
        self.received.append((status, json.loads(body)))
        text = b"ok" if status == 200 else b"server_error"
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": text})


@asynccontextmanager
async def listening(webhook: Webhook) -> AsyncIterator[Webhook]:
    """Serve `webhook` on its port (with uvicorn) for as long as the block runs."""
    async with serving_app(webhook, webhook.port):
        yield webhook


async def until(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll the async `condition` until it returns something truthy (bounded)."""
    with anyio.fail_after(timeout):
        while True:
            result = await condition()
            if result:
                return result
            await anyio.sleep(0.02)


def error_event(title: str = "cart is empty", release: str = "shop@1.0.0") -> dict[str, Any]:
    """One error event as the Python SDK sends it to `/store/`."""
    frame = {"filename": "shop/cart.py", "function": "checkout", "lineno": 12, "in_app": True}
    return {
        "event_id": uuid.uuid4().hex,
        "platform": "python",
        "level": "error",
        "release": release,
        "exception": {
            "values": [{"type": "ValueError", "value": title, "stacktrace": {"frames": [frame]}}]
        },
    }
