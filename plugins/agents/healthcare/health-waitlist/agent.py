"""Waiting list: who is seen next, from each referral's clinical priority, how long it has
waited and its breach date (the latest date it may be seen on), counted in calendar days or
in working days that skip the country's public holidays."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Annotated, Literal

import msgspec

from mindframe.sdk.agents import Agent, AgentError, Run
from mindframe.sdk.i18n import N_, Localizer

from .waitlist import Calendar, Entry, Status, Unit, breach_dates, first_come, lateness, place
from .waitlist import project as projected

Country = Literal["NO", "SE", "DK", "FI", "DE", "GB"]
MAX_YEARS_BACK = 20
EARLIEST_TODAY, LATEST_TODAY = date(2000, 1, 1), date(2100, 12, 31)
Priority = Annotated[
    int, msgspec.Meta(ge=1, le=9, description=N_("Clinical priority: 1 is the most urgent"))
]


class PriorityRule(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    priority: Priority
    max_wait: Annotated[
        int,
        msgspec.Meta(ge=0, le=3650, description=N_("Longest wait allowed for this priority")),
    ]
    unit: Annotated[
        Unit,
        msgspec.Meta(
            description=N_(
                "Whether the longest wait counts calendar days or working days (weekdays "
                "that are not public holidays)"
            )
        ),
    ] = "calendar_days"


class Referral(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    referral_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    priority: Priority
    referred: Annotated[date, msgspec.Meta(description=N_("The day the referral was received"))]
    breach_date: Annotated[
        date | None,
        msgspec.Meta(
            description=N_(
                "A deadline set for this patient alone; the priority's longest wait when left out"
            )
        ),
    ] = None


class WaitlistRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    list_id: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=100, description=N_("The waiting list: clinic or service")
        ),
    ]
    country: Annotated[
        Country, msgspec.Meta(description=N_("Whose public holidays are not working days"))
    ]
    rules: Annotated[
        list[PriorityRule],
        msgspec.Meta(min_length=1, max_length=9, description=N_("Longest wait per priority")),
    ]
    referrals: Annotated[list[Referral], msgspec.Meta(min_length=1, max_length=5000)]
    today: Annotated[
        date | None, msgspec.Meta(description=N_("The day to order the list on; today if left out"))
    ] = None
    due_soon_working_days: Annotated[
        int,
        msgspec.Meta(
            ge=0, le=60, description=N_("Flag referrals this many working days from breach")
        ),
    ] = 5
    slots_per_working_day: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=10000,
            description=N_(
                "Patients seen a working day, to project when each is seen; none when 0"
            ),
        ),
    ] = 0


class Placed(msgspec.Struct, kw_only=True):
    position: int
    referral_id: str
    priority: int
    referred: date
    breach_date: date
    waited_days: Annotated[int, msgspec.Meta(description=N_("Calendar days waited so far"))]
    working_days_left: Annotated[
        int,
        msgspec.Meta(description=N_("Working days until the breach date; negative once past")),
    ]
    status: Annotated[Status, msgspec.Meta(description=N_("breached, due_soon or on_time"))]
    projected_date: Annotated[
        date | None, msgspec.Meta(description=N_("When the patient is seen at this capacity"))
    ] = None
    projected_days_late: int | None = None


class Projection(msgspec.Struct, kw_only=True):
    slots_per_working_day: int
    breaches: Annotated[int, msgspec.Meta(description=N_("Patients seen after their breach date"))]
    max_days_late: int
    first_come_breaches: Annotated[
        int, msgspec.Meta(description=N_("The same when seen in order of referral"))
    ]
    first_come_max_days_late: int


class Waitlist(msgspec.Struct, kw_only=True):
    order: list[Placed]
    breached: int
    due_soon: int
    projection: Projection | None
    summary: str


def referral_ids(data: WaitlistRequest) -> list[str]:
    """The audit's subjects: the referral of each patient on the list."""
    return [referral.referral_id for referral in data.referrals]


def refuse_inconsistent(data: WaitlistRequest, today: date, run: Run) -> None:
    if not EARLIEST_TODAY <= today <= LATEST_TODAY:
        raise AgentError(
            run.gettext("today must lie between {first} and {last}").format(
                first=EARLIEST_TODAY.isoformat(), last=LATEST_TODAY.isoformat()
            )
        )
    priorities = Counter(rule.priority for rule in data.rules)
    twice = sorted(p for p, n in priorities.items() if n > 1)
    if twice:
        raise AgentError(run.gettext("Priority {priority} has two rules").format(priority=twice[0]))
    earliest = today - timedelta(days=365 * MAX_YEARS_BACK)
    latest = today + timedelta(days=365 * MAX_YEARS_BACK)
    for referral in data.referrals:
        if referral.priority not in priorities and referral.breach_date is None:
            raise AgentError(
                run.gettext(
                    "Referral {referral} has priority {priority}, which has no rule and no "
                    "breach date of its own"
                ).format(referral=referral.referral_id, priority=referral.priority)
            )
        if not earliest <= referral.referred <= today:
            raise AgentError(
                run.gettext(
                    "Referral {referral} was received on {day}: a referral date lies between "
                    "{years} years ago and today"
                ).format(
                    referral=referral.referral_id,
                    day=referral.referred.isoformat(),
                    years=MAX_YEARS_BACK,
                )
            )
        if referral.breach_date is not None and not earliest <= referral.breach_date <= latest:
            raise AgentError(
                run.gettext(
                    "Referral {referral} has a breach date more than {years} years from today"
                ).format(referral=referral.referral_id, years=MAX_YEARS_BACK)
            )


def entries_of(data: WaitlistRequest, calendar: Calendar) -> list[Entry]:
    rules = {rule.priority: rule for rule in data.rules}
    pending = [r for r in data.referrals if r.breach_date is None]
    computed = breach_dates(
        calendar,
        [r.referred for r in pending],
        [(rules[r.priority].max_wait, rules[r.priority].unit) for r in pending],
    )
    dates = {id(r): d for r, d in zip(pending, computed, strict=True)}
    return [
        Entry(
            referral_id=r.referral_id,
            priority=r.priority,
            referred=r.referred,
            breach_date=r.breach_date or dates[id(r)],
        )
        for r in data.referrals
    ]


def order(data: WaitlistRequest, today: date) -> tuple[list[Placed], Projection | None]:
    """Plain work for a thread: the calendar spans every date the list can reach."""
    longest = max(2 * rule.max_wait for rule in data.rules) + 30
    per_day = data.slots_per_working_day
    ahead = 2 * len(data.referrals) // per_day + 30 if per_day else 0
    last = max(
        [today + timedelta(days=ahead)]
        + [r.referred + timedelta(days=longest) for r in data.referrals]
        + [r.breach_date for r in data.referrals if r.breach_date is not None]
    )
    first = min(r.referred for r in data.referrals)
    calendar = Calendar(data.country, first.year, last.year)
    entries = entries_of(data, calendar)
    placed = place(calendar, entries, today, data.due_soon_working_days, per_day)
    rows = [
        Placed(
            position=position,
            referral_id=item.entry.referral_id,
            priority=item.entry.priority,
            referred=item.entry.referred,
            breach_date=item.entry.breach_date,
            waited_days=(today - item.entry.referred).days,
            working_days_left=item.working_days_left,
            status=item.status,
            projected_date=item.projected,
            projected_days_late=item.days_late,
        )
        for position, item in enumerate(placed, start=1)
    ]
    if not per_day:
        return rows, None
    ours = lateness([(p.projected, p.days_late) for p in placed])  # type: ignore[misc]
    baseline = lateness(projected(calendar, first_come(entries), today, per_day))
    return rows, Projection(
        slots_per_working_day=per_day,
        breaches=ours.breaches,
        max_days_late=ours.max_days_late,
        first_come_breaches=baseline.breaches,
        first_come_max_days_late=baseline.max_days_late,
    )


def summarise(rows: list[Placed], projection: Projection | None, run: Run) -> str:
    counts = Counter(row.status for row in rows)
    text = run.ngettext(
        "{count} referral is past its breach date",
        "{count} referrals are past their breach date",
        counts["breached"],
    ).format(count=counts["breached"])
    text += "; " + run.ngettext(
        "{count} is due within the warning period.",
        "{count} are due within the warning period.",
        counts["due_soon"],
    ).format(count=counts["due_soon"])
    if projection is not None:
        text += " " + run.ngettext(
            "Seen in this order, {count} patient would be seen after the breach date ({fifo} "
            "in order of referral).",
            "Seen in this order, {count} patients would be seen after the breach date ({fifo} "
            "in order of referral).",
            projection.breaches,
        ).format(
            count=Localizer(run.locale).format_number(projection.breaches),
            fifo=Localizer(run.locale).format_number(projection.first_come_breaches),
        )
    return text


async def run(data: WaitlistRequest, run: Run) -> Waitlist:
    today = data.today or date.today()
    refuse_inconsistent(data, today, run)
    rows, projection = await run.thread(order, data, today)
    return Waitlist(
        order=rows,
        breached=sum(row.status == "breached" for row in rows),
        due_soon=sum(row.status == "due_soon" for row in rows),
        projection=projection,
        summary=summarise(rows, projection, run),
    )


AGENT = Agent(
    industry="healthcare",
    title=N_("Waiting-list order"),
    description=N_(
        "Orders a waiting list by breach date (the referral date plus the longest wait its "
        "clinical priority allows, in calendar days or in working days without public "
        "holidays), then by priority, then by time waited; flags breached and nearly "
        "breached referrals and, given a daily capacity, projects when each patient is seen."
    ),
    input=WaitlistRequest,
    output=Waitlist,
    run=run,
    health_data=True,  # clinical priorities and referrals are patients' health data
    subject=referral_ids,
)
