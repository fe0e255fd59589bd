"""A client signed in as a fresh user with chosen permissions, for tests of guarded routes.

It goes the way a browser does: the auth plugin creates the user (with a role holding the
permissions), `POST /api/auth/login` sets the session cookie, and every request carries
the CSRF token. The client talks `https://` so the auth plugin's `Secure` cookie is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AsyncExitStack
from typing import Any

import httpx

from mindframe.kernel.records import PluginState
from mindframe.kernel.runtime import Runtime

from .auth import Authenticator

AUTH_PLUGIN = "auth"
PASSWORD = "a test password, long enough"
CSRF_HEADER = "X-CSRF-Token"
FAST_PASSWORD_HASHING = {"argon2_time_cost": 1, "argon2_memory_cost": 8, "argon2_parallelism": 1}
"""The auth plugin's settings under the test harness: hashing a password takes
milliseconds instead of the production setting's tenth of a second and 64 MiB."""

HEADER_PERMISSIONS_PLUGIN = '''
from mindframe.sdk import hookimpl
from mindframe.sdk.auth import Authenticator, Identity, install_authenticator


class HeaderAuthenticator(Authenticator):
    """Tests only: whoever sends `X-Test-Permissions: a,b` holds permissions a and b."""

    async def authenticate(self, connection):
        granted = connection.headers.get("x-test-permissions")
        if granted is None:
            return None
        permissions = frozenset(p for p in granted.split(",") if p)
        return Identity(user_id="u1", username="tester", permissions=permissions)

    async def enforcing(self):
        return True

    async def permission_denied(self, connection, identity, permission):
        pass


@hookimpl
def startup(ctx):
    install_authenticator(ctx, HeaderAuthenticator())
'''
"""A plugin's `__init__.py` for `plugin_factory.make(name, HEADER_PERMISSIONS_PLUGIN)`: an
authenticator that enforces permissions and grants those a request names in its
`X-Test-Permissions` header, for tests of guards without the auth plugin's users."""


def _user_maker(runtime: Runtime) -> Any:
    """The auth plugin's service, which can create users and roles; a clear error when the
    kernel has no active auth plugin."""
    record = runtime.records.get(AUTH_PLUGIN)
    if record is None or record.state is not PluginState.ACTIVE:
        state = "not booted" if record is None else f"{record.state.value}: {record.error}"
        raise RuntimeError(
            f"kernel.as_user signs in through the auth plugin, which is {state} in this "
            f'kernel; add "{AUTH_PLUGIN}" to your plugin.toml\'s `requires` (or to '
            "boot_kernel([...]))"
        )
    maker = runtime.container.resolve(Authenticator)
    if not all(hasattr(maker, method) for method in ("create_user", "set_role")):
        raise RuntimeError(
            f"kernel.as_user needs the built-in auth plugin's Authenticator; this kernel's is "
            f"{type(maker).__qualname__}, which cannot create users"
        )
    return maker


async def signed_in_client(
    runtime: Runtime,
    exits: AsyncExitStack,
    username: str,
    permissions: Iterable[str],
    *,
    admin: bool = False,
    locale: str | None = None,
) -> httpx.AsyncClient:
    """A new user `username` holding `permissions`, and a client signed in as them; the
    client is closed when `exits` closes."""
    maker = _user_maker(runtime)
    granted = sorted(permissions)
    roles = [f"{username}-permissions"] if granted else []
    for role in roles:
        await maker.set_role(role, granted)
    await maker.create_user(username, PASSWORD, admin=admin, roles_=roles, locale=locale)
    client = await exits.enter_async_context(
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=runtime.asgi), base_url="https://mindframe.test"
        )
    )
    response = await client.post(
        f"/api/{AUTH_PLUGIN}/login", json={"username": username, "password": PASSWORD}
    )
    if response.status_code != 200:
        raise RuntimeError(
            f"kernel.as_user: signing in as {username!r} answered {response.status_code}: "
            f"{response.text}"
        )
    client.headers[CSRF_HEADER] = response.json()["csrf_token"]
    return client
