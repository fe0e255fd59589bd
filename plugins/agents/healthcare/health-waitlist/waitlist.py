"""The waiting list in order: each referral's breach date from its priority's longest wait
(calendar days, or working days that skip weekends and the country's public holidays from
`holidays`), then earliest deadline first.

The stated order:
1. the earliest breach date first, so whoever is past their date comes first, the longest
   overdue at the top;
2. on the same breach date, the more urgent clinical priority (the lower number);
3. then whoever has waited longest (the earlier referral);
4. then the referral id, so the order never depends on the order given.

Seen one after another, earliest deadline first keeps the largest lateness as small as any
order can (Jackson's rule), which is why a projection with a daily capacity is also given
for first come, first served. Working days are numpy's business-day arithmetic with the
holidays as its calendar; numpy and holidays are imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np

Unit = Literal["calendar_days", "working_days"]
Status = Literal["breached", "due_soon", "on_time"]


@dataclass(frozen=True)
class Entry:
    referral_id: str
    priority: int
    referred: date
    breach_date: date


@dataclass(frozen=True)
class Placed:
    entry: Entry
    working_days_left: int
    status: Status
    projected: date | None
    days_late: int | None


@dataclass(frozen=True)
class Lateness:
    breaches: int
    max_days_late: int


class Calendar:
    """Working days of `country` over `years`: Monday to Friday less public holidays."""

    def __init__(self, country: str, first_year: int, last_year: int) -> None:
        import holidays
        import numpy as np

        days = holidays.country_holidays(country, years=range(first_year, last_year + 1))
        self.np = np
        self.holidays = np.array(sorted(days), dtype="datetime64[D]")

    def days(self, values: list[date]) -> np.ndarray:
        return self.np.array(values, dtype="datetime64[D]")

    def add_working_days(self, starts: list[date], counts: list[int]) -> list[date]:
        """The `count`-th working day after each start (the start itself not counted)."""
        moved = self.np.busday_offset(
            self.days(starts), counts, roll="backward", holidays=self.holidays
        )
        return moved.astype(object).tolist()

    def working_days_between(self, start: date, ends: list[date]) -> list[int]:
        """Working days after `start` up to and including each end; negative when the end
        is before `start` (then the working days after the end up to `start`)."""
        np = self.np
        after_start = np.datetime64(start, "D") + np.timedelta64(1, "D")
        after_ends = self.days(ends) + np.timedelta64(1, "D")
        ahead = np.busday_count(after_start, after_ends, holidays=self.holidays)
        # numpy counts a reversed span over (end, start + 1], one day off from ours
        behind = -np.busday_count(after_ends, after_start, holidays=self.holidays)
        return [int(n) for n in np.where(after_ends >= after_start, ahead, behind)]

    def working_days_from(self, start: date, count: int) -> list[date]:
        """`count` consecutive working days, from `start` when it is one."""
        offsets = self.np.arange(count)
        days = self.np.busday_offset(
            self.np.datetime64(start, "D"), offsets, roll="forward", holidays=self.holidays
        )
        return days.astype(object).tolist()


def breach_dates(
    calendar: Calendar, referred: list[date], waits: list[tuple[int, Unit]]
) -> list[date]:
    """Each referral's breach date from its priority's longest wait."""
    out = [
        r + timedelta(days=n) if unit == "calendar_days" else r
        for r, (n, unit) in zip(referred, waits, strict=True)
    ]
    working = [i for i, (_, unit) in enumerate(waits) if unit == "working_days"]
    if working:
        moved = calendar.add_working_days(
            [referred[i] for i in working], [waits[i][0] for i in working]
        )
        for i, day in zip(working, moved, strict=True):
            out[i] = day
    return out


def ordered(entries: list[Entry]) -> list[Entry]:
    """The stated order: breach date, priority, referral date, referral id."""
    return sorted(entries, key=lambda e: (e.breach_date, e.priority, e.referred, e.referral_id))


def first_come(entries: list[Entry]) -> list[Entry]:
    """The baseline: first come, first served."""
    return sorted(entries, key=lambda e: (e.referred, e.referral_id))


def project(
    calendar: Calendar, entries: list[Entry], today: date, per_day: int
) -> list[tuple[date, int]]:
    """Seen in this order, `per_day` a working day from today: each one's date and days late
    (0 when in time)."""
    if not entries:
        return []
    days = calendar.working_days_from(today, (len(entries) - 1) // per_day + 1)
    out = []
    for position, entry in enumerate(entries):
        seen = days[position // per_day]
        out.append((seen, max(0, (seen - entry.breach_date).days)))
    return out


def lateness(projection: list[tuple[date, int]]) -> Lateness:
    late = [days for _, days in projection]
    return Lateness(breaches=sum(1 for d in late if d > 0), max_days_late=max(late, default=0))


def place(
    calendar: Calendar, entries: list[Entry], today: date, due_soon: int, per_day: int
) -> list[Placed]:
    """The list in the stated order, each with its working days left, status and, with a
    capacity, when it would be seen."""
    queue = ordered(entries)
    left = calendar.working_days_between(today, [e.breach_date for e in queue])
    projection = project(calendar, queue, today, per_day) if per_day else [None] * len(queue)
    placed = []
    for entry, days_left, seen in zip(queue, left, projection, strict=True):
        if entry.breach_date < today:
            status: Status = "breached"
        elif days_left <= due_soon:
            status = "due_soon"
        else:
            status = "on_time"
        placed.append(
            Placed(
                entry=entry,
                working_days_left=days_left,
                status=status,
                projected=seen[0] if seen else None,
                days_late=seen[1] if seen else None,
            )
        )
    return placed
