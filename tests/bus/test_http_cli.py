"""The HTTP router and the CLI over it (memory backend)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from bus_testlib import Ping, ready
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy.ext.asyncio import create_async_engine

from mindframe.kernel.bus import Bus, create_bus
from mindframe.kernel.bus import cli as bus_cli
from mindframe.kernel.bus.http import bus_router

pytestmark = pytest.mark.anyio


async def _failing_bus(path: Path) -> Bus:
    bus = await create_bus(None, create_async_engine(f"sqlite+aiosqlite:///{path}"))
    await bus.start()
    state = {"fail": True}

    async def handler(e: Ping) -> None:
        if state["fail"]:
            raise RuntimeError("nope")

    bus.subscribe("bt.ping", handler, owner="p", name="h", max_retries=0)
    bus.fix = state  # type: ignore[attr-defined]
    return bus


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Bus]]:
    bus = await _failing_bus(tmp_path / "http.db")
    app = Litestar(route_handlers=[bus_router(lambda: bus)])
    # ASGITransport runs the app in this event loop, where the bus lives.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c, bus
    await bus.close()


async def _dead_letter(bus: Bus) -> int:
    await bus.publish(Ping(n=1))
    for _ in range(500):
        if bus.dead_letters.count:
            break
        await asyncio.sleep(0.01)
    return (await bus.dead_letters.list())[0].id


async def test_stats_and_dead_letter_endpoints(client: tuple[httpx.AsyncClient, Bus]) -> None:
    c, bus = client
    letter_id = await _dead_letter(bus)
    stats = (await c.get("/api/kernel/bus/")).json()
    assert stats["dead_letters"] == 1 and stats["subscriptions"][0]["owner"] == "p"
    listed = (await c.get("/api/kernel/bus/dead-letters")).json()
    assert [x["id"] for x in listed] == [letter_id]
    one = (await c.get(f"/api/kernel/bus/dead-letters/{letter_id}")).json()
    assert one["reason"] == "handler failed after max retries" and one["topic"] == "bt.ping"
    assert (await c.get("/api/kernel/bus/dead-letters/999")).status_code == 404
    assert (await c.post("/api/kernel/bus/dead-letters/999/redrive")).status_code == 404

    bus.fix["fail"] = False  # type: ignore[attr-defined]
    resp = await c.post(f"/api/kernel/bus/dead-letters/{letter_id}/redrive")
    assert resp.status_code == 202 and resp.json()["redriven_at"]
    sub = bus.subscriptions()[0]
    for _ in range(500):
        if sub.handled:
            break
        await asyncio.sleep(0.01)
    assert sub.handled == 1
    assert (await c.get("/api/kernel/bus/dead-letters")).json() == []


async def test_tail_streams_matching_events(client: tuple[httpx.AsyncClient, Bus]) -> None:
    c, bus = client

    async def read() -> list[dict]:
        resp = await c.get("/api/kernel/bus/tail", params={"pattern": "bt.*", "limit": 2})
        return [json.loads(line) for line in resp.text.splitlines() if line]

    reader = asyncio.create_task(read())
    for _ in range(500):
        if any(s.owner == "kernel.bus.tail" for s in bus.subscriptions()):
            break
        await asyncio.sleep(0.01)
    await ready(*bus.subscriptions())
    await bus.publish(Ping(n=1))
    await bus.publish(Ping(n=2))
    lines = await asyncio.wait_for(reader, 10)
    assert [(x["envelope"]["topic"], x["event"]["n"]) for x in lines] == [
        ("bt.ping", 1),
        ("bt.ping", 2),
    ]
    for _ in range(500):  # the tail subscription is removed when the stream ends
        if not any(s.owner == "kernel.bus.tail" for s in bus.subscriptions()):
            break
        await asyncio.sleep(0.01)
    assert [s.owner for s in bus.subscriptions()] == ["p"]


def test_cli_lists_and_redrives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    holder: dict[str, Bus] = {}

    async def startup() -> None:
        holder["bus"] = await _failing_bus(tmp_path / "cli.db")
        await _dead_letter(holder["bus"])

    async def shutdown() -> None:
        await holder["bus"].close()

    app = Litestar(
        route_handlers=[bus_router(lambda: holder["bus"])],
        on_startup=[startup],
        on_shutdown=[shutdown],
    )
    with TestClient(app) as test_client:

        @contextlib.contextmanager
        def fake_client(url: str) -> Iterator[TestClient]:
            yield test_client

        monkeypatch.setattr(bus_cli, "_client", fake_client)
        runner = CliRunner()
        listed = runner.invoke(bus_cli.bus, ["dead-letters"])
        assert listed.exit_code == 0, listed.output
        assert "bt.ping" in listed.output and "handler failed after max retries" in listed.output
        letter_id = listed.output.split()[0]
        done = runner.invoke(bus_cli.bus, ["redrive", letter_id])
        assert done.exit_code == 0 and f"re-driven dead letter {letter_id}" in done.output
        missing = runner.invoke(bus_cli.bus, ["redrive", "424242"])
        assert missing.exit_code != 0 and "404" in missing.output
