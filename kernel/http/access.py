"""Who may use the kernel's management surface, and who may see its errors.

Until an authenticator enforces sign-in (an auth plugin with at least one user), the
management API answers only a client on this machine that connected directly; then it
needs `kernel.*` permissions. Errors, tracebacks and file paths (in `/health` and in a
failed plugin's 503) are shown to the same people and no one else.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException

AUTHENTICATOR_SERVICE = "authenticator"  # the key of `mindframe.sdk.auth.Authenticator`
READ_PERMISSION = "kernel.plugins.read"
FORWARDING_HEADERS = frozenset({b"x-forwarded-for", b"forwarded"})


def is_direct_loopback(scope: Any) -> bool:
    """Whether the request comes from this machine and no proxy relayed it.

    The address is the one the server settled on (`trusted_proxies` decides whether it
    follows X-Forwarded-For). A forwarding header on a loopback request means a proxy on
    this machine relayed it for someone else, whoever that is, so it does not count as
    local: without that, a proxy missing from `trusted_proxies` would open the management
    API to everyone it serves."""
    client = scope.get("client")
    if not client:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback and not any(
        name in FORWARDING_HEADERS for name, _ in scope.get("headers", ())
    )


async def enforcing_authenticator(container: Any) -> Any | None:
    """The runtime's authenticator if it enforces sign-in (it has users), else None."""
    registration = container.by_key(AUTHENTICATOR_SERVICE) if container is not None else None
    authenticator = registration.get() if registration is not None else None
    if authenticator is None or not await authenticator.enforcing():
        return None
    return authenticator


async def may_see_errors(connection: ASGIConnection, container: Any) -> bool:
    """Whether this client may read errors, tracebacks and file paths: a direct loopback
    client while no authenticator enforces sign-in, else a user who may read the
    management API (`kernel.plugins.read`)."""
    authenticator = await enforcing_authenticator(container)
    if authenticator is None:
        return is_direct_loopback(connection.scope)
    try:
        identity = await authenticator.authenticate(connection)
    except HTTPException:  # a wrong, expired or revoked credential sees what anyone sees
        return False
    return identity is not None and identity.can(READ_PERMISSION)
