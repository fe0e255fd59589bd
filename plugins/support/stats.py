"""Figures per agent and per team: first-response time, resolution time (seconds, from the
ticket's opening) and CSAT over the tickets opened in a period, and the open tickets held now."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import ratings, tickets
from .states import ACTIVE

By = Literal["agent", "team"]


def _rounded(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def figures(session: Session, by: By, since: float, until: float) -> list[dict[str, Any]]:
    """One row per agent (or team) with anything to count in [since, until)."""
    opened = tickets.c.created_at.between(since, until)
    if by == "agent":
        first_key, resolved_key, held_key = (
            tickets.c.first_responder_id,
            tickets.c.resolved_by,
            tickets.c.assignee_id,
        )
        rated_key = ratings.c.agent_id
    else:
        first_key = resolved_key = held_key = tickets.c.team_id
        rated_key = ratings.c.team_id
    rows: dict[Any, dict[str, Any]] = {}

    def row(key: Any) -> dict[str, Any]:
        return rows.setdefault(
            key,
            {
                by: key,
                "open": 0,
                "first_responses": 0,
                "first_response_seconds": None,
                "resolved": 0,
                "resolution_seconds": None,
                "csat_count": 0,
                "csat_average": None,
            },
        )

    for key, count, seconds in session.execute(
        select(
            first_key, func.count(), func.avg(tickets.c.first_response_at - tickets.c.created_at)
        )
        .where(opened, tickets.c.first_response_at.is_not(None), first_key.is_not(None))
        .group_by(first_key)
    ):
        row(key).update(first_responses=count, first_response_seconds=_rounded(seconds))
    for key, count, seconds in session.execute(
        select(resolved_key, func.count(), func.avg(tickets.c.resolved_at - tickets.c.created_at))
        .where(opened, tickets.c.resolved_at.is_not(None), resolved_key.is_not(None))
        .group_by(resolved_key)
    ):
        row(key).update(resolved=count, resolution_seconds=_rounded(seconds))
    for key, count in session.execute(
        select(held_key, func.count())
        .where(tickets.c.status.in_(ACTIVE), held_key.is_not(None))  # now, not in the period
        .group_by(held_key)
    ):
        row(key)["open"] = count
    for key, count, average in session.execute(
        select(rated_key, func.count(), func.avg(ratings.c.score))
        .join(tickets, tickets.c.id == ratings.c.ticket_id)
        .where(opened, rated_key.is_not(None))
        .group_by(rated_key)
    ):
        row(key).update(csat_count=count, csat_average=_rounded(average))
    return [rows[key] for key in sorted(rows, key=str)]
