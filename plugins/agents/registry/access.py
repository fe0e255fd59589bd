"""Who may see, steer and answer a run: the checks behind `/api/agents/runs/…`.

A run of an ordinary agent is reached by its id (unguessable) alone. A run of a health-data
agent needs a signed-in user holding the agent's run permission (or `agents.read`), and
every look at it is written to the access audit. Answering a proposal needs the agent's
`approver` permission.
"""

from __future__ import annotations

from datetime import UTC, datetime

from litestar.connection import ASGIConnection

from mindframe.sdk.agents import AuditEntry, RegisteredAgent, RunStore
from mindframe.sdk.auth import Identity, authorized, current_identity

from .audit_log import AccessAudit

READ_ANY = "agents.read"


async def may_see(
    connection: ASGIConnection,
    entry: RegisteredAgent,
    store: RunStore,
    audit: AccessAudit,
    run_id: str,
) -> Identity | None:
    """Let the request see (or cancel, or reward) run `run_id` of `entry`; for a
    health-data agent, only with its permission, and audited."""
    agent = entry.agent
    if not agent.health_data:
        return await current_identity(connection)
    permission = agent.run_permission(entry.name) or READ_ANY
    identity = await authorized(connection)
    if not identity.can(READ_ANY):
        identity = await authorized(connection, permission)
    await store.audit(
        AuditEntry(
            at=datetime.now(UTC),
            who=identity.username,
            agent=entry.name,
            run_id=run_id,
            subjects=await audit.subjects_of(run_id),
            purpose=connection.query_params.get("purpose") or agent.purpose,
            action="read",
        )
    )
    return identity
