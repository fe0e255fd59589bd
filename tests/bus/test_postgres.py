"""The durable log and restart catch-up on PostgreSQL (skipped when it is not running)."""

from __future__ import annotations

import uuid

import pytest
from bus_testlib import Stored, eventually, ready
from conftest import reachable
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from mindframe.kernel.bus import Envelope, create_bus

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


async def test_durable_log_and_catch_up_on_postgres() -> None:
    if not reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
    schema = f"bus_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    async with admin.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_async_engine(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
        connect_args={"server_settings": {"search_path": schema}},
    )
    try:
        first = await create_bus(None, engine)
        await first.start()

        async def nothing(e: Stored) -> None: ...

        await ready(first.subscribe("bt.store.*", nothing, owner="p", name="pg", durable=True))
        await first.close()
        publisher = await create_bus(None, engine)
        await publisher.start()
        ids = [await publisher.publish(Stored(n=n)) for n in range(20)]
        await publisher.close()

        got: list[str] = []

        async def record(e: Stored, env: Envelope) -> None:
            got.append(env.id)

        again = await create_bus(None, engine)
        await again.start()
        await ready(again.subscribe("bt.store.*", record, owner="p", name="pg", durable=True))
        await eventually(lambda: sorted(got) == sorted(ids))
        assert await again.replay("bt.store.saved") == 20
        await again.close()
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        await admin.dispose()
