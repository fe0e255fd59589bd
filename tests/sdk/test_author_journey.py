"""What a new plugin author does, end to end, with the documented commands only: scaffold a
plugin, give it a table, a route and a test, run the test with `mindframe test`, serve it with
`mindframe run --reload`, add a nullable column and use it at once, then rename a column and
see the reload refused with the old version serving."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mindframe.sdk.browser import free_port

MINDFRAME = [sys.executable, "-m", "mindframe.kernel.cli"]

NOTES = """
from typing import Any

from litestar import get, post
from litestar.params import JSONBody
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, insert, select

from mindframe.sdk import PluginContext, hookimpl

metadata = MetaData()
items = Table(
    "notes_items",
    metadata,
    Column("id", Integer, primary_key=True),
    COLUMNS
)


@hookimpl
def register_tables(ctx: PluginContext) -> Any:
    return metadata


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    @post("/items")
    async def add(data: JSONBody[dict]) -> dict:
        async with ctx.session() as session:
            result = await session.execute(insert(items).values(**data))
            await session.commit()
        return {"id": result.inserted_primary_key[0]}

    @get("/items")
    async def listing() -> list[dict]:
        async with ctx.session() as session:
            rows = await session.execute(select(items).order_by(items.c.id))
            return [dict(row) for row in rows.mappings()]

    return [add, listing]
"""

TEST = """
import pytest

pytestmark = pytest.mark.anyio


async def test_an_item_is_stored_and_listed(kernel):
    assert (await kernel.client.post("/api/notes/items", json={"text": "milk"})).status_code == 201
    assert [i["text"] for i in (await kernel.client.get("/api/notes/items")).json()] == ["milk"]
"""


def notes(*columns: str) -> str:
    return NOTES.replace("COLUMNS", "\n    ".join(columns))


def mindframe(*args: str, cwd: Path, env: dict[str, str], timeout: float = 180):
    return subprocess.run(
        [*MINDFRAME, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def wait_for(check, timeout: float) -> None:
    """Return once `check()` is true; fail after `timeout` seconds."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"not within {timeout} s")
        time.sleep(0.02)


@pytest.mark.slow  # two subprocesses, one of them pytest: ~15 s
def test_scaffold_test_serve_add_a_column_then_a_rename_is_refused(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINDFRAME_")}
    made = mindframe("new", "plugin", "notes", "--dir", "my-plugins", cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "my-plugins" / "notes"
    (folder / "__init__.py").write_text(notes('Column("text", String(200), nullable=False),'))
    for old in (folder / "tests").glob("test_*.py"):
        old.unlink()
    (folder / "tests" / "test_items.py").write_text(TEST)

    tested = mindframe("test", str(folder), cwd=tmp_path, env=env)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "1 passed" in tested.stdout

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*MINDFRAME, "run", "--reload", "--plugins-dir", "my-plugins", "--port", str(port)],
        cwd=tmp_path,
        env={**env, "MINDFRAME_DATA_DIR": str(tmp_path / "data")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def answers() -> bool:
            try:
                return httpx.get(f"{url}/api/notes/items", timeout=1).status_code == 200
            except httpx.HTTPError:
                return server.poll() is not None and pytest.fail(server.stdout.read())

        wait_for(answers, 60)
        assert httpx.post(f"{url}/api/notes/items", json={"text": "milk"}).status_code == 201

        (folder / "__init__.py").write_text(
            notes(
                'Column("text", String(200), nullable=False),',
                'Column("pinned", Boolean, nullable=True),',
            )
        )

        def pinned_accepted() -> bool:
            item = {"text": "eggs", "pinned": True}
            return httpx.post(f"{url}/api/notes/items", json=item).status_code == 201

        wait_for(pinned_accepted, 30)  # how fast: benchmarks/reload.py, not a timed test
        listed = httpx.get(f"{url}/api/notes/items").json()
        assert [(i["text"], i["pinned"]) for i in listed] == [("milk", None), ("eggs", True)]

        (folder / "__init__.py").write_text(
            notes(
                'Column("body", String(200), nullable=False),',
                'Column("pinned", Boolean, nullable=True),',
            )
        )

        def refused() -> bool:
            plugin = httpx.get(f"{url}/api/kernel/plugins/notes").json()
            return "reload failed" in (plugin.get("error") or "")

        wait_for(refused, 10)
        error = httpx.get(f"{url}/api/kernel/plugins/notes").json()["error"]
        assert "remove column notes_items.text" in error and "mindframe db revision" in error
        listed = httpx.get(f"{url}/api/notes/items").json()  # the old version serves on
        assert [i["text"] for i in listed] == ["milk", "eggs"]
    finally:
        server.terminate()
        server.wait(timeout=20)
