"""The roster as a CP-SAT model: one yes/no per nurse, day and shift.

Hard rules: one shift a day, none on a day off, skills only from nurses who have them,
enough rest between shifts, at most so many days in a row, each nurse's fewest and most
shifts. Cover is soft, so a short-handed unit still gets a roster with the gaps shown: a
missing nurse costs `shortfall_penalty`. The objective adds pay, the gaps, and
`fairness_weight` times the spread of unsocial shifts between nurses (most minus fewest).
OR-Tools is imported inside `solve`, so loading the plugin stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .agent import RosterRequest, ShiftType

SCALE = 100
"""Costs are whole hundredths in the model: CP-SAT works on integers."""

Outcome = Literal["optimal", "feasible", "infeasible", "unknown"]


@dataclass(frozen=True)
class Solution:
    status: Outcome
    assignments: list[tuple[int, str, str]]  # (day, shift, nurse)
    shortfalls: list[tuple[int, str, str | None, int]]  # (day, shift, skill, missing)
    objective: float


def rest_hours(first: ShiftType, second: ShiftType) -> int:
    """Hours off between `first` on one day and `second` on the next."""
    return 24 + second.start_hour - (first.start_hour + first.hours)


def clashing_pairs(request: RosterRequest) -> Iterator[tuple[str, str]]:
    """(shift, next day's shift) pairs that leave less than the minimum rest."""
    for first in request.shifts:
        for second in request.shifts:
            if rest_hours(first, second) < request.min_rest_hours:
                yield first.name, second.name


def solve(request: RosterRequest, time_limit: float, workers: int = 8) -> Solution:
    """The cheapest roster found within `time_limit` seconds; `workers` is the size of
    CP-SAT's portfolio of search strategies (it helps even on few cores)."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    days, shifts, nurses = range(request.days), request.shifts, request.nurses
    work = {
        (n.nurse_id, d, s.name): model.new_bool_var(f"{n.nurse_id}/{d}/{s.name}")
        for n in nurses
        for d in days
        for s in shifts
    }
    unsocial = {s.name for s in shifts if s.unsocial}
    clashes = list(clashing_pairs(request))
    for nurse in nurses:
        me = nurse.nurse_id
        worked = [sum(work[me, d, s.name] for s in shifts) for d in days]
        for d in days:
            model.add(worked[d] <= (0 if d in nurse.unavailable else 1))
        for d in days[:-1]:
            for first, second in clashes:
                model.add_bool_or([work[me, d, first].Not(), work[me, d + 1, second].Not()])
        window = request.max_consecutive_days + 1
        for start in range(request.days - window + 1):
            model.add(sum(worked[start : start + window]) <= request.max_consecutive_days)
        model.add_linear_constraint(sum(worked), nurse.min_shifts, nurse.max_shifts)

    gaps = []
    for cover in request.cover:
        able = [n for n in nurses if cover.skill is None or cover.skill in n.skills]
        missing = model.new_int_var(0, cover.nurses, f"gap/{cover.day}/{cover.shift}/{cover.skill}")
        model.add(
            sum(work[n.nurse_id, cover.day, cover.shift] for n in able) + missing >= cover.nurses
        )
        gaps.append((cover, missing))

    pay = sum(
        round(n.hourly_cost * s.hours * SCALE) * work[n.nurse_id, d, s.name]
        for n in nurses
        for d in days
        for s in shifts
    )
    counts = [sum(work[n.nurse_id, d, name] for d in days for name in unsocial) for n in nurses]
    most, fewest = (
        model.new_int_var(0, request.days, "most"),
        model.new_int_var(0, request.days, "fewest"),
    )
    if counts:
        model.add_max_equality(most, counts)
        model.add_min_equality(fewest, counts)
    model.minimize(
        pay
        + round(request.shortfall_penalty * SCALE) * sum(missing for _, missing in gaps)
        + round(request.fairness_weight * SCALE) * (most - fewest)
    )

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 0
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Solution("infeasible" if status == cp_model.INFEASIBLE else "unknown", [], [], 0.0)
    return Solution(
        status="optimal" if status == cp_model.OPTIMAL else "feasible",
        assignments=[(d, s, n) for (n, d, s), var in work.items() if solver.value(var)],
        shortfalls=[
            (c.day, c.shift, c.skill, solver.value(missing))
            for c, missing in gaps
            if solver.value(missing)
        ],
        objective=solver.objective_value / SCALE,
    )
