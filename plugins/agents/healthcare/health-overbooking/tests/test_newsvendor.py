"""The overbooking plan against the newsvendor's closed form: with shows S_N out of N
bookings, one more booking lowers the expected cost exactly while
P(S_N < capacity) > overtime / (idle + overtime), so the optimum is the smallest N where
that chance has fallen to the critical ratio. The distribution of shows is computed here
independently: scipy's binomial when all patients are alike, and by enumerating every
show/no-show pattern for a handful of different patients."""

from __future__ import annotations

import itertools
import math

import pytest
from mindframe_plugins.health_overbooking.newsvendor import plan_session
from scipy.stats import binom


def closed_form_binomial(capacity: int, show: float, idle: float, overtime: float) -> int:
    ratio = overtime / (idle + overtime)
    n = capacity
    while binom.cdf(capacity - 1, n, show) > ratio:
        n += 1
    return n


def below_capacity_by_enumeration(shows: list[float], capacity: int) -> float:
    """P(fewer than `capacity` turn up), summing every pattern of who comes."""
    total = 0.0
    for pattern in itertools.product((0, 1), repeat=len(shows)):
        if sum(pattern) < capacity:
            total += math.prod(p if came else 1 - p for p, came in zip(shows, pattern, strict=True))
    return total


@pytest.mark.parametrize(
    ("capacity", "show", "idle", "overtime"),
    [
        (10, 0.8, 100, 150),
        (10, 0.8, 100, 50),
        (12, 0.9, 80, 200),
        (20, 0.7, 120, 60),
        (8, 0.95, 100, 100),
        (16, 0.6, 50, 300),
        (30, 0.85, 90, 90),
    ],
)
def test_identical_patients_get_the_closed_form_optimum(capacity, show, idle, overtime):
    plan = plan_session(capacity, [show] * capacity, show, idle, overtime, max_extra=60)
    assert plan.total_bookings == closed_form_binomial(capacity, show, idle, overtime)


def test_different_patients_get_the_critical_fractile_optimum():
    booked = [0.95, 0.9, 0.6, 0.85, 0.5, 0.75, 0.9, 0.8]
    capacity, extra_show, idle, overtime = 7, 0.7, 100.0, 140.0
    ratio = overtime / (idle + overtime)
    shows = list(booked)
    while below_capacity_by_enumeration(shows, capacity) > ratio:
        shows.append(extra_show)
    plan = plan_session(capacity, booked, extra_show, idle, overtime, max_extra=10)
    assert plan.total_bookings == len(shows)


def test_expected_idle_slots_and_overtime_match_the_binomial_distribution():
    plan = plan_session(10, [0.8] * 10, 0.8, 100, 150, max_extra=20)
    n = plan.total_bookings
    idle = sum(binom.pmf(k, n, 0.8) * (10 - k) for k in range(10))
    over = sum(binom.pmf(k, n, 0.8) * (k - 10) for k in range(11, n + 1))
    assert plan.expected_idle_slots == pytest.approx(idle, rel=1e-9)
    assert plan.expected_overtime == pytest.approx(over, rel=1e-9)
    assert plan.expected_cost == pytest.approx(100 * idle + 150 * over, rel=1e-9)
    assert plan.expected_cost < plan.cost_as_booked


def test_when_overtime_is_dearer_than_any_idle_slot_nobody_extra_is_booked():
    plan = plan_session(10, [0.99] * 10, 0.99, 1, 1000, max_extra=20)
    assert plan.total_bookings == 10
