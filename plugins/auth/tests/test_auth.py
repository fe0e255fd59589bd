"""The auth plugin over HTTP: login and lockout, sessions with CSRF, API tokens, guards and
permissions, the management API, the audit log, and GDPR export and erasure."""

import io
import json
import zipfile

import pytest
from auth_testlib import FAST, PASSWORD, add_user, audit_events, login

from mindframe.sdk.auth import Authenticator

pytestmark = pytest.mark.anyio


async def test_login_sets_a_secure_httponly_samesite_cookie_and_me_knows_the_user(boot_kernel):
    async with boot_kernel(["auth"], settings={"auth": {**FAST, "cookie_secure": True}}) as kernel:
        await add_user(kernel, admin=True)
        response = await login(kernel.client)
        assert response.status_code == 200
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
        assert response.json()["user"]["username"] == "ada"
        assert response.json()["csrf_token"]


async def test_me_needs_a_session_and_logout_ends_it(boot):
    async with boot() as kernel:
        await add_user(kernel)
        assert (await kernel.client.get("/api/auth/me")).status_code == 401
        csrf = (await login(kernel.client)).json()["csrf_token"]
        me = (await kernel.client.get("/api/auth/me")).json()
        assert (me["username"], me["via"], me["is_admin"]) == ("ada", "session", False)
        headers = {"X-CSRF-Token": csrf}
        assert (await kernel.client.post("/api/auth/logout", headers=headers)).status_code == 204
        assert (await kernel.client.get("/api/auth/me")).status_code == 401
        assert "logout" in await audit_events(kernel)


async def test_a_cookie_authenticated_unsafe_request_without_its_csrf_token_is_refused(boot):
    async with boot() as kernel:
        await add_user(kernel)
        csrf = (await login(kernel.client)).json()["csrf_token"]
        assert (await kernel.client.post("/api/auth/logout")).status_code == 403
        wrong = {"X-CSRF-Token": "guess"}
        assert (await kernel.client.post("/api/auth/logout", headers=wrong)).status_code == 403
        assert (await kernel.client.get("/api/auth/me")).status_code == 200
        right = {"X-CSRF-Token": csrf}
        assert (await kernel.client.post("/api/auth/logout", headers=right)).status_code == 204


async def test_wrong_passwords_lock_the_account_out_even_for_the_right_one(boot):
    async with boot() as kernel:
        await add_user(kernel)
        for _ in range(3):
            assert (await login(kernel.client, password="wrong password")).status_code == 401
        locked = await login(kernel.client)
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) > 0
        assert "try again in" in locked.json()["detail"]
        events = await audit_events(kernel)
        assert events.count("login.failed") == 3
        assert "lockout" in events and "login.locked" in events


async def test_the_lockout_ends_after_its_time(boot):
    async with boot(lockout_seconds=1) as kernel:
        await add_user(kernel)
        for _ in range(3):
            await login(kernel.client, password="wrong password")
        assert (await login(kernel.client)).status_code == 429
        import anyio

        await anyio.sleep(1.2)
        assert (await login(kernel.client)).status_code == 200


async def test_an_unknown_username_is_refused_like_a_wrong_password(boot):
    async with boot() as kernel:
        response = await login(kernel.client, username="nobody")
        assert response.status_code == 401
        assert response.json()["detail"] == "wrong username or password"


async def test_many_logins_from_one_address_are_rate_limited(boot):
    async with boot(login_attempts_per_minute=4, max_failed_logins=100) as kernel:
        statuses = [
            (await login(kernel.client, password="nope nope")).status_code for _ in range(6)
        ]
        assert statuses == [401, 401, 401, 401, 429, 429]


async def test_api_token_is_shown_once_works_as_bearer_and_is_refused_once_revoked(boot):
    async with boot() as kernel:
        await add_user(kernel)
        csrf = (await login(kernel.client)).json()["csrf_token"]
        made = await kernel.client.post(
            "/api/auth/tokens",
            json={"name": "ci", "scopes": ["auth.tokens.revoke"]},
            headers={"X-CSRF-Token": csrf},
        )
        assert made.status_code == 201
        secret, token_id = made.json()["secret"], made.json()["token"]["id"]
        listed = (await kernel.client.get("/api/auth/tokens")).json()
        assert [t["name"] for t in listed] == ["ci"] and "secret" not in listed[0]
        kernel.client.cookies.clear()
        bearer = {"Authorization": f"Bearer {secret}"}
        me = await kernel.client.get("/api/auth/me", headers=bearer)
        assert (me.status_code, me.json()["via"]) == (200, "token")
        revoked = await kernel.client.delete(f"/api/auth/tokens/{token_id}", headers=bearer)
        assert revoked.status_code == 204
        refused = await kernel.client.get("/api/auth/me", headers=bearer)
        assert refused.status_code == 401
        assert "revoked" in refused.json()["detail"]


GUARDED = """
from litestar import post
from litestar.di import NamedDependency
from mindframe.sdk import hookimpl
from mindframe.sdk.auth import IDENTITY, Identity, declare_permissions, requires_permission

@hookimpl
def register_services(ctx):
    declare_permissions(ctx, {"mail.send": "Send mail"})

@hookimpl
def register_routes(ctx):
    @post("/send", guards=[requires_permission("mail.send")], dependencies={"identity": IDENTITY})
    async def send(identity: NamedDependency[Identity]) -> str:
        return f"sent by {identity.username}"
    return [send]
"""


async def test_a_route_guarded_by_mail_send_refuses_a_user_without_it(boot, plugin_factory):
    plugin_factory.make("mailer", GUARDED, requires=["auth"])
    async with boot(["mailer"]) as kernel:
        service = kernel.runtime.container.resolve(Authenticator)
        await service.set_role("sender", ["mail.*"])
        await add_user(kernel, "bob")
        await add_user(kernel, "eve", roles_=["sender"])
        assert (await kernel.client.post("/api/mailer/send")).status_code == 401
        csrf = (await login(kernel.client, "bob")).json()["csrf_token"]
        refused = await kernel.client.post("/api/mailer/send", headers={"X-CSRF-Token": csrf})
        assert refused.status_code == 403
        assert "mail.send" in refused.json()["detail"]
        csrf = (await login(kernel.client, "eve")).json()["csrf_token"]
        allowed = await kernel.client.post("/api/mailer/send", headers={"X-CSRF-Token": csrf})
        assert (allowed.status_code, allowed.text) == (201, "sent by eve")
        denial = (await service.audit_log(event="permission.denied"))[0]
        assert (denial["username"], denial["detail"]["permission"]) == ("bob", "mail.send")


async def test_a_token_can_do_only_what_its_scopes_allow(boot, plugin_factory):
    plugin_factory.make("mailer", GUARDED, requires=["auth"])
    async with boot(["mailer"]) as kernel:
        await add_user(kernel, admin=True)
        service = kernel.runtime.container.resolve(Authenticator)
        users = await service.list_users()
        _, narrow = await service.create_token(users[0]["id"], "read only", ["auth.audit.read"])
        _, wide = await service.create_token(users[0]["id"], "mailer", ["mail.send"])
        send = "/api/mailer/send"
        narrow_header = {"Authorization": f"Bearer {narrow}"}
        assert (await kernel.client.post(send, headers=narrow_header)).status_code == 403
        wide_header = {"Authorization": f"Bearer {wide}"}
        assert (await kernel.client.post(send, headers=wide_header)).status_code == 201


async def test_users_audit_and_roles_are_for_admins_only(boot):
    async with boot() as kernel:
        await add_user(kernel, "root", admin=True)
        await add_user(kernel, "bob")
        await login(kernel.client, "bob")
        assert (await kernel.client.get("/api/auth/users")).status_code == 403
        assert (await kernel.client.get("/api/auth/audit")).status_code == 403
        csrf = (await login(kernel.client, "root")).json()["csrf_token"]
        names = [u["username"] for u in (await kernel.client.get("/api/auth/users")).json()]
        assert names == ["bob", "root"]
        made = await kernel.client.post(
            "/api/auth/users",
            json={"username": "carol", "password": PASSWORD, "roles": ["sender"]},
            headers={"X-CSRF-Token": csrf},
        )
        assert made.status_code == 201 and made.json()["roles"] == ["sender"]
        permissions = (await kernel.client.get("/api/auth/permissions")).json()
        assert "kernel.plugins.reload" in permissions
        audit = (await kernel.client.get("/api/auth/audit", params={"event": "login"})).json()
        assert [e["username"] for e in audit] == ["root", "bob"]


async def test_management_api_needs_kernel_permissions_once_a_user_exists(boot):
    async with boot() as kernel:
        assert (await kernel.client.get("/api/kernel/plugins")).status_code == 200
        await add_user(kernel, "root", admin=True)
        await add_user(kernel, "bob")
        assert (await kernel.client.get("/api/kernel/plugins")).status_code == 401
        assert (await kernel.client.get("/health")).status_code == 200
        csrf = (await login(kernel.client, "bob")).json()["csrf_token"]
        reload = await kernel.client.post(
            "/api/kernel/plugins/auth/reload", headers={"X-CSRF-Token": csrf}
        )
        assert reload.status_code == 403 and "kernel.plugins.reload" in reload.json()["detail"]
        await login(kernel.client, "root")
        assert (await kernel.client.get("/api/kernel/plugins")).status_code == 200


NOTES = """
from litestar import post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy import Column, Integer, MetaData, String, Table, delete, insert, select
from mindframe.sdk import hookimpl
from mindframe.sdk.auth import IDENTITY, Identity, requires_login

metadata = MetaData()
notes = Table("notes_notes", metadata, Column("id", Integer, primary_key=True),
              Column("user_id", String(36)), Column("text", String(200)))
CTX = {}

@hookimpl
def register_tables(ctx):
    CTX["ctx"] = ctx
    return metadata

@hookimpl
def register_routes(ctx):
    @post("/notes", guards=[requires_login], dependencies={"identity": IDENTITY})
    async def add(identity: NamedDependency[Identity], data: JSONBody[dict]) -> None:
        async with ctx.session() as session:
            await session.execute(insert(notes).values(user_id=identity.user_id, text=data["text"]))
            await session.commit()
    return [add]

async def rows(ctx, user_id):
    async with ctx.session() as session:
        result = await session.execute(select(notes.c.text).where(notes.c.user_id == user_id))
        return list(result.scalars())

@hookimpl
async def export_personal_data(ctx, subject):
    return {"notes": await rows(ctx, subject.user_id)}

@hookimpl
async def erase_personal_data(ctx, subject):
    FLAKY
    async with ctx.session() as session:
        await session.execute(delete(notes).where(notes.c.user_id == subject.user_id))
        await session.commit()
"""


async def test_export_has_every_plugins_data_and_erasure_leaves_none_behind(boot, plugin_factory):
    plugin_factory.make("notes", NOTES.replace("FLAKY", "pass"), requires=["auth"])
    async with boot(["notes"]) as kernel:
        user = await add_user(kernel, email="ada@example.org")
        csrf = {"X-CSRF-Token": (await login(kernel.client)).json()["csrf_token"]}
        await kernel.client.post("/api/notes/notes", json={"text": "remember"}, headers=csrf)
        export = await kernel.client.get("/api/auth/me/export")
        assert export.headers["content-type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(export.content))
        assert {"auth.json", "notes.json", "export.json"} <= set(archive.namelist())
        assert json.loads(archive.read("notes.json")) == {"notes": ["remember"]}
        mine = json.loads(archive.read("auth.json"))
        assert mine["user"]["email"] == "ada@example.org" and "password_hash" not in mine["user"]

        erased = await kernel.client.delete("/api/auth/me", headers=csrf)
        assert erased.json()["complete"] is True
        assert {"auth", "notes"} <= set(erased.json()["erased"])
        outcomes = await kernel.runtime.container.resolve(
            __import__("mindframe.sdk", fromlist=["PluginHooks"]).PluginHooks
        ).call_each("export_personal_data", subject=_subject(user))
        leftovers = {o.plugin: o.result for o in outcomes}
        assert leftovers == {"auth": None, "notes": {"notes": []}}
        service = kernel.runtime.container.resolve(Authenticator)
        assert all(row["username"] != "ada" for row in await service.audit_log())
        assert (await login(kernel.client)).status_code == 401
        assert "erasure" in await audit_events(kernel)


def _subject(user):
    from mindframe.sdk import Subject

    return Subject(user_id=user["id"], username=user["username"], email=user["email"])


async def test_an_erasure_a_plugin_fails_is_reported_and_resumes(boot, plugin_factory, tmp_path):
    flag = tmp_path / "fail-once"
    flag.write_text("x")
    flaky = f"""import pathlib
    flag = pathlib.Path({str(flag)!r})
    if flag.exists():
        flag.unlink()
        raise RuntimeError("mail server down")"""
    plugin_factory.make("notes", NOTES.replace("FLAKY", flaky), requires=["auth"])
    async with boot(["notes"]) as kernel:
        admin = await add_user(kernel, "root", admin=True)
        user = await add_user(kernel, "ada")
        csrf = {"X-CSRF-Token": (await login(kernel.client, "root")).json()["csrf_token"]}
        first = (await kernel.client.delete(f"/api/auth/users/{user['id']}", headers=csrf)).json()
        assert first["complete"] is False
        assert first["failed"] == {"notes": "RuntimeError: mail server down"}
        assert "auth" in first["erased"]
        assert "erasure.incomplete" in await audit_events(kernel)
        second = (await kernel.client.delete(f"/api/auth/users/{user['id']}", headers=csrf)).json()
        assert second["complete"] is True
        names = [u["username"] for u in (await kernel.client.get("/api/auth/users")).json()]
        assert names == ["root"] and admin["username"] == "root"


async def test_a_password_nested_990_arrays_deep_is_a_400_naming_the_field(boot):
    async with boot() as kernel:
        nested = "[" * 990 + "]" * 990
        response = await kernel.client.post(
            "/api/auth/login",
            content='{"username": "a", "password": ' + nested + "}",
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"] == "Expected `str`, got `array` - at `$.password`"
