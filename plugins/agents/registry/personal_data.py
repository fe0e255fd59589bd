"""GDPR: what this plugin stores about a person, and erasing it.

A person's export holds the runs they asked for (ids, agents, times, statuses: no inputs are
kept) and every access audit entry about their health data (who looked, when, why). Erasure
removes their name from the runs they asked for; the access audit is kept whole, as the
record of access that the law requires of health data (GDPR Art. 17(3)(b)), and because
changing it would break its chain.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from mindframe.sdk import PluginContext, Subject

from .audit import utc
from .models import audit, audit_subjects, runs


def _names(subject: Subject) -> list[str]:
    return [name for name in (subject.user_id, subject.username) if name]


async def export(ctx: PluginContext, subject: Subject) -> dict[str, Any]:
    asked = select(
        runs.c.id, runs.c.agent, runs.c.status, runs.c.started_at, runs.c.finished_at
    ).where(runs.c.requested_by == subject.username)
    named = select(audit_subjects.c.seq).where(audit_subjects.c.subject.in_(_names(subject)))
    about = select(audit).where(audit.c.seq.in_(named))
    async with ctx.session() as session:
        asked_rows = (await session.execute(asked.order_by(runs.c.started_at))).mappings().all()
        about_rows = (await session.execute(about.order_by(audit.c.seq))).mappings().all()
    return {
        "runs_requested": [
            {
                "run_id": row["id"],
                "agent": row["agent"],
                "status": row["status"],
                "started_at": utc(row["started_at"]).isoformat(),
                "finished_at": utc(row["finished_at"]).isoformat() if row["finished_at"] else None,
            }
            for row in asked_rows
        ],
        "health_data_accesses": [
            {
                "at": utc(row["at"]).isoformat(),
                "who": row["who"],
                "agent": row["agent"],
                "run_id": row["run_id"],
                "purpose": row["purpose"],
                "action": row["action"],
            }
            for row in about_rows
        ],
    }


async def erase(ctx: PluginContext, subject: Subject) -> None:
    if not subject.username:
        return
    async with ctx.session() as session:
        await session.execute(
            update(runs).where(runs.c.requested_by == subject.username).values(requested_by=None)
        )
        await session.commit()
