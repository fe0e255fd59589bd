"""What the auth tests share: cheap Argon2 settings, a user, a login, the audit trail."""

from __future__ import annotations

from typing import Any

import httpx

from mindframe.sdk.auth import Authenticator

FAST = {
    "argon2_time_cost": 1,
    "argon2_memory_cost": 8,
    "argon2_parallelism": 1,
    "max_failed_logins": 3,
    "cookie_secure": False,
}
PASSWORD = "correct horse battery"
NEW_PASSWORD = "battery staple horse"


def service(kernel: Any) -> Any:
    """The auth plugin's `AuthService` in `kernel`."""
    return kernel.runtime.container.resolve(Authenticator)


async def add_user(kernel: Any, username: str = "ada", **options: Any) -> dict[str, Any]:
    return await service(kernel).create_user(username, PASSWORD, **options)


async def login(
    client: httpx.AsyncClient, username: str = "ada", password: str = PASSWORD, **headers: str
) -> httpx.Response:
    return await client.post(
        "/api/auth/login", json={"username": username, "password": password}, headers=headers
    )


async def csrf_of(client: httpx.AsyncClient, username: str = "ada") -> dict[str, str]:
    """Sign `username` in on `client`; the header their unsafe requests must carry."""
    response = await login(client, username)
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}


async def token_of(kernel: Any, username: str, scopes: list[str]) -> dict[str, str]:
    """A bearer header for a new token of `username` limited to `scopes`."""
    user = await service(kernel).user_by_name(username)
    _, secret = await service(kernel).create_token(user["id"], "test", scopes)
    return {"Authorization": f"Bearer {secret}"}


async def audit_events(kernel: Any) -> list[str]:
    return [row["event"] for row in await service(kernel).audit_log()]
