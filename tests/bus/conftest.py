"""Fixtures: a started bus on each backend, over a throw-away SQLite database."""

from __future__ import annotations

import socket
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from mindframe.kernel.bus import Bus, create_bus

sys.path.insert(0, str(Path(__file__).parent))  # for bus_testlib (importlib mode)

NATS_URL = "nats://127.0.0.1:4222"


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'bus.db'}")
    yield eng
    await eng.dispose()


class Errors(list[tuple[BaseException, dict[str, Any]]]):
    """Collects on_error calls."""

    def __call__(self, exc: BaseException, context: dict[str, Any]) -> None:
        self.append((exc, context))


@pytest.fixture
def errors() -> Errors:
    return Errors()


@pytest.fixture(params=["memory", pytest.param("nats", marks=pytest.mark.nats)])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "nats" and not reachable("127.0.0.1", 4222):
        pytest.skip("NATS JetStream not reachable at 127.0.0.1:4222")
    return request.param


@pytest.fixture
async def make_bus(
    backend: str, engine: AsyncEngine, errors: Errors
) -> AsyncIterator[Callable[..., Awaitable[Bus]]]:
    """Build started buses sharing one database and (for NATS) one unique namespace,
    so a second bus in the same test behaves like a restarted process."""
    namespace = f"t{uuid.uuid4().hex[:12]}"
    made: list[Bus] = []

    async def make(**options: Any) -> Bus:
        if backend == "nats":
            bus = await create_bus(
                NATS_URL, engine, errors, namespace=namespace, fetch_timeout=0.2, **options
            )
        else:
            bus = await create_bus(None, engine, errors)
        await bus.start()
        made.append(bus)
        return bus

    yield make
    for bus in made:
        await bus.close(timeout=2)
    if backend == "nats":  # remove this test's streams
        cleaner = await create_bus(NATS_URL, engine, namespace=namespace)
        await cleaner.start()
        await cleaner.delete_streams()  # type: ignore[attr-defined]
        await cleaner.close(timeout=1)


@pytest.fixture
async def bus(make_bus: Callable[..., Awaitable[Bus]]) -> Bus:
    return await make_bus()
