"""What both fake providers share: a tiny ASGI server on a loopback port, and a webhook
sender that redelivers on anything but a 2xx, as Stripe and Vipps do (with short, bounded
backoff instead of their hours, so tests stay fast)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn

Handler = Callable[["Call"], Awaitable[tuple[int, Any]]]


@dataclass
class Call:
    """One request the fake received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Target:
    """Where webhooks go: `url` (its host and path are what Vipps signs) and the function
    that posts there, returning the status (raising counts as no answer)."""

    url: str
    post: Callable[[bytes, dict[str, str]], Awaitable[int]]

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def path(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


def client_target(client: httpx.AsyncClient, url: str) -> Target:
    """Webhooks to `url` through `client` (an in-process kernel's, or a real one)."""

    async def post(body: bytes, headers: dict[str, str]) -> int:
        response = await client.post(url, content=body, headers=headers)
        return response.status_code

    return Target(url, post)


class Server:
    """Routes `(method, regex)` to handlers; serves on 127.0.0.1 on a free port."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.calls: list[Call] = []
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        call = Call(scope["method"], scope["path"], scope["query_string"].decode(), headers, body)
        self.calls.append(call)
        status, answer = 404, {"error": {"type": "invalid_request_error", "message": "no route"}}
        for method, pattern, handler in self.routes:
            found = pattern.match(call.path)
            if method == call.method and found:
                call.params = found.groupdict()
                status, answer = await handler(call)
                break
        payload = b"" if answer is None else json.dumps(answer).encode()  # None: no content
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        async with asyncio.timeout(10):
            while not self._server.started:
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


@dataclass
class Delivery:
    event_id: str
    body: bytes
    statuses: list[int | str] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Webhooks:
    """Sends each event to the target until it answers 2xx: a fresh signature per attempt
    (`sign(body)` gives the headers), backoff `first_delay * 2**n` up to `max_delay`, at
    most `max_attempts` tries."""

    def __init__(
        self,
        sign: Callable[[bytes, Target], dict[str, str]],
        *,
        first_delay: float = 0.05,
        max_delay: float = 0.5,
        max_attempts: int = 40,
    ) -> None:
        self.sign = sign
        self.target: Target | None = None
        self.first_delay, self.max_delay, self.max_attempts = first_delay, max_delay, max_attempts
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.paused = False

    def send(self, event_id: str, body: bytes) -> Delivery:
        delivery = Delivery(event_id, body)
        self.deliveries.append(delivery)
        if not self.paused:
            self._start(delivery)
        return delivery

    def _start(self, delivery: Delivery) -> None:
        task = asyncio.create_task(self._deliver(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def resume(self) -> None:
        """Send what was held while paused, in the order it was made."""
        self.paused = False
        for delivery in self.deliveries:
            if not delivery.statuses and not delivery.done.is_set():
                self._start(delivery)

    async def deliver_now(self, delivery: Delivery) -> None:
        """Send `delivery` (again) and wait until it was answered 2xx."""
        fresh = Delivery(delivery.event_id, delivery.body)
        self.deliveries.append(fresh)
        await self._deliver(fresh)

    async def _deliver(self, delivery: Delivery) -> None:
        delay = self.first_delay
        for _ in range(self.max_attempts):
            assert self.target is not None, "no webhook target set"
            try:
                status: int | str = await self.target.post(
                    delivery.body, self.sign(delivery.body, self.target)
                )
            except Exception as error:  # no answer: the receiver died or is not up yet
                status = type(error).__name__
            delivery.statuses.append(status)
            if isinstance(status, int) and 200 <= status < 300:
                delivery.done.set()
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_delay)
        delivery.done.set()

    async def settled(self, timeout: float = 10.0) -> None:
        """Wait until every delivery made so far was answered 2xx (or gave up)."""
        async with asyncio.timeout(timeout):
            for delivery in list(self.deliveries):
                await delivery.done.wait()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
