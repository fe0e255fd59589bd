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
from mindframe.sdk.testing import BootKernel

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


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/kernel/bus/dead-letters?limit=18446744073709551616"),
        ("GET", "/api/kernel/bus/dead-letters?limit=0"),
        ("GET", "/api/kernel/bus/dead-letters?limit=-1"),
        ("GET", "/api/kernel/bus/dead-letters?offset=18446744073709551616"),
        ("GET", "/api/kernel/bus/dead-letters?offset=-1"),
        ("GET", "/api/kernel/bus/dead-letters/18446744073709551616"),
        ("POST", "/api/kernel/bus/dead-letters/18446744073709551616/redrive"),
        ("GET", "/api/kernel/bus/tail?limit=0"),
    ],
)
async def test_numbers_out_of_range_are_a_400_naming_the_bound(
    boot_kernel: BootKernel, method: str, path: str
) -> None:
    """Above 2**63 SQLite cannot bind the number (was a 500); negative limits meant 'all'."""
    async with boot_kernel([]) as kernel:
        response = await kernel.client.request(method, path)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Expected `int` " in response.json()["errors"][0]["message"]


def test_schema_states_the_bounds() -> None:
    schema = Litestar(route_handlers=[bus_router(lambda: None)]).openapi_schema.to_schema()  # type: ignore[arg-type,return-value]
    listing = schema["paths"]["/api/kernel/bus/dead-letters"]["get"]["parameters"]
    bounds = {p["name"]: (p["schema"].get("minimum"), p["schema"].get("maximum")) for p in listing}
    assert bounds["limit"] == (1, 1000) and bounds["offset"] == (0, 2**53 - 1)
    one = schema["paths"]["/api/kernel/bus/dead-letters/{letter_id}"]["get"]["parameters"][0]
    assert (one["schema"]["minimum"], one["schema"]["maximum"]) == (1, 2**53 - 1)


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
        huge = runner.invoke(bus_cli.bus, ["redrive", str(2**64)])
        assert huge.exit_code != 0 and "HTTP 400" in huge.output
        too_many = runner.invoke(bus_cli.bus, ["dead-letters", "--limit", "5000"])
        assert too_many.exit_code != 0 and "1<=x<=1000" in too_many.output
