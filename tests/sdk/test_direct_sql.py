"""`mindframe.sdk.direct_sql` against SQLAlchemy's own `execute`: the same rows stored, the
same rows read back, in the caller's transaction, and the same errors; and `execute` itself
wherever the direct path may not be taken (another database, something listening)."""

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, MultipleResultsFound, StatementError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.schema import ExecutableDDLElement

from mindframe.sdk import direct_sql

metadata = MetaData()
things = Table(
    "dsql_things",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(32), nullable=True),
    Column("done", Boolean, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("due", DateTime(timezone=True), nullable=True),
    Column("score", Float, nullable=True),
    Column("detail", JSON, nullable=True),
    Column("blob", LargeBinary, nullable=True),
    Column("ref", String(32), nullable=True, unique=True),
)
tags = Table(
    "dsql_tags",
    metadata,
    Column("thing_id", String(32), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("tag", Text, key="label", nullable=False),  # read back as "tag", as Core reads it
)

WHEN = datetime(2026, 11, 30, 6, 5, 4, 321000, tzinfo=UTC)
ELSEWHERE = timezone(timedelta(hours=2))
BY_ID = select(things).where(things.c.id == bindparam("id"))
BY_OWNER = select(things).where(things.c.owner == bindparam("owner"))
FINISH = (
    update(things)
    .where(things.c.id == bindparam("thing"), things.c.owner != "nobody")
    .values(
        done=True,
        at=bindparam("now"),
        due=datetime(2026, 12, 24, 18, tzinfo=UTC),  # fixed here, converted all the same
        ref=func.coalesce(things.c.ref, bindparam("ref")),
    )
    .returning(*things.c)
)
TAG_ONCE = sqlite.insert(tags).on_conflict_do_nothing()
SUMMARY = select(
    func.count(),
    func.max(things.c.at),
    func.sum(things.c.score).label("total"),
    (func.count(things.c.due) + 1),
).where(things.c.owner == bindparam("owner"))
TAGS_OF = select(tags.c.label, tags.c.position).where(tags.c.thing_id == bindparam("id"))


def thing(thing_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": thing_id, "owner": "ann", "done": False, "at": WHEN, "due": None, "score": 1.5,
        "detail": {"note": "søt 🍰", "n": [1, 2.5, None]}, "blob": b"\x00\xff", "ref": None,
    } | changes  # fmt: skip


ROWS = [
    thing("t1"),
    thing("t2", done=True, due=WHEN.astimezone(ELSEWHERE), detail=None, blob=None, score=None),
    thing("t3", owner=None, detail=["a", {"b": True}], ref="r3", at=datetime(2026, 1, 2, 3, 4, 5)),
]
TAGS = [{"thing_id": "t1", "position": p, "label": tag} for p, tag in enumerate(["x", "y"])]


def database(path: Any) -> Engine:
    engine = create_engine(f"sqlite+pysqlite:///{path}")
    metadata.create_all(engine)
    return engine


def through_execute(engine: Engine) -> Engine:
    """The same engine's statements forced through `execute`: something listens."""
    event.listen(engine, "before_cursor_execute", lambda *_: None)
    return engine


@pytest.fixture
def executed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements that went through `Connection.execute` (the direct path sends none)."""
    sent: list[str] = []
    usual = Connection.execute

    def execute(self: Connection, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(statement, ExecutableDDLElement):  # creating the tables
            sent.append(str(statement).split()[0])
        return usual(self, statement, *args, **kwargs)

    monkeypatch.setattr(Connection, "execute", execute)
    return sent


def the_path(connection: Connection) -> list[Any]:
    """Rows written, changed and read every way the module offers; what each answered."""
    answers: list[Any] = []
    direct_sql.insert_rows(connection, things, ROWS)
    answers.append(direct_sql.execute_many(connection, TAG_ONCE, TAGS))
    answers.append(direct_sql.rowcount(connection, TAG_ONCE, TAGS[0]))  # again: nothing
    answers.append(direct_sql.rowcount(connection, insert(things), thing("t4", owner="bo")))
    moved = {"thing": "t1", "now": WHEN.astimezone(ELSEWHERE), "ref": "r1"}
    answers.append(direct_sql.one_or_none(connection, FINISH, moved))
    answers.append(direct_sql.one_or_none(connection, FINISH, {**moved, "thing": "t0"}))
    answers += [direct_sql.one_or_none(connection, BY_ID, {"id": i}) for i in ("t2", "t3", "x")]
    answers.append(direct_sql.one_or_none(connection, SUMMARY, {"owner": "ann"}))
    answers.append(direct_sql.one_or_none(connection, TAGS_OF.limit(1), {"id": "t1"}))
    return answers


def stored(path: Any) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as db:
        return {
            table: db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("dsql_things", "dsql_tags")
        }


def test_the_same_rows_are_stored_and_read_back_as_through_execute(tmp_path, executed):
    direct, usual = database(tmp_path / "direct.db"), database(tmp_path / "usual.db")
    with direct.begin() as connection:
        answers = the_path(connection)
    assert executed == []  # all of it on SQLite's cursor
    with through_execute(usual).begin() as connection:
        assert the_path(connection) == answers
    assert len(executed) == 11
    assert stored(tmp_path / "direct.db") == stored(tmp_path / "usual.db")

    assert answers[:3] == [2, 0, 1]
    # SQLite keeps no zone: SQLAlchemy stores the wall clock given and reads it back naive
    naive, at_two = WHEN.replace(tzinfo=None), datetime(2026, 11, 30, 8, 5, 4, 321000)
    finished = answers[3]
    assert (finished["done"], finished["ref"], finished["at"]) == (True, "r1", at_two)
    assert finished["due"] == datetime(2026, 12, 24, 18)
    assert finished["detail"] == ROWS[0]["detail"] and finished["blob"] == b"\x00\xff"
    assert answers[4] is None and answers[7] is None
    assert answers[5] == ROWS[1] | {"at": naive, "due": at_two}
    assert answers[6]["detail"] == ["a", {"b": True}] and answers[6]["done"] is False
    # keyed as Core keys them: count_1, max_1, the label, anon_1
    assert answers[8] == {"count_1": 2, "max_1": at_two, "total": 1.5, "anon_1": 3}
    assert answers[9] == {"tag": "x", "position": 0}
    row = stored(tmp_path / "direct.db")["dsql_things"][1]
    assert row[2:6] == (1, "2026-11-30 06:05:04.321000", "2026-11-30 08:05:04.321000", None)
    assert row[6] == "null"  # a JSON column's None is JSON's null, as SQLAlchemy writes it


def test_the_statements_are_part_of_the_callers_transaction(tmp_path, executed):
    engine = database(tmp_path / "things.db")
    with pytest.raises(RuntimeError), engine.begin() as connection:
        direct_sql.insert_rows(connection, things, ROWS)
        assert direct_sql.rowcount(connection, TAG_ONCE, TAGS[0]) == 1
        assert direct_sql.one_or_none(connection, BY_ID, {"id": "t1"}) is not None
        raise RuntimeError("what came next failed")
    assert stored(tmp_path / "things.db") == {"dsql_things": [], "dsql_tags": []}
    with engine.connect() as connection:  # commit as you go: the first statement begins
        direct_sql.insert_rows(connection, things, ROWS[:1])
        direct_sql.rowcount(connection, TAG_ONCE, TAGS[0])
        connection.commit()
    assert executed == ["INSERT"]  # the one that began the transaction
    assert [len(rows) for rows in stored(tmp_path / "things.db").values()] == [1, 1]


def listen_on_connection(engine: Engine, connection: Connection) -> None:
    event.listen(connection, "after_cursor_execute", lambda *_: None)


@pytest.mark.parametrize(
    "listen",
    [
        lambda engine, _: event.listen(engine, "before_cursor_execute", lambda *_: None),
        lambda engine, _: event.listen(engine, "after_execute", lambda *_: None),
        lambda engine, _: event.listen(engine, "do_execute", lambda *_: None),
        listen_on_connection,
    ],
    ids=["engine-cursor", "engine-execute", "dialect", "connection"],
)
def test_whatever_listens_for_execution_gets_every_statement_through_execute(
    tmp_path, executed, listen
):
    engine = database(tmp_path / "things.db")
    event.listen(engine, "begin", lambda connection: None)  # the kernel's: not an execution
    with engine.begin() as connection:
        direct_sql.insert_rows(connection, things, ROWS[:1])
        assert executed == []
        listen(engine, connection)
        direct_sql.insert_rows(connection, things, ROWS[1:])
        direct_sql.rowcount(connection, TAG_ONCE, TAGS[0])
        assert direct_sql.one_or_none(connection, BY_ID, {"id": "t3"})["ref"] == "r3"
    assert executed == ["INSERT", "INSERT", "SELECT"]


def test_another_database_gets_every_statement_through_execute(tmp_path, executed, monkeypatch):
    engine = database(tmp_path / "things.db")
    monkeypatch.setattr(engine.dialect, "name", "postgresql")
    with engine.begin() as connection:
        direct_sql.insert_rows(connection, things, ROWS)
        assert direct_sql.one_or_none(connection, BY_ID, {"id": "t1"})["detail"]["n"][1] == 2.5
    assert executed == ["INSERT", "SELECT"]


@pytest.mark.postgres
@pytest.mark.anyio
async def test_on_postgresql_every_statement_goes_through_execute(postgres_url, executed):
    engine = create_async_engine(postgres_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            answers = await connection.run_sync(rows_changed_and_read)
    finally:
        await engine.dispose()
    assert executed[-5:] == ["INSERT", "UPDATE", "SELECT", "SELECT", "SELECT"]
    finished, second, third, missing = answers
    assert (finished["done"], finished["ref"], finished["at"]) == (True, "r1", WHEN)
    assert second == ROWS[1] | {"due": WHEN}  # PostgreSQL keeps the moment, read back in UTC
    assert third["detail"] == ["a", {"b": True}] and missing is None


def rows_changed_and_read(connection: Connection) -> list[Any]:
    direct_sql.insert_rows(connection, things, [*ROWS[:2], ROWS[2] | {"at": WHEN}])
    moved = {"thing": "t1", "now": WHEN, "ref": "r1"}
    return [
        direct_sql.one_or_none(connection, FINISH, moved),
        *(direct_sql.one_or_none(connection, BY_ID, {"id": i}) for i in ("t2", "t3", "x")),
    ]


@pytest.mark.parametrize("listened", [False, True])
def test_errors_are_sqlalchemys_as_through_execute(tmp_path, executed, listened):
    engine = database(tmp_path / "things.db")
    if listened:
        through_execute(engine)
    with engine.begin() as connection:
        direct_sql.rowcount(connection, insert(things), ROWS[0])
        with pytest.raises(IntegrityError):  # the same primary key: a database error
            direct_sql.rowcount(connection, insert(things), ROWS[0])
        with pytest.raises(IntegrityError):
            direct_sql.insert_rows(connection, things, ROWS[1:] + ROWS[1:])
        with pytest.raises(IntegrityError):  # NOT NULL
            direct_sql.execute_many(connection, insert(tags), [{**TAGS[0], "label": None}])
        direct_sql.rowcount(connection, insert(things), ROWS[2] | {"id": "t4", "ref": None})
        with pytest.raises(MultipleResultsFound):
            direct_sql.one_or_none(connection, BY_OWNER, {"owner": "ann"})
        with pytest.raises(StatementError, match="'id'"):  # a value missing
            direct_sql.one_or_none(connection, BY_ID, {})
        with pytest.raises(StatementError, match="'label', in parameter group 1"):
            direct_sql.execute_many(
                connection, insert(tags), [TAGS[0], {"thing_id": "t1", "position": 5}]
            )
    assert len(executed) == (8 if listened else 0)
