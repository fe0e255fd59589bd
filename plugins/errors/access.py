"""Who may do what: the plugin's permissions and the guards that check them.

`errors.manage` changes projects, keys and issues; `errors.read` reads issues and events
(they hold personal data: users, requests, local variables). Whoever may manage may read.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from mindframe.sdk.auth import current_identity, requires_permission

PERMISSIONS = {
    "errors.read": "See error issues and their events (user and request data included)",
    "errors.manage": (
        "Create projects and keys, upload release files, resolve, ignore and merge issues"
    ),
}

MANAGE = requires_permission("errors.manage")
_read_only = requires_permission("errors.read")


async def READ(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """`errors.read`, or `errors.manage`."""
    identity = await current_identity(connection)
    if identity is not None and identity.can("errors.manage"):
        return
    await _read_only(connection, handler)
