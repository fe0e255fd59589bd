"""The CP-SAT roster against the rules, checked here from scratch, and against a greedy
roster (each shift in turn takes the cheapest nurse still allowed to work it), both
costed here by the same rules: pay, plus the penalty per missing nurse, plus the fairness
weight times the spread of unsocial shifts."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest
from mindframe_plugins.health_nurse_roster.agent import Cover, Nurse, RosterRequest, ShiftType
from mindframe_plugins.health_nurse_roster.roster import solve

SHIFTS = [
    ShiftType(name="day", start_hour=7, hours=8),
    ShiftType(name="evening", start_hour=15, hours=8),
    ShiftType(name="night", start_hour=23, hours=8, unsocial=True),
]
NEEDED = {"day": 3, "evening": 2, "night": 2}


def ward(seed: int, days: int = 10) -> RosterRequest:
    """A ward of 13 nurses: staff at 40 an hour, dearer agency nurses, a few charge nurses
    (one on every shift), random days off."""
    rng = np.random.default_rng(seed)
    nurses = []
    for i in range(13):
        agency = i >= 10
        nurses.append(
            Nurse(
                nurse_id=f"n{i:02d}",
                skills=["charge"] if i % 3 == 0 or i == 11 else [],
                hourly_cost=float(65 if agency else 40 + rng.integers(0, 6)),
                max_shifts=int(days * 5 // 7) if not agency else days,
                unavailable=sorted(int(d) for d in rng.choice(days, 2, replace=False)),
            )
        )
    cover = [
        item
        for d in range(days)
        for s, count in NEEDED.items()
        for item in (
            Cover(day=d, shift=s, nurses=count),
            Cover(day=d, shift=s, nurses=1, skill="charge"),
        )
    ]
    return RosterRequest(days=days, shifts=SHIFTS, nurses=nurses, cover=cover)


def rest(first: ShiftType, second: ShiftType) -> int:
    return 24 + second.start_hour - first.start_hour - first.hours


def broken_rules(request: RosterRequest, roster: list[tuple[int, str, str]]) -> list[str]:
    shifts = {s.name: s for s in request.shifts}
    nurses = {n.nurse_id: n for n in request.nurses}
    by_nurse: dict[str, dict[int, str]] = defaultdict(dict)
    problems = []
    for day, shift, nurse in roster:
        if day in by_nurse[nurse]:
            problems.append(f"{nurse} works twice on day {day}")
        by_nurse[nurse][day] = shift
        if day in nurses[nurse].unavailable:
            problems.append(f"{nurse} works on a day off ({day})")
    for nurse, worked in by_nurse.items():
        limits = nurses[nurse]
        if not limits.min_shifts <= len(worked) <= limits.max_shifts:
            problems.append(f"{nurse} works {len(worked)} shifts")
        for day, shift in worked.items():
            following = worked.get(day + 1)
            if following and rest(shifts[shift], shifts[following]) < request.min_rest_hours:
                problems.append(f"{nurse}: {shift} then {following} on day {day + 1}")
            if all(day + k in worked for k in range(request.max_consecutive_days + 1)):
                problems.append(f"{nurse} works more than the most days in a row from {day}")
    return problems


def cost(request: RosterRequest, roster: list[tuple[int, str, str]]) -> float:
    shifts = {s.name: s for s in request.shifts}
    nurses = {n.nurse_id: n for n in request.nurses}
    pay = sum(nurses[n].hourly_cost * shifts[s].hours for _, s, n in roster)
    missing = 0
    for cover in request.cover:
        present = sum(
            1
            for d, s, n in roster
            if (d, s) == (cover.day, cover.shift)
            and (cover.skill is None or cover.skill in nurses[n].skills)
        )
        missing += max(0, cover.nurses - present)
    unsocial = Counter(n for _, s, n in roster if shifts[s].unsocial)
    counts = [unsocial[n] for n in nurses]
    return (
        pay
        + request.shortfall_penalty * missing
        + request.fairness_weight * (max(counts) - min(counts))
    )


def greedy(request: RosterRequest) -> list[tuple[int, str, str]]:
    """Shift by shift, skilled cover first: the cheapest nurse the rules still allow."""
    roster: list[tuple[int, str, str]] = []
    for day in range(request.days):
        for shift in request.shifts:
            covers = [c for c in request.cover if (c.day, c.shift) == (day, shift.name)]
            for cover in sorted(covers, key=lambda c: c.skill is None):
                while True:
                    staffed = [n for d, s, n in roster if (d, s) == (day, shift.name)]
                    counted = [
                        n
                        for n in request.nurses
                        if n.nurse_id in staffed
                        and (cover.skill is None or cover.skill in n.skills)
                    ]
                    if len(counted) >= cover.nurses:
                        break
                    allowed = [
                        n
                        for n in request.nurses
                        if (cover.skill is None or cover.skill in n.skills)
                        and not broken_rules(request, [*roster, (day, shift.name, n.nurse_id)])
                    ]
                    if not allowed:
                        break
                    cheapest = min(allowed, key=lambda n: (n.hourly_cost, n.nurse_id))
                    roster.append((day, shift.name, cheapest.nurse_id))
    return roster


@pytest.mark.parametrize("seed", [2, 3])
def test_the_roster_keeps_every_rule_covers_every_shift_and_costs_less_than_greedy(seed):
    request = ward(seed)
    solution = solve(request, time_limit=20.0)  # a cap: it stops once optimal, ~1 s
    assert solution.status in ("optimal", "feasible")
    assert broken_rules(request, solution.assignments) == []
    assert solution.shortfalls == []
    assert cost(request, solution.assignments) == pytest.approx(solution.objective, abs=0.01)
    baseline = greedy(request)
    assert broken_rules(request, baseline) == []
    assert cost(request, solution.assignments) < cost(request, baseline)


def test_a_short_handed_ward_gets_a_roster_with_its_gaps_shown():
    request = ward(3, days=7)
    request.nurses = request.nurses[:5]
    solution = solve(request, time_limit=20.0)
    assert broken_rules(request, solution.assignments) == []
    missing = sum(gap[3] for gap in solution.shortfalls)
    assert missing > 0
    assert cost(request, solution.assignments) == pytest.approx(solution.objective, abs=0.01)


def test_rules_that_cannot_all_hold_are_infeasible():
    request = ward(4, days=7)
    request.nurses[0].min_shifts = 7  # seven days in a row, but at most five allowed
    request.nurses[0].max_shifts = 7
    assert solve(request, time_limit=20.0).status == "infeasible"
