"""GDPR: decisions made about a person (`subject` given to `decide`) are exported with
their contexts and rewards, and erased by dropping the context and the subject; the action,
propensity and reward stay, as counts no longer about anyone."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mindframe.sdk import Subject

from .engine import Engine
from .models import decisions, rewards


async def export(engine: Engine, subject: Subject) -> dict[str, Any]:
    await engine.log.flush()
    return {"decisions": await engine.ctx.transaction(_export, subject.user_id, read_only=True)}


async def erase(engine: Engine, subject: Subject) -> None:
    await engine.log.flush()
    await engine.ctx.transaction(_erase, subject.user_id)


def _export(session: Session, user_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(decisions, rewards.c.value)
        .outerjoin(rewards, rewards.c.decision_id == decisions.c.id)
        .where(decisions.c.subject == user_id)
        .order_by(decisions.c.seq)
    ).all()
    return [
        {
            "decision_id": row.id,
            "policy": row.policy,
            "action": row.action,
            "propensity": row.propensity,
            "context": msgspec.json.decode(row.context) if row.context is not None else None,
            "made_at": row.made_at,
            "reward": row.value,
        }
        for row in rows
    ]


def _erase(session: Session, user_id: str) -> None:
    session.execute(
        update(decisions).where(decisions.c.subject == user_id).values(context=None, subject=None)
    )
