"""A plugin's tables change while the server runs: additive changes apply by themselves under
`--reload`, anything else waits for a migration with the old version serving; revisions
written by `mindframe db revision` apply at start-up and on reload."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from sqlalchemy import create_engine, inspect

NOTES = """
from litestar import get, post
from litestar.params import JSONBody
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, insert, select

from mindframe.sdk import hookimpl

metadata = MetaData()
items = Table(
    "notes_items",
    metadata,
    Column("id", Integer, primary_key=True),
    {columns}
)


@hookimpl
def register_tables(ctx):
    return metadata


@hookimpl
def register_routes(ctx):
    @post("/")
    async def add(data: JSONBody[dict]) -> dict:
        async with ctx.session() as session:
            result = await session.execute(insert(items).values(**data))
            await session.commit()
        return {{"id": result.inserted_primary_key[0]}}

    @get("/")
    async def listing() -> list[dict]:
        async with ctx.session() as session:
            rows = (await session.execute(select(items).order_by(items.c.id))).mappings()
            return [dict(row) for row in rows]

    return [add, listing]
"""
TEXT = 'Column("text", String(200), nullable=False),'
PINNED = 'Column("pinned", Boolean, nullable=True),'
BODY = 'Column("body", String(200), nullable=False),'


def notes(*columns: str) -> str:
    return NOTES.format(columns="\n    ".join(columns))


async def until(condition, timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while not await condition():
            await anyio.sleep(0.02)


def columns_of(database: Path, table: str) -> list[str]:
    engine = create_engine(f"sqlite:///{database}")
    try:
        return [c["name"] for c in inspect(engine).get_columns(table)]
    finally:
        engine.dispose()


@pytest.mark.anyio
async def test_reload_adds_a_nullable_column_and_refuses_a_rename_with_the_old_version_serving(
    boot_kernel, plugin_factory, database_url
):
    folder = plugin_factory.make("notes", notes(TEXT))
    reloading = {"reload": True}
    async with boot_kernel(
        ["notes"], builtin=False, database_url=database_url, kernel_settings=reloading
    ) as kernel:
        assert (await kernel.client.post("/api/notes/", json={"text": "first"})).status_code == 201

        (folder / "__init__.py").write_text(notes(TEXT, PINNED))

        async def pinned_accepted() -> bool:
            answer = await kernel.client.post("/api/notes/", json={"text": "b", "pinned": True})
            return answer.status_code == 201

        await until(pinned_accepted)
        rows = (await kernel.client.get("/api/notes/")).json()
        assert [(r["text"], r["pinned"]) for r in rows] == [("first", None), ("b", True)]

        (folder / "__init__.py").write_text(notes(BODY, PINNED))

        async def refused() -> bool:
            return "reload failed" in (kernel.error("notes") or "")

        await until(refused)
        error = kernel.error("notes")
        assert "remove column notes_items.text" in error
        assert "add column notes_items.body" in error
        assert "mindframe db revision notes" in error
        rows = (await kernel.client.get("/api/notes/")).json()  # the old version serves on
        assert [r["text"] for r in rows] == ["first", "b"]


@pytest.mark.anyio
async def test_without_reload_an_additive_change_also_waits_for_a_migration(
    boot_kernel, plugin_factory
):
    folder = plugin_factory.make("notes", notes(TEXT))
    async with boot_kernel(["notes"], builtin=False) as kernel:
        (folder / "__init__.py").write_text(notes(TEXT, PINNED))
        result = await kernel.runtime.reload("notes")
        assert not result.ok
        assert "add column notes_items.pinned BOOLEAN (nullable)" in result.error
        assert (await kernel.client.get("/api/notes/")).status_code == 200


@pytest.mark.anyio
async def test_a_broken_revision_is_refused_and_the_old_version_serves_without_running_it(
    boot_kernel, plugin_factory
):
    folder = plugin_factory.make("notes", notes(TEXT))
    async with boot_kernel(["notes"], builtin=False) as kernel:
        await kernel.client.post("/api/notes/", json={"text": "kept"})
        (folder / "migrations").mkdir()
        (folder / "migrations" / "0001_broken.py").write_text(BROKEN_REVISION)
        result = await kernel.runtime.reload("notes")
        assert not result.ok
        assert "migrations/0001_broken.py, line 11" in result.error
        assert kernel.state("notes").value == "active"  # the old version, restarted
        rows = (await kernel.client.get("/api/notes/")).json()
        assert [r["text"] for r in rows] == ["kept"]


BROKEN_REVISION = """
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notes_items") as batch:
        batch.alter_column("missing", new_column_name="other")


def downgrade() -> None:
    pass
"""


def run_cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mindframe.kernel.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.anyio
async def test_a_written_revision_applies_on_reload_and_at_start(
    boot_kernel, plugin_factory, tmp_path
):
    folder = plugin_factory.make("notes", notes(TEXT))
    data = tmp_path / "data"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MINDFRAME_")},
        "MINDFRAME_DATA_DIR": str(data),
        "MINDFRAME_BUILTIN_PLUGINS": "false",
        "MINDFRAME_PLUGINS_DIRS": f'["{plugin_factory.root}"]',
    }
    async with boot_kernel(["notes"], builtin=False, data_dir=data) as kernel:
        await kernel.client.post("/api/notes/", json={"text": "kept"})
        (folder / "__init__.py").write_text(notes(BODY))  # a rename: needs a revision

        written = run_cli("db", "revision", "notes", "-m", "rename text", cwd=tmp_path, env=env)
        assert written.returncode == 0, written.stderr
        revision = next((folder / "migrations").glob("*.py"))
        source = revision.read_text()
        assert "add_column" in source and "drop_column" in source
        # the author edits the generated drop-and-add into a rename that keeps the data
        start = source.index("def upgrade()")
        end = source.index("def downgrade()")
        rename = (
            "def upgrade() -> None:\n"
            '    with op.batch_alter_table("notes_items") as batch:\n'
            '        batch.alter_column("text", new_column_name="body")\n\n\n'
        )
        revision.write_text(source[:start] + rename + source[end:])

        result = await kernel.runtime.reload("notes")
        assert result.ok, result.error
        rows = (await kernel.client.get("/api/notes/")).json()
        assert [r["body"] for r in rows] == ["kept"]
    assert columns_of(data / "mindframe.db", "notes_items") == ["id", "body"]

    again = run_cli("db", "upgrade", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert "notes: nothing pending" in again.stdout


@pytest.mark.anyio
async def test_a_fresh_database_is_created_from_the_code_and_stamped(boot_kernel, plugin_factory):
    folder = plugin_factory.make(
        "notes",
        notes(BODY),
        files={
            "migrations/0001_rename.py": '''
            """rename"""
            from alembic import op

            revision = "0001"
            down_revision = None
            branch_labels = None
            depends_on = None


            def upgrade() -> None:
                with op.batch_alter_table("notes_items") as batch:
                    batch.alter_column("text", new_column_name="body")


            def downgrade() -> None:
                pass
            ''',
        },
    )
    assert (folder / "migrations" / "0001_rename.py").is_file()
    async with boot_kernel(["notes"], builtin=False) as kernel:
        assert kernel.error("notes") is None  # the revision was not run on an empty database
        assert (await kernel.client.post("/api/notes/", json={"body": "x"})).status_code == 201
        version = kernel.runtime.settings.kernel.data_dir / "mindframe.db"
    engine = create_engine(f"sqlite:///{version}")
    try:
        with engine.connect() as connection:
            stamped = connection.exec_driver_sql("select version_num from notes_alembic_version")
            assert [row[0] for row in stamped] == ["0001"]
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """The default SQLite file (None), or a PostgreSQL database for this test alone."""
    return None if request.param == "sqlite" else request.getfixturevalue("postgres_url")


@pytest.mark.anyio
async def test_a_restart_with_the_schema_unchanged_reads_no_database_structure(
    boot_kernel, plugin_factory, monkeypatch
):
    """Start-up stays fast: a plugin whose tables and revisions are what the database last
    recorded skips Alembic's comparison (a few ms a plugin, dozens of plugins); a changed one
    is still compared."""
    from mindframe.kernel import migrations

    plugin_factory.make("notes", notes(TEXT))
    async with boot_kernel(["notes"], builtin=False) as kernel:
        assert kernel.error("notes") is None
    compared: list[str] = []
    real = migrations.differences

    def counting(connection, prefix, tables):
        compared.append(prefix)
        return real(connection, prefix, tables)

    monkeypatch.setattr(migrations, "differences", counting)
    async with boot_kernel(["notes"], builtin=False) as kernel:
        assert kernel.error("notes") is None
    assert compared == []
    plugin_factory.make("notes", notes(TEXT, PINNED))
    async with boot_kernel(["notes"], builtin=False) as kernel:
        assert "pinned" in (kernel.error("notes") or "")  # waits for a migration, as above
    assert compared == ["notes_"]
