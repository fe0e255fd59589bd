"""Nurse roster: who works which shift over the coming days, meeting cover, skills, rest
and fairness at the least pay, solved with OR-Tools' CP-SAT."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import msgspec

from mindframe.sdk.agents import Agent, AgentError, Run
from mindframe.sdk.i18n import N_

from .roster import Solution, solve

MAX_DAYS = 31
Day = Annotated[int, msgspec.Meta(ge=0, lt=MAX_DAYS, description=N_("Day of the roster, from 0"))]


class ShiftType(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, examples=["night"])]
    start_hour: Annotated[int, msgspec.Meta(ge=0, le=23, description=N_("Hour the shift starts"))]
    hours: Annotated[int, msgspec.Meta(ge=1, le=16, description=N_("Length of the shift in hours"))]
    unsocial: Annotated[
        bool, msgspec.Meta(description=N_("Nights and the like, shared out fairly"))
    ] = False


class Nurse(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    nurse_id: Annotated[str, msgspec.Meta(min_length=1)]
    skills: Annotated[list[str], msgspec.Meta(description=N_("Skills the nurse has"))] = []
    hourly_cost: Annotated[float, msgspec.Meta(ge=0, description=N_("Pay per hour worked"))] = 1.0
    min_shifts: Annotated[
        int, msgspec.Meta(ge=0, description=N_("Fewest shifts in the roster"))
    ] = 0
    max_shifts: Annotated[int, msgspec.Meta(ge=0, description=N_("Most shifts in the roster"))]
    unavailable: Annotated[list[int], msgspec.Meta(description=N_("Days off, from 0"))] = []


class Cover(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    day: Day
    shift: str
    nurses: Annotated[int, msgspec.Meta(ge=0, le=200, description=N_("Nurses needed"))]
    skill: Annotated[
        str | None,
        msgspec.Meta(description=N_("Only nurses with this skill count; any when empty")),
    ] = None


class RosterRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    days: Annotated[int, msgspec.Meta(ge=1, le=MAX_DAYS, description=N_("Days in the roster"))]
    shifts: Annotated[list[ShiftType], msgspec.Meta(min_length=1, max_length=6)]
    nurses: Annotated[list[Nurse], msgspec.Meta(min_length=1, max_length=200)]
    cover: Annotated[list[Cover], msgspec.Meta(description=N_("Nurses needed per day and shift"))]
    min_rest_hours: Annotated[
        int, msgspec.Meta(ge=0, le=48, description=N_("Fewest hours off between two shifts"))
    ] = 11
    max_consecutive_days: Annotated[
        int, msgspec.Meta(ge=1, le=MAX_DAYS, description=N_("Most working days in a row"))
    ] = 5
    shortfall_penalty: Annotated[
        float, msgspec.Meta(ge=0, description=N_("Cost of one nurse missing from the cover"))
    ] = 1000.0
    fairness_weight: Annotated[
        float,
        msgspec.Meta(
            ge=0, description=N_("Cost of each unsocial shift between the most and the fewest")
        ),
    ] = 10.0
    time_limit_seconds: Annotated[float, msgspec.Meta(ge=0.5, le=120)] = 10.0


class Assignment(msgspec.Struct, kw_only=True):
    day: int
    shift: str
    nurse_id: str


class NurseLoad(msgspec.Struct, kw_only=True):
    nurse_id: str
    shifts: int
    unsocial_shifts: int
    hours: int
    pay: float


class Shortfall(msgspec.Struct, kw_only=True):
    day: int
    shift: str
    skill: str | None
    missing: int


class Roster(msgspec.Struct, kw_only=True):
    status: Annotated[
        str, msgspec.Meta(description=N_("optimal, or feasible when the time limit came first"))
    ]
    assignments: list[Assignment]
    nurses: list[NurseLoad]
    shortfalls: list[Shortfall]
    pay: float
    objective: Annotated[
        float, msgspec.Meta(description=N_("Pay plus the costs of shortfalls and unfairness"))
    ]
    summary: str


def refuse_inconsistent(data: RosterRequest, run: Run) -> None:
    """Names must be unique and every day and shift the request mentions must exist."""
    names = [shift.name for shift in data.shifts]
    ids = [nurse.nurse_id for nurse in data.nurses]
    for message, values in (
        (N_("The shift {name} is given twice"), names),
        (N_("The nurse {name} is given twice"), ids),
    ):
        repeated = sorted(value for value, count in Counter(values).items() if count > 1)
        if repeated:
            raise AgentError(run.gettext(message).format(name=repeated[0]))
    for cover in data.cover:
        if cover.shift not in names:
            raise AgentError(
                run.gettext(
                    "The cover names the shift {shift}, which is not among the shifts"
                ).format(shift=cover.shift)
            )
        if cover.day >= data.days:
            raise AgentError(
                run.gettext(
                    "The cover names day {day}, but the roster has days 0 to {last}"
                ).format(day=cover.day, last=data.days - 1)
            )
    for nurse in data.nurses:
        if nurse.min_shifts > nurse.max_shifts:
            raise AgentError(
                run.gettext("Nurse {nurse} has min_shifts above max_shifts").format(
                    nurse=nurse.nurse_id
                )
            )


def roster_of(data: RosterRequest, solution: Solution, run: Run) -> Roster:
    shifts = {shift.name: shift for shift in data.shifts}
    loads = []
    for nurse in data.nurses:
        mine = [shifts[s] for _, s, n in solution.assignments if n == nurse.nurse_id]
        hours = sum(shift.hours for shift in mine)
        loads.append(
            NurseLoad(
                nurse_id=nurse.nurse_id,
                shifts=len(mine),
                unsocial_shifts=sum(shift.unsocial for shift in mine),
                hours=hours,
                pay=round(hours * nurse.hourly_cost, 2),
            )
        )
    missing = sum(gap[3] for gap in solution.shortfalls)
    summary = run.ngettext(
        "{count} shift assigned.", "{count} shifts assigned.", len(solution.assignments)
    ).format(count=len(solution.assignments))
    if missing:
        summary += " " + run.ngettext(
            "The cover is short by {count} nurse: see shortfalls.",
            "The cover is short by {count} nurses: see shortfalls.",
            missing,
        ).format(count=missing)
    else:
        summary += " " + run.gettext("Every shift has its cover.")
    if solution.status == "feasible":
        summary += " " + run.gettext("The time limit ended the search: a cheaper roster may exist.")
    return Roster(
        status=solution.status,
        assignments=[
            Assignment(day=d, shift=s, nurse_id=n) for d, s, n in sorted(solution.assignments)
        ],
        nurses=loads,
        shortfalls=[
            Shortfall(day=d, shift=s, skill=k, missing=m) for d, s, k, m in solution.shortfalls
        ],
        pay=round(sum(load.pay for load in loads), 2),
        objective=round(solution.objective, 2),
        summary=summary,
    )


async def run(data: RosterRequest, run: Run) -> Roster:
    refuse_inconsistent(data, run)
    solution = await run.thread(solve, data, data.time_limit_seconds)
    if solution.status == "infeasible":
        raise AgentError(
            run.gettext(
                "No roster keeps every rule: check the nurses' fewest shifts, days off and "
                "rest against the days"
            )
        )
    if solution.status == "unknown":  # the asker's time limit was too short: theirs to change
        raise AgentError(run.gettext("No roster was found within the time limit: allow more time"))
    return roster_of(data, solution, run)


AGENT = Agent(
    industry="healthcare",
    title=N_("Nurse shift roster"),
    description=N_(
        "Assigns nurses to shifts over the coming days so that each shift has its cover and "
        "skills, everyone gets their rest, unsocial shifts are shared fairly and pay is as "
        "low as it can be (OR-Tools CP-SAT)."
    ),
    input=RosterRequest,
    output=Roster,
    run=run,
)
