"""A fresh database is stamped at a plugin's newest revision without Alembic (issue 16): the
rows and the version table are the ones Alembic's own stamp writes, and a revision added
later applies on top of them. Folders whose files are not plain fall back to Alembic."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine

from mindframe.kernel import migrations
from mindframe.kernel.discovery import builtin_plugins_dir
from mindframe.kernel.migrations import Revisions, version_table
from mindframe.kernel.stamp import newest_revisions

PREFIX = "notes_"

REVISION = '''
"""{revision}"""
from alembic import op
import sqlalchemy as sa

revision{annotation} = {revision!r}
down_revision{annotation} = {down!r}
branch_labels = None
depends_on = {depends_on!r}


def upgrade() -> None:
    op.create_table("notes_{revision}", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("notes_{revision}")
'''


def write(
    folder: Path,
    revision: str,
    down: str | tuple[str, ...] | None,
    *,
    annotated: bool = False,
    depends_on: str | None = None,
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = REVISION.format(
        revision=revision,
        down=down,
        annotation=": str" if annotated else "",
        depends_on=depends_on,
    )
    (folder / f"{revision}_step.py").write_text(text)


def stamped(tmp_path: Path, name: str, stamp, revisions: Revisions) -> tuple[list[str], str]:
    """The version rows and the version table's DDL after `stamp` on a fresh database."""
    engine = create_engine(f"sqlite:///{tmp_path / name}-{uuid.uuid4().hex}.db")
    try:
        with engine.begin() as connection:
            stamp(connection, PREFIX, revisions)
        with engine.connect() as connection:
            table = version_table(PREFIX)
            rows = connection.exec_driver_sql(f"select version_num from {table}").scalars()
            ddl = connection.exec_driver_sql(
                "select sql from sqlite_master where name = ?", (table,)
            ).scalar_one()
            return sorted(rows), ddl
    finally:
        engine.dispose()


def assert_same_as_alembic(tmp_path: Path, revisions: Revisions) -> list[str]:
    ours = stamped(tmp_path, "ours", migrations._stamp, revisions)
    alembic = stamped(tmp_path, "alembic", migrations._stamp_with_alembic, revisions)
    assert ours == alembic
    return ours[0]


def builtin_migration_folders() -> list[Path]:
    return sorted(p.parent for p in builtin_plugins_dir().rglob("migrations/*.py"))


@pytest.mark.parametrize(
    "folder", sorted(set(builtin_migration_folders())), ids=lambda folder: folder.parent.name
)
def test_each_builtin_plugin_is_stamped_as_alembic_stamps_it(tmp_path: Path, folder: Path):
    revisions = Revisions.of(folder)
    assert newest_revisions(folder, revisions.names, whole_folder=True) is not None
    assert assert_same_as_alembic(tmp_path, revisions)


def test_a_chain_two_heads_and_a_merge_are_stamped_as_alembic_stamps_them(tmp_path: Path):
    folder = tmp_path / "migrations"
    write(folder, "a1", None)
    write(folder, "b2", "a1", annotated=True)
    write(folder, "c3", "b2")
    assert assert_same_as_alembic(tmp_path, Revisions.of(folder)) == ["c3"]
    write(folder, "d4", "b2")  # a second head
    assert assert_same_as_alembic(tmp_path, Revisions.of(folder)) == ["c3", "d4"]
    write(folder, "e5", ("c3", "d4"))  # merged
    assert assert_same_as_alembic(tmp_path, Revisions.of(folder)) == ["e5"]


def test_an_older_versions_files_are_stamped_at_their_own_newest(tmp_path: Path):
    folder = tmp_path / "migrations"
    write(folder, "a1", None)
    write(folder, "b2", "a1")
    older = Revisions.of(folder)
    write(folder, "c3", "b2")  # came with a newer version of the code
    assert assert_same_as_alembic(tmp_path, older) == ["b2"]


@pytest.mark.parametrize(
    "source",
    [
        'revision = "a" + "1"\ndown_revision = None\n',
        'revision = "a1"\nrevision = "a2"\ndown_revision = None\n',
        'revision = "a1"\ndown_revision = None\nif True:\n    down_revision = "x"\n',
        'revision = "a1"\ndown_revision = "missing"\n',
        'revision = "a1"\ndown_revision = None\ndepends_on = "other"\n',
        'revision = "a1"\ndown_revision = None\nbranch_labels = ("x",)\n',
        "down_revision = None\n",
    ],
    ids=["computed", "twice", "branch", "missing-parent", "depends-on", "labels", "no-id"],
)
def test_files_that_are_not_plain_are_left_to_alembic(tmp_path: Path, source: str):
    (tmp_path / "a1_step.py").write_text(source)
    assert newest_revisions(tmp_path, ("a1_step.py",), whole_folder=True) is None


def test_a_dependency_is_stamped_through_alembic(tmp_path: Path):
    folder = tmp_path / "migrations"
    write(folder, "a1", None)
    write(folder, "b2", None, depends_on="a1")
    assert newest_revisions(folder, Revisions.of(folder).names, whole_folder=True) is None
    assert assert_same_as_alembic(tmp_path, Revisions.of(folder))


def test_a_revision_added_after_the_stamp_is_the_only_one_applied(tmp_path: Path):
    folder = tmp_path / "migrations"
    write(folder, "a1", None)
    write(folder, "b2", "a1")
    engine = create_engine(f"sqlite:///{tmp_path / 'db'}.db")
    try:
        with engine.begin() as connection:
            migrations._stamp(connection, PREFIX, Revisions.of(folder))
            connection.exec_driver_sql("create table notes_items (id integer primary key)")
        write(folder, "c3", "b2")
        with engine.begin() as connection:
            applied = migrations.upgrade(connection, PREFIX, Revisions.of(folder))
        assert applied == ["c3"]
        with engine.connect() as connection:
            assert tables(connection) == {"notes_items", "notes_c3", version_table(PREFIX)}
    finally:
        engine.dispose()


def tables(connection: Connection) -> set[str]:
    rows = connection.exec_driver_sql("select name from sqlite_master where type = 'table'")
    return set(rows.scalars())


def test_the_revision_template_is_read_as_alembic_writes_it(tmp_path: Path):
    """A revision as `mindframe db revision` writes it (annotated, with a docstring header)."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0a1b_first.py").write_text(
        textwrap.dedent(
            '''
            """first

            Revision ID: 0a1b
            Revises:
            """
            from collections.abc import Sequence

            revision: str = "0a1b"
            down_revision: str | Sequence[str] | None = None
            branch_labels: str | Sequence[str] | None = None
            depends_on: str | Sequence[str] | None = None


            def upgrade() -> None:
                pass


            def downgrade() -> None:
                pass
            '''
        )
    )
    assert assert_same_as_alembic(tmp_path, Revisions.of(folder)) == ["0a1b"]
