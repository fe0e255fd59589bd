"""The routes against a nearest-neighbour baseline on a generated district (fixed seeds):
every visit planned, every window met and every nurse back in time (checked here from the
travel times, not from the solver's clock), and less time on the road and in all than
nearest neighbour, which sends each nurse in turn to the closest visit still reachable in
its window."""

from __future__ import annotations

import numpy as np
import pytest
from mindframe_plugins.health_home_visits.routing import Shift, Visit, solve

WINDOWS = [(480, 720), (720, 960), (480, 960), (540, 660)]  # morning, afternoon, all day, 9-11


def district(seed: int, visits: int = 30, nurses: int = 5):
    """Visits scattered over 20 by 20 km around the base, 30 km/h plus two minutes to park."""
    rng = np.random.default_rng(seed)
    places = np.vstack([[10.0, 10.0], rng.uniform(0, 20, (visits, 2))])
    distance = np.linalg.norm(places[:, None] - places[None, :], axis=2)
    travel = (np.round(distance * 2) + 2 * (distance > 0)).astype(int).tolist()
    jobs = []
    for _ in range(visits):
        earliest, latest = WINDOWS[rng.integers(len(WINDOWS))]
        jobs.append(Visit(earliest, latest, int(rng.integers(15, 40))))
    return travel, jobs, [Shift(450, 990)] * nurses


def nearest_neighbour(travel, visits, shifts):
    """Each nurse in turn: from where she is, the closest visit whose window she can still
    make and from which she can get back in time; wait if early. Returns routes and the
    visits left over."""
    left, routes = set(range(len(visits))), []
    for shift in shifts:
        here, clock, route = 0, shift.start, []
        while True:
            reachable = []
            for i in left:
                arrive = clock + travel[here][i + 1]
                start = max(arrive, visits[i].earliest)
                if start <= visits[i].latest and (
                    start + visits[i].duration + travel[i + 1][0] <= shift.end
                ):
                    reachable.append((travel[here][i + 1], i, start))
            if not reachable:
                break
            _, i, start = min(reachable)
            route.append(i)
            left.discard(i)
            here, clock = i + 1, start + visits[i].duration
        routes.append((shift.start, route))
    return routes, left


def measured(travel, visits, shifts, routes):
    """Travel and time away from base of routes [(leave, [visit, ...])], checking every rule."""
    driven = away = 0
    for (leave, order), shift in zip(routes, shifts, strict=True):
        if not order:
            continue
        here, clock = 0, leave
        assert leave >= shift.start
        for i in order:
            driven += travel[here][i + 1]
            start = max(clock + travel[here][i + 1], visits[i].earliest)
            assert start <= visits[i].latest, f"visit {i} starts at {start}"
            here, clock = i + 1, start + visits[i].duration
        driven += travel[here][0]
        back = clock + travel[here][0]
        assert back <= shift.end
        away += back - leave
    return driven, away


@pytest.mark.parametrize("seed", [1, 3])
def test_routes_meet_every_window_and_beat_nearest_neighbour(seed):
    travel, visits, shifts = district(seed)
    plan = solve(travel, visits, shifts, time_limit=1.5)
    assert plan.outcome == "solved" and plan.dropped == []
    by_nurse = {route.nurse: route for route in plan.routes}
    ours = [
        (by_nurse[v].leave, [s.visit for s in by_nurse[v].stops]) if v in by_nurse else (0, [])
        for v in range(len(shifts))
    ]
    assert sorted(i for _, order in ours for i in order) == list(range(len(visits)))
    travel_ours, away_ours = measured(travel, visits, shifts, ours)
    assert travel_ours == sum(route.travel for route in plan.routes)

    baseline, left = nearest_neighbour(travel, visits, shifts)
    assert not left, "the baseline should manage this district too, for a fair comparison"
    travel_nn, away_nn = measured(travel, visits, shifts, baseline)
    print(f"seed {seed}: travel {travel_ours} vs {travel_nn}, away {away_ours} vs {away_nn}")
    assert travel_ours < travel_nn
    assert away_ours < away_nn


def test_a_visit_no_nurse_can_reach_in_its_window_is_left_out_not_failed():
    travel = [[0, 10, 10], [10, 0, 5], [10, 5, 0]]
    visits = [Visit(480, 600, 30), Visit(300, 320, 30)]  # the second window is before the shift
    plan = solve(travel, visits, [Shift(450, 900)], time_limit=0.5)
    assert plan.dropped == [1]
    (route,) = plan.routes
    assert [(s.visit, s.arrive, s.start) for s in route.stops] == [(0, route.leave + 10, 480)]
