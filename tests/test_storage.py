"""Each plugin owns its tables under its prefix; SQLite by default, PostgreSQL by URL."""

import socket
import uuid

import pytest

from mindframe.kernel.records import PluginState

pytestmark = pytest.mark.anyio
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def postgres_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return True
    except OSError:
        return False


async def greet_and_count(kernel) -> int:
    response = await kernel.client.post("/api/hello/greetings", json={"name": "Grace"})
    assert response.status_code == 201, response.text
    return response.json()["count"]


async def test_data_outlives_a_restart_on_sqlite(boot_kernel, tmp_path):
    async with boot_kernel(["hello"]) as kernel:
        assert await greet_and_count(kernel) == 1
        assert (tmp_path / "data" / "mindframe.db").is_file()
    async with boot_kernel(["hello"]) as kernel:
        assert await greet_and_count(kernel) == 2


@pytest.mark.postgres
@pytest.mark.skipif(not postgres_reachable(), reason="PostgreSQL is not running at 127.0.0.1:5432")
async def test_hello_runs_on_postgresql(boot_kernel, plugin_factory):
    from sqlalchemy import text

    async with boot_kernel(["hello"], database_url=POSTGRES) as kernel:
        assert kernel.runtime.database.url.get_backend_name() == "postgresql"
        async with kernel.runtime.database.engine.begin() as connection:
            await connection.execute(text("DELETE FROM hello_greetings WHERE name = 'Grace'"))
        assert await greet_and_count(kernel) == 1
        assert await greet_and_count(kernel) == 2
        async with kernel.runtime.database.engine.begin() as connection:
            rows = await connection.execute(
                text("SELECT count(*) FROM hello_greetings WHERE name = 'Grace'")
            )
            assert rows.scalar_one() == 2
            await connection.execute(text("DELETE FROM hello_greetings WHERE name = 'Grace'"))


async def test_table_outside_the_prefix_fails_the_plugin_with_the_rule(boot_kernel, plugin_factory):
    table = f"t_{uuid.uuid4().hex[:8]}"
    plugin_factory.make(
        "squatter",
        f"""
        from sqlalchemy import Column, Integer, MetaData, Table
        from mindframe.sdk import hookimpl
        metadata = MetaData()
        Table("{table}", metadata, Column("id", Integer, primary_key=True))

        @hookimpl
        def register_tables(ctx):
            return metadata
        """,
    )
    async with boot_kernel(["squatter"], builtin=False) as kernel:
        assert kernel.state("squatter") is PluginState.FAILED
        error = kernel.error("squatter")
        assert error.startswith("TableError in register_tables")
        assert (
            f"must be named with the plugin's prefix 'squatter_' (for example squatter_{table})"
            in error
        )
