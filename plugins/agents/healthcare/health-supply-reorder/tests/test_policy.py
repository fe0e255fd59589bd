"""The reorder policy against closed forms and a baseline: the EOQ is Harris's square root
and the numerical minimum of the yearly cost; the safety stock is the 95 % normal quantile
(1.645) times the lead-time deviation; with steady demand the simulation costs what the
formulas say; and on random demand (fixed seeds) the (s, S) policy costs less than a
standing order of the average demand at fixed intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from mindframe_plugins.health_supply_reorder.policy import (
    Item,
    annual_cost,
    compare,
    eoq,
    policy,
    simulate,
)
from scipy.optimize import minimize_scalar

# 20 boxes a day, 80 an order, 12 a box held at 25 % a year: h = 3
ITEM = Item(
    daily_demand=20,
    daily_demand_sd=6,
    lead_time_days=5,
    order_cost=80,
    holding_cost=3,
    shortage_cost=12,
)


def test_the_order_quantity_is_the_closed_form_and_the_minimum_of_the_yearly_cost():
    demand = 20 * 365
    assert eoq(demand, 80, 3) == pytest.approx(math.sqrt(2 * 7300 * 80 / 3))  # 624.0
    found = minimize_scalar(
        lambda q: annual_cost(q, demand, 80, 3), bounds=(1, 10_000), method="bounded"
    )
    assert eoq(demand, 80, 3) == pytest.approx(found.x, rel=1e-4)
    assert eoq(0, 80, 3) == 0


def test_the_reorder_point_covers_lead_time_demand_and_the_safety_stock():
    chosen = policy(ITEM, 0.95)
    assert chosen.safety_stock == pytest.approx(1.6449 * 6 * math.sqrt(5), rel=1e-4)
    assert chosen.reorder_point == pytest.approx(100 + chosen.safety_stock)
    assert chosen.order_up_to == pytest.approx(chosen.reorder_point + chosen.order_quantity)


def test_with_steady_demand_the_simulation_costs_what_the_formulas_say():
    steady = Item(20, 0, 5, 80, 3)
    chosen = policy(steady, 0.95)
    years = 10
    costs = simulate(
        steady,
        np.full(365 * years, 20.0),
        chosen.order_up_to,
        chosen.reorder_point,
        chosen.order_up_to,
    )
    assert costs.stockout_days == 0
    # whole days: each order lasts 31 or 32 days of the 31.2 that Q covers
    assert costs.ordering / years == pytest.approx(7300 / chosen.order_quantity * 80, rel=0.03)
    assert costs.holding / years == pytest.approx(chosen.order_quantity / 2 * 3, rel=0.05)


@pytest.mark.parametrize(
    "item",
    [
        ITEM,
        Item(5, 3, 10, 40, 0.5, 2),  # a slow item, long delivery, cheap to keep
        Item(200, 80, 2, 150, 0.2, 1),  # a fast, lumpy item
    ],
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_policy_costs_less_than_a_standing_order_at_fixed_intervals(item, seed):
    ours, standing, every = compare(item, policy(item, 0.95), 730, seed)
    assert every >= 1 and standing.orders >= 730 // every
    assert ours.total < standing.total
