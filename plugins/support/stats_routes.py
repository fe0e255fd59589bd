"""HTTP for managers: first-response time, resolution time and CSAT per agent and per team,
`GET /api/support/stats/agents` and `/stats/teams`, over tickets opened in a period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from . import stats
from .access import MANAGE
from .service import SupportService

Since = Annotated[
    datetime | None, QueryParameter(description="tickets opened from (default: 30 days ago)")
]
Until = Annotated[datetime | None, QueryParameter(description="… until (default: now)")]


async def figures(
    service: SupportService, by: stats.By, since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    end = until or datetime.now(UTC)
    start = since or end - timedelta(days=30)
    return await service.ctx.transaction(
        stats.figures, by, _seconds(start), _seconds(end), read_only=True
    )


def _seconds(moment: datetime) -> float:
    return moment.replace(tzinfo=moment.tzinfo or UTC).timestamp()


@get("/stats/agents", guards=[MANAGE], summary="Per agent: response and resolution times, CSAT")
async def agent_figures(
    support_service: NamedDependency[SupportService], since: Since = None, until: Until = None
) -> list[dict[str, Any]]:
    return await figures(support_service, "agent", since, until)


@get("/stats/teams", guards=[MANAGE], summary="Per team: response and resolution times, CSAT")
async def team_figures(
    support_service: NamedDependency[SupportService], since: Since = None, until: Until = None
) -> list[dict[str, Any]]:
    return await figures(support_service, "team", since, until)


ROUTES = [agent_figures, team_figures]
