"""Overbooking: how many extra patients to book into each clinic session, weighing the cost
of an idle slot against the cost of seeing a patient beyond capacity (overtime)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from mindframe.sdk.agents import Agent, AgentError, Run
from mindframe.sdk.i18n import N_

Probability = Annotated[float, msgspec.Meta(ge=0, le=1)]


class Session(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    session_id: Annotated[str, msgspec.Meta(min_length=1, description=N_("The clinic session"))]
    capacity: Annotated[
        int, msgspec.Meta(ge=1, le=500, description=N_("Patients the session can see in time"))
    ]
    no_show_probabilities: Annotated[
        list[Probability],
        msgspec.Meta(
            max_length=1000,
            description=N_("No-show probability of each booking already made"),
            examples=[[0.1, 0.25, 0.05]],
        ),
    ]


class OverbookingRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    sessions: Annotated[list[Session], msgspec.Meta(min_length=1, max_length=200)]
    idle_cost: Annotated[
        float, msgspec.Meta(gt=0, description=N_("Cost of one slot left idle by a no-show"))
    ]
    overtime_cost: Annotated[
        float, msgspec.Meta(gt=0, description=N_("Cost of seeing one patient beyond capacity"))
    ]
    extra_no_show_probability: Annotated[
        Probability | None,
        msgspec.Meta(
            description=N_(
                "No-show probability of an extra booking; the session's average when left out"
            )
        ),
    ] = None
    max_extra: Annotated[
        int, msgspec.Meta(ge=0, le=100, description=N_("Most extra bookings to consider"))
    ] = 20


class SessionPlan(msgspec.Struct, kw_only=True):
    session_id: str
    booked: int
    extra_bookings: Annotated[
        int, msgspec.Meta(description=N_("Patients to book beyond those booked"))
    ]
    total_bookings: int
    expected_shows: float
    expected_idle_slots: float
    expected_overtime: Annotated[
        float, msgspec.Meta(description=N_("Expected patients seen beyond capacity"))
    ]
    expected_cost: float
    cost_as_booked: Annotated[
        float, msgspec.Meta(description=N_("Expected cost with no extra bookings"))
    ]


class OverbookingPlan(msgspec.Struct, kw_only=True):
    sessions: list[SessionPlan]
    critical_ratio: Annotated[
        float,
        msgspec.Meta(
            description=N_(
                "One more booking pays while the chance that fewer patients than capacity "
                "turn up is above this"
            )
        ),
    ]
    summary: str


def sessions(data: OverbookingRequest) -> list[str]:
    """The audit's subjects: the sessions whose patients' no-show risks are read."""
    return [session.session_id for session in data.sessions]


def plan(data: OverbookingRequest, session: Session, run: Run) -> SessionPlan:
    """The cheapest plan for one session."""
    risks = session.no_show_probabilities
    extra_risk = data.extra_no_show_probability
    if extra_risk is None:
        if not risks:
            raise AgentError(
                run.gettext(
                    "Session {session} has no bookings to take a no-show probability from; "
                    "give extra_no_show_probability"
                ).format(session=session.session_id)
            )
        extra_risk = sum(risks) / len(risks)
    from .newsvendor import plan_session  # numpy: imported at the first run, not at start-up

    best = plan_session(
        session.capacity,
        [1.0 - risk for risk in risks],
        1.0 - extra_risk,
        data.idle_cost,
        data.overtime_cost,
        data.max_extra,
    )
    return SessionPlan(
        session_id=session.session_id,
        booked=len(risks),
        extra_bookings=best.total_bookings - len(risks),
        total_bookings=best.total_bookings,
        expected_shows=round(best.expected_shows, 3),
        expected_idle_slots=round(best.expected_idle_slots, 3),
        expected_overtime=round(best.expected_overtime, 3),
        expected_cost=round(best.expected_cost, 2),
        cost_as_booked=round(best.cost_as_booked, 2),
    )


async def run(data: OverbookingRequest, run: Run) -> OverbookingPlan:
    plans = [plan(data, session, run) for session in data.sessions]
    extra = sum(item.extra_bookings for item in plans)
    saving = sum(item.cost_as_booked - item.expected_cost for item in plans)
    summary = run.ngettext(
        "Book {count} extra patient in all; the expected cost falls by {saving}.",
        "Book {count} extra patients in all; the expected cost falls by {saving}.",
        extra,
    ).format(count=extra, saving=round(saving, 2))
    return OverbookingPlan(
        sessions=plans,
        critical_ratio=round(data.overtime_cost / (data.idle_cost + data.overtime_cost), 4),
        summary=summary,
    )


AGENT = Agent(
    industry="healthcare",
    title=N_("Clinic overbooking"),
    description=N_(
        "Gives the number of extra bookings per clinic session that minimises the expected "
        "cost of idle slots and overtime, from each booking's no-show probability (a "
        "binomial newsvendor)."
    ),
    input=OverbookingRequest,
    output=OverbookingPlan,
    run=run,
    health_data=True,  # each probability is a patient's, derived from their record
    subject=sessions,
)
