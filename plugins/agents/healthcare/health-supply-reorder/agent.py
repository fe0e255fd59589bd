"""Supply reorder: when to reorder each stocked item and how much, an (s, S) policy whose
order size is the economic order quantity and whose reorder point holds the chosen service
level over the lead time; each item's policy is also simulated against a standing order
at fixed intervals, so its saving can be seen."""

from __future__ import annotations

import math
from typing import Annotated

import msgspec

from mindframe.sdk.agents import Agent, Run
from mindframe.sdk.i18n import N_, Localizer

from .policy import DAYS_PER_YEAR, Item, compare, policy

SEED = 20260
"""The demand paths are drawn with a fixed seed, so the same request simulates the same."""

Amount = Annotated[float, msgspec.Meta(ge=0, le=1e9)]
Money = Annotated[float, msgspec.Meta(ge=0, le=1e7)]


class StockItem(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    item_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["gloves-m"])]
    daily_demand: Annotated[
        float, msgspec.Meta(ge=0, le=1e6, description=N_("Average units used a day"))
    ]
    daily_demand_sd: Annotated[
        float,
        msgspec.Meta(ge=0, le=1e6, description=N_("Standard deviation of the units used a day")),
    ] = 0.0
    lead_time_days: Annotated[
        int, msgspec.Meta(ge=0, le=365, description=N_("Days from ordering to delivery"))
    ]
    unit_cost: Annotated[float, msgspec.Meta(ge=1e-4, le=1e7, description=N_("Price of one unit"))]
    order_cost: Annotated[
        Money, msgspec.Meta(description=N_("Fixed cost of placing and receiving one order"))
    ]
    on_hand: Annotated[Amount, msgspec.Meta(description=N_("Units in stock now"))] = 0.0
    on_order: Annotated[
        Amount, msgspec.Meta(description=N_("Units ordered and not yet delivered"))
    ] = 0.0


class ReorderRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: Annotated[list[StockItem], msgspec.Meta(min_length=1, max_length=500)]
    holding_rate: Annotated[
        float,
        msgspec.Meta(
            ge=1e-4,
            le=5,
            description=N_("Yearly cost of holding a unit, as a share of its price"),
        ),
    ] = 0.25
    service_level: Annotated[
        float,
        msgspec.Meta(
            ge=0.5,
            le=0.9999,
            description=N_("Chance that stock lasts until an order arrives"),
        ),
    ] = 0.95
    shortage_rate: Annotated[
        float,
        msgspec.Meta(
            ge=0,
            le=100,
            description=N_(
                "Cost of a unit needed and not in stock, as a share of its price (simulation)"
            ),
        ),
    ] = 1.0
    simulate_years: Annotated[
        int,
        msgspec.Meta(
            ge=0, le=5, description=N_("Years of demand to simulate each item over; none when 0")
        ),
    ] = 2


class Simulated(msgspec.Struct, kw_only=True):
    cost_per_year: Annotated[
        float, msgspec.Meta(description=N_("Ordering, holding and shortage cost of this policy"))
    ]
    standing_order_cost_per_year: Annotated[
        float,
        msgspec.Meta(
            description=N_(
                "The same for ordering the average demand at fixed intervals without "
                "looking at the stock"
            )
        ),
    ]
    standing_order_every_days: int
    stockout_days_per_year: float


class ReorderPlan(msgspec.Struct, kw_only=True):
    item_id: str
    order_quantity: Annotated[
        float, msgspec.Meta(description=N_("Economic order quantity: sqrt(2DK/h)"))
    ]
    reorder_point: Annotated[
        float, msgspec.Meta(description=N_("Order when the inventory position falls to this (s)"))
    ]
    order_up_to: Annotated[float, msgspec.Meta(description=N_("Order up to this level (S)"))]
    safety_stock: float
    inventory_position: Annotated[float, msgspec.Meta(description=N_("On hand plus on order"))]
    order_now: bool
    order_now_quantity: int
    orders_per_year: float
    cost_per_year: Annotated[
        float,
        msgspec.Meta(
            description=N_("Expected ordering and holding cost a year, safety stock included")
        ),
    ]
    simulated: Simulated | None


class Reorders(msgspec.Struct, kw_only=True):
    items: list[ReorderPlan]
    summary: str


def plan_item(stock: StockItem, data: ReorderRequest) -> ReorderPlan:
    """One item's policy, and its simulation (plain work for a thread)."""
    item = Item(
        daily_demand=stock.daily_demand,
        daily_demand_sd=stock.daily_demand_sd,
        lead_time_days=stock.lead_time_days,
        order_cost=stock.order_cost,
        holding_cost=stock.unit_cost * data.holding_rate,
        shortage_cost=stock.unit_cost * data.shortage_rate,
    )
    chosen = policy(item, data.service_level)
    position = stock.on_hand + stock.on_order
    order_now = position <= chosen.reorder_point and stock.daily_demand > 0
    annual = stock.daily_demand * DAYS_PER_YEAR
    simulated = None
    if data.simulate_years and stock.daily_demand > 0:
        days = data.simulate_years * DAYS_PER_YEAR
        ours, standing, every = compare(item, chosen, days, SEED)
        simulated = Simulated(
            cost_per_year=round(ours.total / data.simulate_years, 2),
            standing_order_cost_per_year=round(standing.total / data.simulate_years, 2),
            standing_order_every_days=every,
            stockout_days_per_year=round(ours.stockout_days / data.simulate_years, 2),
        )
    cost = (
        annual / chosen.order_quantity * item.order_cost
        + (chosen.order_quantity / 2 + chosen.safety_stock) * item.holding_cost
        if annual
        else 0.0
    )
    return ReorderPlan(
        item_id=stock.item_id,
        order_quantity=round(chosen.order_quantity, 2),
        reorder_point=round(chosen.reorder_point, 2),
        order_up_to=round(chosen.order_up_to, 2),
        safety_stock=round(chosen.safety_stock, 2),
        inventory_position=round(position, 2),
        order_now=order_now,
        order_now_quantity=math.ceil(chosen.order_up_to - position) if order_now else 0,
        orders_per_year=round(annual / chosen.order_quantity, 2),
        cost_per_year=round(cost, 2),
        simulated=simulated,
    )


def plan_all(data: ReorderRequest) -> list[ReorderPlan]:
    return [plan_item(stock, data) for stock in data.items]


def summarise(plans: list[ReorderPlan], years: int, run: Run) -> str:
    now = sum(plan.order_now for plan in plans)
    text = run.ngettext(
        "{count} item is due for an order now.", "{count} items are due for an order now.", now
    ).format(count=now)
    simulated = [plan.simulated for plan in plans if plan.simulated is not None]
    if simulated:
        money = Localizer(run.locale).format_number
        text += " " + run.ngettext(
            "Simulated over {years} year, the policies cost {ours} a year against {standing} "
            "for standing orders at fixed intervals.",
            "Simulated over {years} years, the policies cost {ours} a year against {standing} "
            "for standing orders at fixed intervals.",
            years,
        ).format(
            years=years,
            ours=money(round(sum(s.cost_per_year for s in simulated), 2)),
            standing=money(round(sum(s.standing_order_cost_per_year for s in simulated), 2)),
        )
    return text


async def run(data: ReorderRequest, run: Run) -> Reorders:
    plans = await run.thread(plan_all, data)
    return Reorders(items=plans, summary=summarise(plans, data.simulate_years, run))


AGENT = Agent(
    industry="healthcare",
    title=N_("Supply reorder points"),
    description=N_(
        "Gives each stocked item of a ward or pharmacy a reorder point and an order-up-to "
        "level: orders of the economic order quantity, and safety stock for the chosen "
        "service level over the delivery time; says what to order now, and compares each "
        "policy's simulated cost with a standing order at fixed intervals."
    ),
    input=ReorderRequest,
    output=Reorders,
    run=run,
)
