"""GDPR: the events that name a person (as the SDKs' `user`: id, e-mail or username), for
export and erasure. Erasing deletes those events and the person's entry among each issue's
affected users; the issues' counts stay, as they name nobody.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from mindframe.sdk import PluginContext, Subject

from .digest_store import recount_users
from .models import events, issue_users
from .reading import event_row


def _about(subject: Subject) -> Any:
    conditions = [events.c.user_id == subject.user_id]
    if subject.email:
        conditions.append(events.c.user_email == subject.email)
    if subject.username:
        conditions.append(events.c.user_name == subject.username)
    return or_(*conditions)


async def export(ctx: PluginContext, subject: Subject) -> dict[str, Any]:
    return {"events": await ctx.transaction(_export, subject, read_only=True)}


async def erase(ctx: PluginContext, subject: Subject) -> None:
    await ctx.transaction(_erase, subject)


def _export(session: Session, subject: Subject) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            events.c.event_id,
            events.c.project_id,
            events.c.issue_id,
            events.c.timestamp,
            events.c.title,
            events.c.data,
        )
        .where(_about(subject))
        .order_by(events.c.id)
    ).mappings()
    return [event_row(row) for row in rows]


def _erase(session: Session, subject: Subject) -> None:
    rows = session.execute(
        select(events.c.id, events.c.issue_id, events.c.user_key).where(_about(subject))
    ).all()
    keys = {(issue_id, key) for _, issue_id, key in rows if key}
    for issue_id, key in keys:
        session.execute(
            delete(issue_users).where(
                issue_users.c.issue_id == issue_id, issue_users.c.user_key == key
            )
        )
    ids = [row_id for row_id, _, _ in rows]
    for start in range(0, len(ids), 1000):
        session.execute(delete(events).where(events.c.id.in_(ids[start : start + 1000])))
    if keys:
        recount_users(session, list({issue_id for issue_id, _ in keys}))
