"""Home-visit routes as a vehicle routing problem with time windows, solved with OR-Tools'
routing library.

Node 0 is the team's base, node i the i-th visit. Each nurse is a vehicle that leaves the
base no earlier than the shift starts and is back by its end. A time dimension carries the
clock: travel time plus the visit's duration from one node to the next, waiting allowed
(slack), each visit started within its window. The cost is the travel time plus each
route's span (leaving the base to coming back), so driving and idle waiting both count.
A visit that fits no route may be left out at a large penalty, so an overfull day still
gets routes and a list of what did not fit. OR-Tools is imported inside `solve`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DAY = 24 * 60
DROP_PENALTY = 1_000_000

Outcome = Literal["solved", "unsolved"]


@dataclass(frozen=True)
class Visit:
    earliest: int
    latest: int
    duration: int


@dataclass(frozen=True)
class Shift:
    start: int
    end: int


@dataclass(frozen=True)
class Stop:
    visit: int  # index into the visits
    arrive: int
    start: int
    end: int


@dataclass(frozen=True)
class Route:
    nurse: int
    leave: int
    stops: list[Stop]
    back: int
    travel: int


@dataclass(frozen=True)
class Plan:
    outcome: Outcome
    routes: list[Route]
    dropped: list[int]


def timed(
    travel: list[list[int]], visits: list[Visit], order: list[int], leave: int
) -> tuple[list[Stop], int, int]:
    """The stops of visiting `order` (visit indices) leaving the base at `leave`, each
    started as early as its window allows; with the time back at base and the travel."""
    clock, here, stops, driven = leave, 0, [], 0
    for index in order:
        node = index + 1
        driven += travel[here][node]
        arrive = clock + travel[here][node]
        start = max(arrive, visits[index].earliest)
        clock = start + visits[index].duration
        stops.append(Stop(visit=index, arrive=arrive, start=start, end=clock))
        here = node
    driven += travel[here][0]
    return stops, clock + travel[here][0], driven


def solve(
    travel: list[list[int]], visits: list[Visit], shifts: list[Shift], time_limit: float
) -> Plan:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    manager = pywrapcp.RoutingIndexManager(len(travel), len(shifts), 0)
    routing = pywrapcp.RoutingModel(manager)

    def driving(from_index: int, to_index: int) -> int:
        return travel[manager.IndexToNode(from_index)][manager.IndexToNode(to_index)]

    def elapsed(from_index: int, to_index: int) -> int:
        node = manager.IndexToNode(from_index)
        service = visits[node - 1].duration if node else 0
        return service + travel[node][manager.IndexToNode(to_index)]

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(driving))
    routing.AddDimension(routing.RegisterTransitCallback(elapsed), DAY, DAY, False, "time")
    clock = routing.GetDimensionOrDie("time")
    clock.SetSpanCostCoefficientForAllVehicles(1)
    for i, visit in enumerate(visits):
        index = manager.NodeToIndex(i + 1)
        clock.CumulVar(index).SetRange(visit.earliest, visit.latest)
        routing.AddDisjunction([index], DROP_PENALTY)
    for v, shift in enumerate(shifts):
        clock.CumulVar(routing.Start(v)).SetRange(shift.start, shift.end)
        clock.CumulVar(routing.End(v)).SetRange(shift.start, shift.end)
    for v in range(len(shifts)):  # back as early as can be, then leave as late as that allows
        routing.AddVariableMinimizedByFinalizer(clock.CumulVar(routing.End(v)))
    for v in range(len(shifts)):
        routing.AddVariableMaximizedByFinalizer(clock.CumulVar(routing.Start(v)))

    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    parameters.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    parameters.time_limit.FromMilliseconds(int(time_limit * 1000))
    solution = routing.SolveWithParameters(parameters)
    if solution is None:
        return Plan(outcome="unsolved", routes=[], dropped=list(range(len(visits))))

    routes, served = [], set()
    for v in range(len(shifts)):
        index, order = solution.Value(routing.NextVar(routing.Start(v))), []
        while not routing.IsEnd(index):
            order.append(manager.IndexToNode(index) - 1)
            index = solution.Value(routing.NextVar(index))
        if not order:
            continue
        leave = solution.Value(clock.CumulVar(routing.Start(v)))
        stops, back, driven = timed(travel, visits, order, leave)
        routes.append(Route(nurse=v, leave=leave, stops=stops, back=back, travel=driven))
        served.update(order)
    dropped = [i for i in range(len(visits)) if i not in served]
    return Plan(outcome="solved", routes=routes, dropped=dropped)
