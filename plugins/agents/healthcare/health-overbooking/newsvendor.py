"""The binomial newsvendor: how many patients to book into a session of `capacity` slots
when each booked patient turns up with their own probability.

Shows are a sum of independent Bernoulli trials (a Poisson-binomial count, a binomial one
when every probability is the same). An idle slot costs `idle_cost`, a patient beyond
capacity `overtime_cost`; the expected cost of each total number of bookings is computed
exactly from the distribution of shows and the cheapest total is taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Plan:
    """The cheapest number of bookings and what to expect from it."""

    total_bookings: int
    expected_shows: float
    expected_idle_slots: float
    expected_overtime: float
    expected_cost: float
    cost_as_booked: float


def shows_distribution(probabilities: Sequence[float]) -> np.ndarray:
    """P(shows = k) for k = 0..n: the Poisson-binomial pmf, by adding one patient at a time."""
    pmf = np.array([1.0])
    for p in probabilities:
        pmf = np.convolve(pmf, [1.0 - p, p])
    return pmf


def expected_outcome(
    pmf: np.ndarray, capacity: int, idle_cost: float, overtime_cost: float
) -> tuple[float, float, float, float]:
    """Expected shows, idle slots, patients over capacity and cost for a pmf of shows."""
    shows = np.arange(len(pmf))
    idle = float(pmf @ np.maximum(capacity - shows, 0))
    overtime = float(pmf @ np.maximum(shows - capacity, 0))
    return float(pmf @ shows), idle, overtime, idle_cost * idle + overtime_cost * overtime


def plan_session(
    capacity: int,
    booked: Sequence[float],
    extra_probability: float,
    idle_cost: float,
    overtime_cost: float,
    max_extra: int,
) -> Plan:
    """The number of bookings (those made, plus 0..`max_extra` more, each showing with
    `extra_probability`) with the least expected cost; the fewest when costs tie."""
    pmf = shows_distribution(booked)
    as_booked = expected_outcome(pmf, capacity, idle_cost, overtime_cost)[3]
    best: tuple[float, int, tuple[float, float, float, float]] | None = None
    for extra in range(max_extra + 1):
        if extra:
            pmf = np.convolve(pmf, [1.0 - extra_probability, extra_probability])
        outcome = expected_outcome(pmf, capacity, idle_cost, overtime_cost)
        if best is None or outcome[3] < best[0] - 1e-12:
            best = (outcome[3], extra, outcome)
    assert best is not None
    _, extra, (shows, idle, overtime, cost) = best
    return Plan(len(booked) + extra, shows, idle, overtime, cost, as_booked)
