"""No credential makes a stronger one: tokens make tokens only within their own scopes,
account operations need a session or a scope naming them, and whoever makes or changes a
user or a role must hold everything it grants."""

import pytest
from auth_testlib import PASSWORD, add_user, csrf_of, service, token_of

pytestmark = pytest.mark.anyio


async def new_token(kernel, headers, scopes):
    return await kernel.client.post(
        "/api/auth/tokens", json={"name": "child", "scopes": scopes}, headers=headers
    )


async def test_a_token_without_the_create_scope_cannot_make_any_token(boot):
    async with boot() as kernel:
        root = await add_user(kernel, "root", admin=True)
        for scopes in ([], ["kernel.plugins.read"]):
            bearer = await token_of(kernel, "root", scopes)
            for wanted in (["*"], []):
                refused = await new_token(kernel, bearer, wanted)
                assert refused.status_code == 403, (scopes, wanted)
                assert "auth.tokens.create" in refused.json()["detail"]
        assert len(await service(kernel).list_tokens(root["id"])) == 2


async def test_a_token_makes_tokens_only_within_its_own_scopes(boot):
    async with boot() as kernel:
        await add_user(kernel, "root", admin=True)
        maker = await token_of(kernel, "root", ["auth.tokens.create", "kernel.plugins.*"])
        for beyond in (["*"], ["kernel.*"], ["kernel.plugins.read", "auth.users.manage"]):
            refused = await new_token(kernel, maker, beyond)
            assert refused.status_code == 403, beyond
            assert "you cannot grant" in refused.json()["detail"]
        assert (await new_token(kernel, maker, ["kernel.plugins.*"])).status_code == 201
        made = await new_token(kernel, maker, ["kernel.plugins.read"])
        assert made.status_code == 201
        child = {"Authorization": f"Bearer {made.json()['secret']}"}
        assert (await kernel.client.get("/api/kernel/plugins", headers=child)).status_code == 200
        reload = await kernel.client.post("/api/kernel/plugins/auth/reload", headers=child)
        assert reload.status_code == 403
        assert (await kernel.client.get("/api/auth/users", headers=child)).status_code == 403
        everything = await token_of(kernel, "root", ["*"])
        assert (await new_token(kernel, everything, ["*"])).status_code == 201


async def test_account_operations_need_a_session_or_a_scope_naming_them(boot):
    async with boot() as kernel:
        await add_user(kernel)
        narrow = await token_of(kernel, "ada", ["kernel.plugins.read"])
        assert (await kernel.client.get("/api/auth/me", headers=narrow)).status_code == 200
        password = {"current": PASSWORD, "new": "a brand new password"}
        for method, path, body in [
            ("GET", "/api/auth/tokens", None),
            ("GET", "/api/auth/me/export", None),
            ("POST", "/api/auth/me/password", password),
            ("DELETE", "/api/auth/me", None),
        ]:
            refused = await kernel.client.request(method, path, json=body, headers=narrow)
            assert refused.status_code == 403, path
        named = await token_of(kernel, "ada", ["auth.me.export", "auth.tokens.read"])
        assert (await kernel.client.get("/api/auth/tokens", headers=named)).status_code == 200
        assert (await kernel.client.get("/api/auth/me/export", headers=named)).status_code == 200
        await csrf_of(kernel.client)
        assert (await kernel.client.get("/api/auth/tokens")).status_code == 200


async def test_a_user_manager_makes_and_changes_only_users_and_roles_within_its_powers(boot):
    async with boot() as kernel:
        auth = service(kernel)
        root = await add_user(kernel, "root", admin=True)
        await auth.set_role("managers", ["auth.users.manage"])
        await auth.set_role("everything", ["*"])
        await add_user(kernel, "ops", roles_=["managers"])
        csrf = await csrf_of(kernel.client, "ops")
        users = "/api/auth/users"

        async def make(**fields):
            user = {"username": "mallory", "password": PASSWORD, **fields}
            return await kernel.client.post(users, json=user, headers=csrf)

        assert (await make(admin=True)).status_code == 403
        assert (await make(roles=["everything"])).status_code == 403
        plain = await make(roles=["managers"])
        assert plain.status_code == 201
        takeover = {"password": "ops knows this one now"}
        change = await kernel.client.patch(f"{users}/{root['id']}", json=takeover, headers=csrf)
        assert change.status_code == 403 and "'*'" in change.json()["detail"]
        mallory = f"{users}/{plain.json()['id']}"
        promote = await kernel.client.patch(mallory, json={"admin": True}, headers=csrf)
        assert promote.status_code == 403
        reset = await kernel.client.patch(mallory, json=takeover, headers=csrf)
        assert reset.status_code == 200
        assert (
            await kernel.client.delete(f"{users}/{root['id']}", headers=csrf)
        ).status_code == 403
        widen = await kernel.client.put(
            "/api/auth/roles/managers", json={"permissions": ["*"]}, headers=csrf
        )
        assert widen.status_code == 403
        narrow = await kernel.client.put(
            "/api/auth/roles/audit", json={"permissions": ["auth.users.manage"]}, headers=csrf
        )
        assert narrow.status_code == 200
        assert (await auth.list_roles())["everything"] == ["*"]
        assert (await auth.list_roles())["managers"] == ["auth.users.manage"]


async def test_an_administrators_token_scoped_to_user_management_cannot_make_an_admin(boot):
    async with boot() as kernel:
        await add_user(kernel, "root", admin=True)
        bearer = await token_of(kernel, "root", ["auth.users.manage"])
        admin = {"username": "mallory", "password": PASSWORD, "admin": True}
        refused = await kernel.client.post("/api/auth/users", json=admin, headers=bearer)
        assert refused.status_code == 403
        plain = {"username": "carol", "password": PASSWORD}
        assert (
            await kernel.client.post("/api/auth/users", json=plain, headers=bearer)
        ).status_code == 201
