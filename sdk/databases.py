"""Tests against a real PostgreSQL: a new, empty database for one test alone.

xdist runs tests on several workers at once; tests sharing one database's tables drop and
recreate them under each other ("relation … does not exist"). Each test that asks for
`postgres_url` gets its own database on the server, dropped (connections and all) when it
ends, and skips with the reason when no server answers.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator

import pytest

POSTGRES_HOST, POSTGRES_PORT = "127.0.0.1", 5432
POSTGRES_SERVER = f"postgresql+asyncpg://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}"
"""The machine's PostgreSQL (trust auth); `test` is the database it always has."""


def postgres_reachable() -> bool:
    try:
        socket.create_connection((POSTGRES_HOST, POSTGRES_PORT), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """The URL of a new, empty PostgreSQL database for this test alone."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    if not postgres_reachable():
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_HOST}:{POSTGRES_PORT}")
    name = f"mindframe_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(f"{POSTGRES_SERVER}/test", isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()
