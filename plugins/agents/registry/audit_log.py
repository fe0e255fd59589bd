"""`AccessAudit`: reading and verifying the access audit (writing goes through the store, in
the same transactions as the runs it is about)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from mindframe.sdk import PluginContext

from . import audit
from .audit import utc
from .models import audit as audit_table
from .models import audit_subjects
from .sealing import Sealer


class AccessAudit:
    def __init__(self, ctx: PluginContext, settled: Callable[[], Awaitable[None]]) -> None:
        self._ctx = ctx
        self._settled = settled
        """Waits for entries written behind a run's answer: every read starts with it."""
        self.sealer: Sealer | None = None

    async def subjects_of(self, run_id: str) -> list[str]:
        """Whose data run `run_id` was about, as its `run` entry recorded."""
        await self._settled()
        query = (
            select(audit_subjects.c.subject)
            .join(audit_table, audit_table.c.seq == audit_subjects.c.seq)
            .where(audit_table.c.run_id == run_id, audit_table.c.action == "run")
            .order_by(audit_subjects.c.seq, audit_subjects.c.position)
        )
        async with self._ctx.session() as session:
            found = list((await session.execute(query)).scalars())
        return list(dict.fromkeys(found))  # a resumed run's entries name the same subjects

    async def entries(
        self,
        *,
        agent: str | None = None,
        subject: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Rows in order, after sequence number `after`, each with its `subjects`; filtered
        by agent, and by a subject among them."""
        await self._settled()
        query = select(audit_table).where(audit_table.c.seq > after)
        if agent is not None:
            query = query.where(audit_table.c.agent == agent)
        if subject is not None:
            about = select(audit_subjects.c.seq).where(audit_subjects.c.subject == subject)
            query = query.where(audit_table.c.seq.in_(about))
        async with self._ctx.session() as session:
            rows = await session.execute(query.order_by(audit_table.c.seq).limit(limit))
            found = [_entry(row) for row in rows.mappings()]
            subjects = await subjects_by_seq(session, [row["seq"] for row in found])
        for row in found:
            row["subjects"] = subjects.get(row["seq"], [])
        return found

    async def verify(self) -> audit.Verification:
        """Check the whole chain (see `audit.verify`)."""
        await self._settled()
        assert self.sealer is not None, "the agents plugin is not started"
        key = self.sealer.audit_key

        def walk(session: Session) -> audit.Verification:
            return audit.verify(session, key)

        return await self._ctx.transaction(walk, read_only=True)


async def subjects_by_seq(session: AsyncSession, seqs: list[int]) -> dict[int, list[str]]:
    """The subjects of the audit rows `seqs`, in order, by row."""
    if not seqs:
        return {}
    query = (
        select(audit_subjects.c.seq, audit_subjects.c.subject)
        .where(audit_subjects.c.seq.in_(seqs))
        .order_by(audit_subjects.c.seq, audit_subjects.c.position)
    )
    found: dict[int, list[str]] = {}
    for seq, subject in await session.execute(query):
        found.setdefault(seq, []).append(subject)
    return found


def _entry(row: Any) -> dict[str, Any]:
    found = dict(row)
    at: datetime = found["at"]
    found["at"] = utc(at)
    return found
