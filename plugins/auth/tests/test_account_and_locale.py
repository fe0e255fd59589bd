"""Refusals in the request's language; an admin's export of another user; changing your own
password; the last administrator kept."""

import io
import json
import zipfile

import httpx
import pytest
from auth_testlib import NEW_PASSWORD, PASSWORD, add_user, login

from mindframe.sdk.auth import Authenticator

pytestmark = pytest.mark.anyio


def second_client(kernel) -> httpx.AsyncClient:
    """Another browser onto the same runtime, with its own cookies."""
    transport = httpx.ASGITransport(app=kernel.runtime.asgi)
    return httpx.AsyncClient(transport=transport, base_url="http://mindframe.test")


async def test_a_401_comes_back_in_norwegian_for_accept_language_nb(boot):
    async with boot(["auth", "i18n"]) as kernel:
        norwegian = {"Accept-Language": "nb-NO,nb;q=0.9,en;q=0.5"}
        refused = await kernel.client.get("/api/auth/me", headers=norwegian)
        assert refused.status_code == 401
        assert refused.json()["detail"] == "logg inn først: dette krever en innlogget bruker"
        wrong = await login(kernel.client, "nobody", **norwegian)
        assert (wrong.status_code, wrong.json()["detail"]) == (401, "feil brukernavn eller passord")
        english = await kernel.client.get("/api/auth/me")
        assert english.json()["detail"] == "sign in first: this needs a signed-in user"


async def test_a_lockout_says_when_in_the_requests_language(boot):
    async with boot(["auth", "i18n"], max_failed_logins=2) as kernel:
        await add_user(kernel, "ada")
        german = {"Accept-Language": "de"}
        for _ in range(2):
            await login(kernel.client, "ada", "wrong password", **german)
        locked = await login(kernel.client, "ada", **german)
        assert locked.status_code == 429
        detail = locked.json()["detail"]
        assert detail.startswith("zu viele fehlgeschlagene Anmeldungen; versuchen Sie es in ")
        assert detail.endswith("Minuten erneut")


async def test_a_signed_in_users_own_locale_beats_accept_language(boot):
    async with boot(["auth", "i18n"]) as kernel:
        await add_user(kernel, "root", admin=True)
        await add_user(kernel, "ada", locale="fi")
        await login(kernel.client, "ada")
        refused = await kernel.client.get("/api/auth/users", headers={"Accept-Language": "sv"})
        assert refused.status_code == 403
        assert refused.json()["detail"] == "tämä vaatii oikeuden ”auth.users.manage”"


async def test_without_i18n_refusals_are_as_written(boot):
    async with boot(["auth"]) as kernel:
        refused = await kernel.client.get("/api/auth/me", headers={"Accept-Language": "nb"})
        assert refused.json()["detail"] == "sign in first: this needs a signed-in user"


async def test_an_admin_exports_another_users_data_and_nobody_else_may(boot):
    async with boot() as kernel:
        await add_user(kernel, "root", admin=True)
        bob = await add_user(kernel, "bob", email="bob@example.org")
        await login(kernel.client, "bob")
        own = await kernel.client.get(f"/api/auth/users/{bob['id']}/export")
        assert own.status_code == 403
        await login(kernel.client, "root")
        export = await kernel.client.get(f"/api/auth/users/{bob['id']}/export")
        assert export.status_code == 200
        assert export.headers["content-type"] == "application/zip"
        assert bob["id"] in export.headers["content-disposition"]
        archive = zipfile.ZipFile(io.BytesIO(export.content))
        held = json.loads(archive.read("auth.json"))
        assert held["user"]["username"] == "bob" and held["user"]["email"] == "bob@example.org"
        assert "password_hash" not in held["user"]
        assert json.loads(archive.read("export.json"))["subject"]["user_id"] == bob["id"]
        missing = await kernel.client.get("/api/auth/users/no-such-id/export")
        assert missing.status_code == 404
        service = kernel.runtime.container.resolve(Authenticator)
        exports = await service.audit_log(event="export")
        assert [(row["username"], row["user_id"]) for row in exports] == [("bob", bob["id"])]


async def test_changing_your_password_needs_the_current_one_and_ends_your_other_sessions(boot):
    async with boot() as kernel, second_client(kernel) as other:
        await add_user(kernel, "ada")
        csrf = {"X-CSRF-Token": (await login(kernel.client, "ada")).json()["csrf_token"]}
        assert (await login(other, "ada")).status_code == 200
        assert (await other.get("/api/auth/me")).status_code == 200

        change = "/api/auth/me/password"
        wrong = await kernel.client.post(
            change, json={"current": "not it at all", "new": NEW_PASSWORD}, headers=csrf
        )
        assert (wrong.status_code, wrong.json()["detail"]) == (400, "the current password is wrong")
        short = await kernel.client.post(
            change, json={"current": PASSWORD, "new": "short"}, headers=csrf
        )
        assert short.status_code == 400 and "at least 8 characters" in short.json()["detail"]
        assert (await other.get("/api/auth/me")).status_code == 200

        changed = await kernel.client.post(
            change, json={"current": PASSWORD, "new": NEW_PASSWORD}, headers=csrf
        )
        assert changed.status_code == 204
        assert (await kernel.client.get("/api/auth/me")).status_code == 200
        ended = await other.get("/api/auth/me")
        assert ended.status_code == 401 and "session has ended" in ended.json()["detail"]
        assert (await login(other, "ada")).status_code == 401
        assert (await login(other, "ada", NEW_PASSWORD)).status_code == 200
        service = kernel.runtime.container.resolve(Authenticator)
        assert [row["event"] for row in await service.audit_log(event="password.changed")] == [
            "password.changed"
        ]


async def test_the_last_administrator_cannot_be_erased_or_demoted(boot):
    async with boot() as kernel:
        root = await add_user(kernel, "root", admin=True)
        csrf = {"X-CSRF-Token": (await login(kernel.client, "root")).json()["csrf_token"]}
        demote = await kernel.client.patch(
            f"/api/auth/users/{root['id']}", json={"admin": False}, headers=csrf
        )
        assert demote.status_code == 409 and "only administrator" in demote.json()["detail"]
        assert (await kernel.client.delete("/api/auth/me", headers=csrf)).status_code == 409
        second = await add_user(kernel, "ops", admin=True)
        erased = await kernel.client.delete(f"/api/auth/users/{second['id']}", headers=csrf)
        assert erased.json()["complete"] is True
        made = await add_user(kernel, "ops2", admin=True)
        demote = await kernel.client.patch(
            f"/api/auth/users/{made['id']}", json={"admin": False}, headers=csrf
        )
        assert (demote.status_code, demote.json()["is_admin"]) == (200, False)
