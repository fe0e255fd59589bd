"""`AccessAudit`: reading and verifying the access audit (writing goes through the store, in
the same transactions as the runs it is about)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mindframe.sdk import PluginContext

from . import audit
from .audit import utc
from .models import audit as audit_table
from .sealing import Sealer


class AccessAudit:
    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        self.sealer: Sealer | None = None

    async def subject_of(self, run_id: str) -> str | None:
        """Whose data run `run_id` was about, as its `run` entry recorded."""
        query = select(audit_table.c.subject).where(
            audit_table.c.run_id == run_id, audit_table.c.action == "run"
        )
        async with self._ctx.session() as session:
            return (await session.execute(query.limit(1))).scalar()

    async def entries(
        self,
        *,
        agent: str | None = None,
        subject: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Rows in order, after sequence number `after`, filtered by agent and subject."""
        query = select(audit_table).where(audit_table.c.seq > after)
        if agent is not None:
            query = query.where(audit_table.c.agent == agent)
        if subject is not None:
            query = query.where(audit_table.c.subject == subject)
        async with self._ctx.session() as session:
            rows = await session.execute(query.order_by(audit_table.c.seq).limit(limit))
            return [_entry(row) for row in rows.mappings()]

    async def verify(self) -> audit.Verification:
        """Check the whole chain (see `audit.verify`)."""
        assert self.sealer is not None, "the agents plugin is not started"
        key = self.sealer.audit_key

        def walk(session: Session) -> audit.Verification:
            return audit.verify(session, key)

        return await self._ctx.transaction(walk)


def _entry(row: Any) -> dict[str, Any]:
    found = dict(row)
    at: datetime = found["at"]
    found["at"] = utc(at)
    return found
