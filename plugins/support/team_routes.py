"""HTTP for teams and agents: teams with their members and mail address, agents' limits
and loads, under `/api/support/teams` and `/api/support/agents`."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import msgspec
from litestar import delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from mindframe.sdk.http import RowId
from mindframe.sdk.i18n import N_

from . import teams
from .access import AGENT, MANAGE
from .db import now
from .service import SupportService
from .views import refusal

NAME_TAKEN = N_("a team with that name or mail address exists")
NO_TEAM = N_("there is no team {team_id}")
AgentId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class NewTeam(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    mail_address: Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+$")] | None = None


class Members(msgspec.Struct, forbid_unknown_fields=True):
    agents: Annotated[list[AgentId], msgspec.Meta(max_length=500)]


class AgentSettings(msgspec.Struct, forbid_unknown_fields=True):
    max_concurrent: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None


@get("/teams", guards=[AGENT], summary="Teams and their members")
async def list_teams(support_service: NamedDependency[SupportService]) -> list[dict[str, Any]]:
    return await support_service.ctx.transaction(teams.all_teams, read_only=True)


@post("/teams", guards=[MANAGE], summary="A new team, with its own queue")
async def add_team(
    data: JSONBody[NewTeam], support_service: NamedDependency[SupportService]
) -> dict[str, Any]:
    team_id = await support_service.ctx.transaction(
        teams.add_team, data.name, data.mail_address, now()
    )
    if team_id is None:
        raise refusal(support_service, 409, NAME_TAKEN)
    return {"id": team_id, "name": data.name, "mail_address": data.mail_address, "members": []}


@put("/teams/{team_id:int}/members", guards=[MANAGE], summary="Set a team's members")
async def set_members(
    team_id: FromPath[RowId],
    data: JSONBody[Members],
    support_service: NamedDependency[SupportService],
) -> dict[str, Any]:
    if not await support_service.ctx.transaction(teams.set_members, team_id, data.agents):
        raise refusal(support_service, 404, NO_TEAM, team_id=team_id)
    support_service.wake_assignment()
    return {"id": team_id, "members": sorted(set(data.agents))}


@delete(
    "/teams/{team_id:int}",
    guards=[MANAGE],
    summary="Delete a team; its tickets go to the general queue",
)
async def remove_team(
    team_id: FromPath[RowId], support_service: NamedDependency[SupportService]
) -> None:
    if not await support_service.ctx.transaction(teams.remove_team, team_id):
        raise refusal(support_service, 404, NO_TEAM, team_id=team_id)
    support_service.wake_assignment()


@get("/agents", guards=[AGENT], summary="Agents with their limits, open tickets and presence")
async def list_agents(support_service: NamedDependency[SupportService]) -> list[dict[str, Any]]:
    known = {
        row["agent_id"]: row
        for row in await support_service.ctx.transaction(teams.all_agents, read_only=True)
    }
    present = {p.agent_id: p for p in await support_service.chat.agents_present()}
    default = support_service.settings.max_concurrent
    return [
        {
            "agent_id": agent_id,
            "name": (known.get(agent_id) or {}).get("name")
            or getattr(present.get(agent_id), "name", None),
            "max_concurrent": (known.get(agent_id) or {}).get("max_concurrent") or default,
            "load": (known.get(agent_id) or {}).get("load", 0),
            "presence": present[agent_id].status if agent_id in present else "offline",
        }
        for agent_id in sorted(set(known) | set(present))
    ]


@put("/agents/{agent_id:str}", guards=[MANAGE], summary="Set an agent's limit of open tickets")
async def set_agent(
    agent_id: FromPath[str],
    data: JSONBody[AgentSettings],
    support_service: NamedDependency[SupportService],
) -> dict[str, Any]:
    values = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
    await support_service.ctx.transaction(partial(teams.set_agent, **values), agent_id)
    support_service.wake_assignment()
    return {"agent_id": agent_id, **values}


ROUTES = [list_teams, add_team, set_members, remove_team, list_agents, set_agent]
