"""Who may do what: `support.agent` works tickets (reads, takes, replies, changes status);
`support.manage` also assigns others, runs teams, agents' limits and canned responses, and
reads the figures. Whoever may manage may work tickets too."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from mindframe.sdk.auth import current_identity, requires_permission

PERMISSIONS = {
    "support.agent": "Work support tickets: read, take, reply, change their status",
    "support.manage": (
        "Assign tickets to others, run teams and agents' limits, write canned responses, "
        "see the support figures"
    ),
}

MANAGE = requires_permission("support.manage")
_agent_only = requires_permission("support.agent")


async def AGENT(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """`support.agent`, or `support.manage`."""
    identity = await current_identity(connection)
    if identity is not None and identity.can("support.manage"):
        return
    await _agent_only(connection, handler)
