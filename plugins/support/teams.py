"""Teams (each with its own queue and, optionally, the address its mail arrives at) and
agents' own limits. Units of work for `ctx.transaction`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from .db import insert_if_absent
from .models import agents, team_members, teams, tickets
from .states import ACTIVE


def all_teams(session: Session) -> list[dict[str, Any]]:
    members: dict[int, list[str]] = {}
    for team_id, agent_id in session.execute(
        select(team_members.c.team_id, team_members.c.agent_id).order_by(team_members.c.agent_id)
    ):
        members.setdefault(team_id, []).append(agent_id)
    rows = session.execute(select(teams).order_by(teams.c.name)).mappings()
    return [{**row, "members": members.get(row["id"], [])} for row in rows]


def add_team(session: Session, name: str, mail_address: str | None, at: float) -> int | None:
    """The new team's id; None when the name or the address is another team's."""
    taken = select(teams.c.id).where(
        (teams.c.name == name) | (func.lower(teams.c.mail_address) == (mail_address or "").lower())
    )
    if session.execute(taken).first() is not None:
        return None
    values = {"name": name, "mail_address": mail_address or None, "created_at": at}
    return session.execute(insert(teams).values(values)).inserted_primary_key[0]


def set_members(session: Session, team_id: int, agent_ids: list[str]) -> bool:
    if session.execute(select(teams.c.id).where(teams.c.id == team_id)).first() is None:
        return False
    session.execute(delete(team_members).where(team_members.c.team_id == team_id))
    for agent_id in dict.fromkeys(agent_ids):
        session.execute(insert(team_members).values(team_id=team_id, agent_id=agent_id))
    return True


def remove_team(session: Session, team_id: int) -> bool:
    """Delete the team; its tickets go to the general queue."""
    gone = session.execute(delete(teams).where(teams.c.id == team_id))
    session.execute(delete(team_members).where(team_members.c.team_id == team_id))
    session.execute(update(tickets).where(tickets.c.team_id == team_id).values(team_id=None))
    return gone.rowcount == 1


def team_exists(session: Session, team_id: int) -> bool:
    return session.execute(select(teams.c.id).where(teams.c.id == team_id)).first() is not None


def set_agent(session: Session, agent_id: str, **values: Any) -> None:
    insert_if_absent(session, agents, {"agent_id": agent_id})
    if values:
        session.execute(update(agents).where(agents.c.agent_id == agent_id).values(**values))


def all_agents(session: Session) -> list[dict[str, Any]]:
    """Every agent the plugin knows, with the open tickets they hold."""
    loads = dict(
        session.execute(
            select(tickets.c.assignee_id, func.count())
            .where(tickets.c.assignee_id.is_not(None), tickets.c.status.in_(ACTIVE))
            .group_by(tickets.c.assignee_id)
        ).all()
    )
    rows = session.execute(select(agents).order_by(agents.c.agent_id)).mappings()
    return [{**row, "load": loads.get(row["agent_id"], 0)} for row in rows]
