"""A fresh database's Alembic version rows, written without importing Alembic.

Why: a plugin's first start on an empty database creates its tables from the code and
records its newest revision as applied (`kernel/migrations.py`). Alembic's own stamp
imports its script and migration machinery (Mako included), a tenth of a cold boot, only
to read which revisions the files name and to write a row. Revision files name their ids
and parents as plain literals, so they are read here with `ast`, and the row is written in
the table Alembic would create. A folder this cannot read with certainty (an id that is not
a literal, branch labels, `depends_on`, a parent that is missing) gets `None`, and the
caller stamps it through Alembic as before, which also reports what is wrong with it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Column, Connection, MetaData, PrimaryKeyConstraint, String, Table

REVISION_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")
"""The file names Alembic reads as revisions (its own `_only_source_rev_file`)."""

HEADER_NAMES = ("revision", "down_revision", "branch_labels", "depends_on")


def newest_revisions(folder: Path, names: Sequence[str], *, whole_folder: bool) -> list[str] | None:
    """The revisions among the files `names` in `folder` that no other one revises: what
    Alembic stamps as the newest. `whole_folder` says `names` is everything the folder holds
    now (Alembic's "heads"); otherwise they are an older version's files and must have one
    newest revision (as `Revisions.target` demands). None when Alembic has to decide."""
    parents: dict[str, tuple[str, ...]] = {}
    for name in names:
        if not REVISION_FILE.match(name):
            continue
        header = read_header(folder / name)
        if header is None or header[0] in parents:
            return None
        parents[header[0]] = header[1]
    revised = {parent for downs in parents.values() for parent in downs}
    if not revised <= parents.keys():
        return None
    newest = sorted(revision for revision in parents if revision not in revised)
    if not newest or (not whole_folder and len(newest) != 1):
        return None
    return newest


def read_header(path: Path) -> tuple[str, tuple[str, ...]] | None:
    """A revision file's id and the ids it revises, when the file assigns them once each, at
    the top level, as literals, and has neither branch labels nor dependencies."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return None
    values: dict[str, object] = {}
    for statement in tree.body:
        target, value = _simple_assignment(statement)
        if target in HEADER_NAMES:
            if target in values or value is None:
                return None
            try:
                values[target] = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError):
                return None
    bound = [
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    ]
    if any(bound.count(name) > (name in values) for name in HEADER_NAMES):
        return None  # also bound elsewhere (a loop, a branch, a second assignment)
    revision = values.get("revision")
    down = values.get("down_revision")
    if not isinstance(revision, str) or not revision:
        return None
    if values.get("branch_labels") is not None or values.get("depends_on") is not None:
        return None
    if down is None:
        return revision, ()
    if isinstance(down, str):
        return revision, (down,)
    if isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
        return revision, tuple(down)
    return None


def write_version_rows(connection: Connection, table_name: str, revisions: Sequence[str]) -> None:
    """Create the version table as Alembic does (`version_num`, primary key named
    `<table>_pkc`) and record `revisions` as applied."""
    table = Table(
        table_name,
        MetaData(),
        Column("version_num", String(32), nullable=False),
        PrimaryKeyConstraint("version_num", name=f"{table_name}_pkc"),
    )
    table.create(connection)
    connection.execute(table.insert(), [{"version_num": revision} for revision in revisions])


def _simple_assignment(statement: ast.stmt) -> tuple[str | None, ast.expr | None]:
    """`name = value` or `name: annotation = value` with one plain name as the target."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
        if isinstance(target, ast.Name):
            return target.id, statement.value
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return statement.target.id, statement.value
    return None, None
