"""health-ed-forecast as it is served: `POST /api/health-ed-forecast/run` and the bus topic
`agents.health-ed-forecast.run` on four weeks of generated hourly arrivals, hourly and
daily forecasts that agree, and the backtest beating the seasonal naive forecast."""

from __future__ import annotations

import numpy as np
import pytest

from mindframe.sdk.agents import agent_topics

pytestmark = pytest.mark.anyio

AGENT = "health-ed-forecast"
RUN = f"/api/{AGENT}/run"
WEEK = 168


def history(weeks: int = 4, seed: int = 21) -> dict:
    hour = np.arange(weeks * WEEK)
    curve = 6 + 4 * np.sin((hour % 24 - 9) / 24 * 2 * np.pi) + 2 * ((hour // 24) % 7 == 0)
    counts = np.random.default_rng(seed).poisson(curve)
    return {"start": "2026-02-02T00:00:00+01:00", "arrivals": counts.tolist(), "horizon_hours": 48}


@pytest.fixture
async def booted(boot_kernel):
    async with boot_kernel([AGENT, "i18n"]) as kernel:
        yield kernel


async def test_the_route_forecasts_hours_and_days_and_backtests_itself(booted):
    response = await booted.client.post(RUN, json=history())
    assert response.status_code == 200, response.text
    forecast = response.json()["output"]
    hours, days = forecast["hours"], forecast["days"]
    assert len(hours) == 48
    assert hours[0]["at"] == "2026-03-02T00:00:00+01:00"  # the hour after four weeks
    assert all(h["lower"] <= h["mean"] <= h["upper"] for h in hours)
    assert [d["day"] for d in days] == ["2026-03-02", "2026-03-03"]
    assert [d["hours"] for d in days] == [24, 24]
    for day, first in zip(days, (0, 24), strict=True):
        hourly = sum(h["mean"] for h in hours[first : first + 24])
        assert day["mean"] == pytest.approx(hourly, abs=0.5)
        assert day["lower"] <= day["mean"] <= day["upper"]
    assert days[0]["mean"] > days[1]["mean"]  # Mondays are busier
    backtest = forecast["backtest"]
    assert backtest["hours"] == WEEK and backtest["mase"] < 1
    assert backtest["mae"] < backtest["seasonal_naive_mae"]
    assert "better than the seasonal naive forecast" in forecast["summary"]


async def test_the_bus_topic_runs_the_agent_and_replies_with_the_run(booted):
    topics = agent_topics(AGENT)
    two_weeks = {**history(weeks=2), "horizon_hours": 24}
    reply = await booted.runtime.bus.request(topics.run(input=two_weeks), timeout=60)
    assert reply["status"] == "completed", reply
    assert len(reply["output"]["hours"]) == 24
    assert reply["output"]["backtest"] is None  # two weeks fit, but leave none to test on


async def test_less_than_two_weeks_is_a_400_naming_the_field(booted):
    short = {**history(weeks=2), "arrivals": history(weeks=2)["arrivals"][:-1]}
    response = await booted.client.post(RUN, json=short)
    assert response.status_code == 400
    assert "arrivals" in response.text
