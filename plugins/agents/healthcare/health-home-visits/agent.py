"""Home visits: which nurse of a home-care team visits whom, in what order and when, so
that every visit starts inside its time window, everyone is back by the end of the shift,
and the team spends as little time on the road and waiting as it can."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import msgspec

from mindframe.sdk.agents import Agent, AgentError, Run
from mindframe.sdk.i18n import N_

from .routing import DAY, Plan, Shift, Visit, solve

MAX_VISITS = 200
SEARCH_SECONDS_PER_VISIT = 0.1
"""Guided local search runs until its time is up: a small day needs little of it."""
Minute = Annotated[
    int, msgspec.Meta(ge=0, le=DAY, description=N_("Minutes after midnight"), examples=[480])
]


class Nurse(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    nurse_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    shift_start: Annotated[
        Minute, msgspec.Meta(description=N_("When the nurse may leave the base"))
    ]
    shift_end: Annotated[Minute, msgspec.Meta(description=N_("When the nurse must be back"))]


class HomeVisit(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    visit_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    earliest: Annotated[Minute, msgspec.Meta(description=N_("Earliest start of the visit"))]
    latest: Annotated[Minute, msgspec.Meta(description=N_("Latest start of the visit"))]
    duration: Annotated[int, msgspec.Meta(ge=1, le=600, description=N_("Minutes the visit takes"))]


class HomeVisitRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    team_id: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=100, description=N_("The home-care team or district")
        ),
    ]
    nurses: Annotated[list[Nurse], msgspec.Meta(min_length=1, max_length=50)]
    visits: Annotated[list[HomeVisit], msgspec.Meta(min_length=1, max_length=MAX_VISITS)]
    travel_minutes: Annotated[
        list[
            Annotated[
                list[Annotated[int, msgspec.Meta(ge=0, le=DAY)]],
                msgspec.Meta(max_length=MAX_VISITS + 1),
            ]
        ],
        msgspec.Meta(
            max_length=MAX_VISITS + 1,
            description=N_(
                "Minutes of travel from each place to each: the base first, then the visits "
                "in the order given"
            ),
        ),
    ]
    time_limit_seconds: Annotated[
        float,
        msgspec.Meta(
            gt=0,
            le=60,
            description=N_("Most time to search for shorter routes (0.1 s a visit at most)"),
        ),
    ] = 5.0


class Stop(msgspec.Struct, kw_only=True):
    visit_id: str
    arrive: Annotated[int, msgspec.Meta(description=N_("Minutes after midnight"))]
    start: int
    end: int
    wait: Annotated[int, msgspec.Meta(description=N_("Minutes waited for the window to open"))]


class NurseRoute(msgspec.Struct, kw_only=True):
    nurse_id: str
    leave: int
    back: int
    stops: list[Stop]
    travel_minutes: int
    route_minutes: Annotated[
        int, msgspec.Meta(description=N_("From leaving the base to coming back"))
    ]


class HomeVisitPlan(msgspec.Struct, kw_only=True):
    routes: list[NurseRoute]
    unplanned: Annotated[
        list[str], msgspec.Meta(description=N_("Visits no route could fit in their window"))
    ]
    travel_minutes: int
    route_minutes: int
    summary: str


def visit_ids(data: HomeVisitRequest) -> list[str]:
    """The audit's subjects: the visit to each patient planned."""
    return [visit.visit_id for visit in data.visits]


def refuse_inconsistent(data: HomeVisitRequest, run: Run) -> None:
    places = len(data.visits) + 1
    if len(data.travel_minutes) != places or any(len(row) != places for row in data.travel_minutes):
        raise AgentError(
            run.gettext(
                "travel_minutes must have {places} rows of {places} minutes: the base and "
                "each visit"
            ).format(places=places)
        )
    for values, message in (
        ([v.visit_id for v in data.visits], N_("The visit {name} is given twice")),
        ([n.nurse_id for n in data.nurses], N_("The nurse {name} is given twice")),
    ):
        twice = sorted(value for value, count in Counter(values).items() if count > 1)
        if twice:
            raise AgentError(run.gettext(message).format(name=twice[0]))
    for visit in data.visits:
        if visit.earliest > visit.latest:
            raise AgentError(
                run.gettext("Visit {visit} has its earliest start after its latest").format(
                    visit=visit.visit_id
                )
            )
    for nurse in data.nurses:
        if nurse.shift_start >= nurse.shift_end:
            raise AgentError(
                run.gettext("Nurse {nurse} has a shift that ends before it starts").format(
                    nurse=nurse.nurse_id
                )
            )


def plan_of(data: HomeVisitRequest, plan: Plan, run: Run) -> HomeVisitPlan:
    routes = []
    for route in plan.routes:
        stops = [
            Stop(
                visit_id=data.visits[stop.visit].visit_id,
                arrive=stop.arrive,
                start=stop.start,
                end=stop.end,
                wait=stop.start - stop.arrive,
            )
            for stop in route.stops
        ]
        routes.append(
            NurseRoute(
                nurse_id=data.nurses[route.nurse].nurse_id,
                leave=route.leave,
                back=route.back,
                stops=stops,
                travel_minutes=route.travel,
                route_minutes=route.back - route.leave,
            )
        )
    unplanned = [data.visits[i].visit_id for i in plan.dropped]
    planned = len(data.visits) - len(unplanned)
    summary = run.ngettext(
        "{count} visit planned on {routes} routes.",
        "{count} visits planned on {routes} routes.",
        planned,
    ).format(count=planned, routes=len(routes))
    if unplanned:
        summary += " " + run.ngettext(
            "{count} visit fits no route: see unplanned.",
            "{count} visits fit no route: see unplanned.",
            len(unplanned),
        ).format(count=len(unplanned))
    return HomeVisitPlan(
        routes=routes,
        unplanned=unplanned,
        travel_minutes=sum(r.travel_minutes for r in routes),
        route_minutes=sum(r.route_minutes for r in routes),
        summary=summary,
    )


async def run(data: HomeVisitRequest, run: Run) -> HomeVisitPlan:
    refuse_inconsistent(data, run)
    visits = [Visit(v.earliest, v.latest, v.duration) for v in data.visits]
    shifts = [Shift(n.shift_start, n.shift_end) for n in data.nurses]
    budget = min(data.time_limit_seconds, SEARCH_SECONDS_PER_VISIT * len(visits))
    plan = await run.thread(solve, data.travel_minutes, visits, shifts, budget)
    if plan.outcome == "unsolved":
        raise AgentError(run.gettext("No routes were found within the time limit: allow more time"))
    return plan_of(data, plan, run)


AGENT = Agent(
    industry="healthcare",
    title=N_("Home-visit routes"),
    description=N_(
        "Plans the day's home visits of a home-care team: which nurse makes each visit, in "
        "what order and when, every visit started inside its time window and every nurse "
        "back by the end of the shift, with as little travel and waiting as it can find "
        "(vehicle routing with time windows, OR-Tools)."
    ),
    input=HomeVisitRequest,
    output=HomeVisitPlan,
    run=run,
    health_data=True,  # who gets home care, when, is patients' health data
    subject=visit_ids,
)
