"""API tokens end: all at once when their user changes password (unless asked not to), and
each when it expires, after `token_ttl_days` or sooner if it asked for less."""

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from auth_testlib import NEW_PASSWORD, PASSWORD, add_user, csrf_of, service, token_of
from mindframe_plugins.auth.models import tokens
from sqlalchemy import text, update

pytestmark = pytest.mark.anyio
DAY = timedelta(days=1)


async def works(kernel, bearer) -> bool:
    response = await kernel.client.get("/api/auth/me", headers=bearer)
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


async def test_a_password_change_revokes_every_api_token_unless_asked_not_to(boot):
    async with boot() as kernel:
        await add_user(kernel)
        first, second = [await token_of(kernel, "ada", ["*"]) for _ in range(2)]
        csrf = await csrf_of(kernel.client)
        change = {"current": PASSWORD, "new": NEW_PASSWORD}
        changed = await kernel.client.post("/api/auth/me/password", json=change, headers=csrf)
        assert changed.status_code == 204
        kept = await token_of(kernel, "ada", ["*"])
        back = {"current": NEW_PASSWORD, "new": PASSWORD, "revoke_tokens": False}
        changed = await kernel.client.post("/api/auth/me/password", json=back, headers=csrf)
        assert changed.status_code == 204
        kernel.client.cookies.clear()
        assert [await works(kernel, t) for t in (first, second, kept)] == [False, False, True]
        changes = await service(kernel).audit_log(event="password.changed")
        assert [entry["detail"]["tokens_revoked"] for entry in changes] == [0, 2]


async def test_a_token_lives_at_most_token_ttl_days_and_may_ask_for_less(boot):
    async with boot(token_ttl_days=30) as kernel:
        await add_user(kernel)
        csrf = await csrf_of(kernel.client)
        made_at = datetime.now(UTC)

        async def make(**fields):
            body = {"name": "ci", "scopes": [], **fields}
            return await kernel.client.post("/api/auth/tokens", json=body, headers=csrf)

        too_long = await make(expires_in_days=31)
        assert too_long.status_code == 400
        assert "at most 30 days" in too_long.json()["detail"]
        for fields, days in [({}, 30), ({"expires_in_days": 7}, 7)]:
            made = await make(**fields)
            assert made.status_code == 201
            expires = datetime.fromisoformat(made.json()["token"]["expires_at"])
            assert abs(expires - (made_at + days * DAY)) < timedelta(minutes=5)


async def test_a_token_stops_working_once_expired_and_an_old_one_at_the_ttl(boot):
    # the rules as the database holds them, so every request reads them (no remembering)
    async with boot(token_ttl_days=30, identity_recheck_seconds=0) as kernel:
        user = await add_user(kernel)
        asked, old = [await token_of(kernel, "ada", []) for _ in range(2)]
        assert await works(kernel, asked) and await works(kernel, old)
        rows = await service(kernel).list_tokens(user["id"])
        moment = datetime.now(UTC)
        async with service(kernel).ctx.session() as session:
            ended = update(tokens).where(tokens.c.id == rows[0]["id"])
            await session.execute(ended.values(expires_at=moment - DAY))
            made_before_expiry = update(tokens).where(tokens.c.id == rows[1]["id"])
            await session.execute(
                made_before_expiry.values(expires_at=None, created_at=moment - 31 * DAY)
            )
            await session.commit()
        for bearer in (asked, old):
            refused = await kernel.client.get("/api/auth/me", headers=bearer)
            assert refused.status_code == 401
            assert refused.json()["detail"] == "this API token has expired; make a new one"


async def test_a_database_made_before_tokens_expired_gains_the_column_at_start(boot, tmp_path):
    async with boot() as kernel:
        await add_user(kernel)
    database = sqlite3.connect(tmp_path / "data" / "mindframe.db")
    with database:  # the auth tables as the version before expiry left them
        database.execute("ALTER TABLE auth_tokens DROP COLUMN expires_at")
        database.execute("DROP TABLE auth_alembic_version")
        database.execute("DELETE FROM kernel_schemas WHERE plugin = 'auth'")
    database.close()
    async with boot() as kernel:
        bearer = await token_of(kernel, "ada", [])
        assert await works(kernel, bearer)


async def test_a_tokens_last_use_is_recorded_to_the_minute_not_on_every_request(boot):
    async with boot(identity_recheck_seconds=0) as kernel:
        user = await add_user(kernel)
        bearer = await token_of(kernel, "ada", [])
        [row] = await service(kernel).list_tokens(user["id"])
        assert row["last_used_at"] is None
        assert await works(kernel, bearer)
        [first] = await service(kernel).list_tokens(user["id"])
        assert first["last_used_at"] is not None
        assert await works(kernel, bearer)
        [again] = await service(kernel).list_tokens(user["id"])
        assert again["last_used_at"] == first["last_used_at"]  # no write within the minute
        async with service(kernel).ctx.session() as session:
            stale = datetime.now(UTC) - timedelta(minutes=2)
            await session.execute(update(tokens).values(last_used_at=stale))
            await session.commit()
        assert await works(kernel, bearer)
        [later] = await service(kernel).list_tokens(user["id"])
        assert later["last_used_at"] > first["last_used_at"]


async def test_checking_a_token_does_not_wait_for_another_writer(boot):
    """A token is checked in a read-only transaction: while another plugin's writer holds
    SQLite's write lock (a long history transaction), a request with a token used within
    the minute answers at once instead of queueing for the lock, or failing after its busy
    timeout with "database is locked"."""
    import threading

    import anyio

    async with boot(identity_recheck_seconds=0) as kernel:
        await add_user(kernel)
        bearer = await token_of(kernel, "ada", [])
        assert await works(kernel, bearer)  # its use is recorded: none due for a minute
        writing, finish = threading.Event(), threading.Event()

        def long_write(connection):
            connection.execute(update(tokens).values(name="renamed"))
            writing.set()
            finish.wait(10)

        async with anyio.create_task_group() as group:
            group.start_soon(lambda: service(kernel).ctx.transaction(long_write, core=True))
            await anyio.to_thread.run_sync(writing.wait, 10)
            try:
                with anyio.fail_after(3):
                    assert await works(kernel, bearer)
            finally:
                finish.set()


async def test_a_token_whose_use_cannot_be_recorded_still_works(boot):
    """Recording the last use (to the minute) is bookkeeping: when the database refuses it,
    the valid token is still accepted."""
    async with boot(identity_recheck_seconds=0) as kernel:
        user = await add_user(kernel)
        bearer = await token_of(kernel, "ada", [])
        refuse = (
            "CREATE TRIGGER refuse_token_use BEFORE UPDATE OF last_used_at ON auth_tokens "
            "BEGIN SELECT RAISE(ABORT, 'the database refuses'); END"
        )
        async with service(kernel).ctx.session() as session:
            await session.execute(text(refuse))
            await session.commit()
        assert await works(kernel, bearer)
        [row] = await service(kernel).list_tokens(user["id"])
        assert row["last_used_at"] is None  # the record was refused, the request was not
