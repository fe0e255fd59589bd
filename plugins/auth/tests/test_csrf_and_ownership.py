"""Every unsafe auth route refuses a signed-in browser that leaves out its CSRF token, and a
user's tokens are theirs alone to revoke."""

import re

import pytest
from auth_testlib import add_user, csrf_of, service, token_of
from mindframe_plugins.auth import register_routes

pytestmark = pytest.mark.anyio
SAFE = {"GET", "HEAD", "OPTIONS"}


def unsafe_signed_in_routes() -> list[tuple[str, str]]:
    """(method, path) of every auth route that authenticates and changes something, its
    path parameters filled in: new routes are covered without editing this test."""
    found = set()
    for handler in register_routes(None):
        if not handler.guards:
            continue
        for method in handler.http_methods - SAFE:
            for path in handler.paths:
                found.add((method, re.sub(r"\{(\w+):\w+\}", r"some-\1", path)))
    return sorted(found)


@pytest.mark.parametrize(("method", "path"), unsafe_signed_in_routes())
async def test_a_cookie_request_without_its_csrf_token_is_refused(boot, method, path):
    async with boot() as kernel:
        await add_user(kernel, "root", admin=True)
        await csrf_of(kernel.client, "root")
        refused = await kernel.client.request(method, f"/api/auth{path}", json={})
        assert refused.status_code == 403, refused.text
        assert "x-csrf-token" in refused.json()["detail"]
        assert await service(kernel).user_by_name("root") is not None


def test_the_routes_checked_include_every_unsafe_method_and_erasing_yourself():
    routes = unsafe_signed_in_routes()
    assert {"DELETE", "PUT", "PATCH", "POST"} <= {method for method, _ in routes}
    assert ("DELETE", "/me") in routes


async def test_a_user_cannot_revoke_another_users_token(boot):
    async with boot() as kernel:
        ada = await add_user(kernel, "ada")
        await add_user(kernel, "bob")
        adas = await token_of(kernel, "ada", [])
        (token,) = await service(kernel).list_tokens(ada["id"])
        csrf = await csrf_of(kernel.client, "bob")
        refused = await kernel.client.delete(f"/api/auth/tokens/{token['id']}", headers=csrf)
        assert refused.status_code == 404
        kernel.client.cookies.clear()
        still = await kernel.client.get("/api/auth/me", headers=adas)
        assert (still.status_code, still.json()["username"]) == (200, "ada")
        assert [t["revoked_at"] for t in await service(kernel).list_tokens(ada["id"])] == [None]
