"""An (s, S) reorder policy for one stocked item, and a simulation to cost it.

The order quantity is the economic order quantity, Q = sqrt(2 D K / h) for annual demand D,
cost per order K and annual holding cost per unit h (Harris, 1913): it balances ordering
cost D K / Q against holding cost Q h / 2. The reorder point s covers demand over the lead
time L at the chosen cycle service level: s = mu L + z sigma sqrt(L) for daily demand with
mean mu and standard deviation sigma, z the normal quantile. Whenever the inventory
position (on hand plus on order, less backorders) is at or below s, order up to S = s + Q.

`simulate` runs a policy day by day on one demand path, with backorders: each day's
arrivals come in, the demand is taken (what is not in stock waits), and the policy may
order. Costs: each order, each unit held overnight, each unit demanded and not in stock.
The baseline it is checked against orders the same average amount at fixed intervals
without looking at the stock, as a standing order does. numpy is imported inside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

DAYS_PER_YEAR = 365


@dataclass(frozen=True)
class Item:
    daily_demand: float
    daily_demand_sd: float
    lead_time_days: int
    order_cost: float
    holding_cost: float  # per unit and year
    shortage_cost: float = 0.0  # per unit demanded and not in stock


@dataclass(frozen=True)
class Policy:
    reorder_point: float  # s
    order_up_to: float  # S
    order_quantity: float  # Q, the EOQ
    safety_stock: float


@dataclass(frozen=True)
class Costs:
    ordering: float
    holding: float
    shortage: float
    orders: int
    stockout_days: int

    @property
    def total(self) -> float:
        return self.ordering + self.holding + self.shortage


def eoq(annual_demand: float, order_cost: float, holding_cost: float) -> float:
    """The economic order quantity (0 when nothing is used)."""
    if annual_demand <= 0:
        return 0.0
    return math.sqrt(2 * annual_demand * order_cost / holding_cost)


def annual_cost(quantity: float, annual_demand: float, order_cost: float, holding_cost: float):
    """Ordering plus cycle-stock holding cost a year for orders of `quantity`."""
    return annual_demand / quantity * order_cost + quantity / 2 * holding_cost


def policy(item: Item, service_level: float) -> Policy:
    z = NormalDist().inv_cdf(service_level)
    lead = item.lead_time_days
    safety = max(0.0, z * item.daily_demand_sd * math.sqrt(lead))
    s = item.daily_demand * lead + safety
    q = max(eoq(item.daily_demand * DAYS_PER_YEAR, item.order_cost, item.holding_cost), 1.0)
    return Policy(reorder_point=s, order_up_to=s + q, order_quantity=q, safety_stock=safety)


def demand_path(item: Item, days: int, seed: int) -> np.ndarray:
    """Daily demand: normal with the item's mean and deviation, never below zero."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return np.maximum(rng.normal(item.daily_demand, item.daily_demand_sd, days), 0.0)


def simulate(
    item: Item,
    demand: np.ndarray,
    start: float,
    reorder_point: float | None = None,
    order_up_to: float | None = None,
    every: int | None = None,
    fixed_quantity: float | None = None,
) -> Costs:
    """Costs over `demand`, starting with `start` on hand, of either the (s, S) policy
    (`reorder_point`, `order_up_to`) or a standing order of `fixed_quantity` every `every`
    days."""
    on_hand, arriving = start, [0.0] * (len(demand) + item.lead_time_days + 1)
    on_order = 0.0
    ordering = holding = shortage = 0.0
    orders = stockout_days = 0
    per_day_holding = item.holding_cost / DAYS_PER_YEAR
    for day, wanted in enumerate(demand.tolist()):
        on_hand += arriving[day]
        on_order -= arriving[day]
        short = wanted - max(on_hand, 0.0)
        if short > 0:
            shortage += short * item.shortage_cost
            stockout_days += 1
        on_hand -= wanted
        if every is not None:
            quantity = fixed_quantity if day % every == 0 else 0.0
        else:
            position = on_hand + on_order
            quantity = order_up_to - position if position <= reorder_point else 0.0
        if quantity > 0:
            orders += 1
            ordering += item.order_cost
            if item.lead_time_days:
                arriving[day + item.lead_time_days] += quantity
                on_order += quantity
            else:  # arrives at once
                on_hand += quantity
        holding += max(on_hand, 0.0) * per_day_holding
    return Costs(ordering, holding, shortage, orders, stockout_days)


def standing_interval(order_quantity: float, daily_demand: float, days: int) -> int:
    """Days between standing orders, as often as EOQ orders would come: at least one day,
    at most the horizon (a demand too small to order within it, even one that makes the
    quotient overflow, orders once)."""
    if daily_demand <= 0:
        return days
    interval = order_quantity / daily_demand
    return days if not interval < days else max(1, round(interval))


def compare(item: Item, chosen: Policy, days: int, seed: int) -> tuple[Costs, Costs, int]:
    """The (s, S) policy and the standing order on the same demand path, both starting
    half an order above the reorder point (the policy's average stock before safety); the
    standing order comes as often as EOQ orders would, each the average demand of its
    interval. Returns both costs and the standing order's interval in days."""
    demand = demand_path(item, days, seed)
    start = chosen.reorder_point + chosen.order_quantity / 2
    ours = simulate(item, demand, start, chosen.reorder_point, chosen.order_up_to)
    every = standing_interval(chosen.order_quantity, item.daily_demand, days)
    standing = simulate(item, demand, start, every=every, fixed_quantity=item.daily_demand * every)
    return ours, standing, every
