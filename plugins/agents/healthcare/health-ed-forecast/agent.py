"""Emergency-department arrivals: the coming hours and days forecast from the department's
own hourly counts, with prediction intervals and a backtest against the seasonal naive
forecast, so the reader can judge how far to trust it."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import msgspec

from mindframe.sdk.agents import Agent, Run
from mindframe.sdk.i18n import N_, Localizer

from .forecast import SEASON, backtest, forecast

if TYPE_CHECKING:
    from .forecast import Backtest, Forecast

MAX_HISTORY = 52 * SEASON
BACKTEST_WEEKS = 3
"""A backtest keeps a week back and still fits on two."""


class ArrivalHistory(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    start: Annotated[
        datetime,
        msgspec.Meta(
            description=N_("The hour the first count is for"),
            examples=["2026-01-05T00:00:00+01:00"],
        ),
    ]
    arrivals: Annotated[
        list[Annotated[int, msgspec.Meta(ge=0)]],
        msgspec.Meta(
            min_length=2 * SEASON,
            max_length=MAX_HISTORY,
            description=N_("Arrivals in each hour, oldest first: at least two weeks"),
        ),
    ]
    horizon_hours: Annotated[
        int, msgspec.Meta(ge=1, le=2 * SEASON, description=N_("Hours to forecast"))
    ] = SEASON
    level: Annotated[
        float,
        msgspec.Meta(
            ge=0.5, le=0.99, description=N_("Share of outcomes the intervals should hold")
        ),
    ] = 0.8


class HourForecast(msgspec.Struct, kw_only=True):
    at: datetime
    mean: float
    lower: int
    upper: int


class DayForecast(msgspec.Struct, kw_only=True):
    day: date
    hours: Annotated[int, msgspec.Meta(description=N_("Hours of the day inside the forecast"))]
    mean: float
    lower: int
    upper: int


class BacktestResult(msgspec.Struct, kw_only=True):
    hours: int
    mae: Annotated[float, msgspec.Meta(description=N_("Mean absolute error on the held-out week"))]
    seasonal_naive_mae: Annotated[
        float, msgspec.Meta(description=N_("The same for the arrivals of the week before"))
    ]
    mase: Annotated[
        float,
        msgspec.Meta(
            description=N_("Mean absolute scaled error: below 1 beats the seasonal naive forecast")
        ),
    ]


class ArrivalsForecast(msgspec.Struct, kw_only=True):
    level: float
    hours: list[HourForecast]
    days: list[DayForecast]
    backtest: BacktestResult | None
    summary: str


def by_day(result: Forecast, level: float) -> list[DayForecast]:
    """Daily totals with their own interval, from the same simulated paths."""
    import numpy as np  # here and in the model, not at start-up

    tail = (1 - level) / 2
    days: dict[date, list[int]] = {}
    for row, moment in enumerate(result.hours):
        days.setdefault(moment.date(), []).append(row)
    out = []
    for day, rows in days.items():
        totals = result.paths[rows].sum(axis=0)
        out.append(
            DayForecast(
                day=day,
                hours=len(rows),
                mean=round(float(totals.mean()), 1),
                lower=int(np.round(np.quantile(totals, tail))),
                upper=int(np.round(np.quantile(totals, 1 - tail))),
            )
        )
    return out


def summarise(days: list[DayForecast], checked: Backtest | None, level: float, run: Run) -> str:
    l10n = Localizer(run.locale)
    busiest = max(days, key=lambda day: day.mean)
    text = run.gettext(
        "Busiest day: {day}, about {mean} arrivals ({lower} to {upper} with {level} probability)."
    ).format(
        day=l10n.format_date(busiest.day),
        mean=l10n.format_number(round(busiest.mean)),
        lower=busiest.lower,
        upper=busiest.upper,
        level=l10n.format_percent(level),
    )
    if checked is None:
        return text + " " + run.gettext("Three weeks of history or more give a backtest.")
    verdict = (
        N_("better than the seasonal naive forecast")
        if checked.mase < 1
        else N_("no better than the seasonal naive forecast: use it with care")
    )
    return (
        text
        + " "
        + run.gettext(
            "On the last week of the history the model scored a MASE of {mase}, {verdict}."
        ).format(mase=l10n.format_number(round(checked.mase, 2)), verdict=run.gettext(verdict))
    )


def predict(data: ArrivalHistory) -> tuple[Forecast, Backtest | None]:
    import numpy as np

    counts = np.asarray(data.arrivals)
    result = forecast(data.start, counts, data.horizon_hours, data.level)
    checked = backtest(data.start, counts) if len(counts) >= BACKTEST_WEEKS * SEASON else None
    return result, checked


async def run(data: ArrivalHistory, run: Run) -> ArrivalsForecast:
    result, checked = await run.thread(predict, data)
    hours = [
        HourForecast(at=moment, mean=round(float(mean), 2), lower=int(lower), upper=int(upper))
        for moment, mean, lower, upper in zip(
            result.hours, result.mean, result.lower, result.upper, strict=True
        )
    ]
    days = by_day(result, data.level)
    return ArrivalsForecast(
        level=data.level,
        hours=hours,
        days=days,
        backtest=None
        if checked is None
        else BacktestResult(
            hours=checked.hours,
            mae=round(checked.mae, 3),
            seasonal_naive_mae=round(checked.seasonal_naive_mae, 3),
            mase=round(checked.mase, 3),
        ),
        summary=summarise(days, checked, data.level, run),
    )


AGENT = Agent(
    industry="healthcare",
    title=N_("Emergency-department arrivals forecast"),
    description=N_(
        "Forecasts arrivals at an emergency department by hour and by day, with prediction "
        "intervals, from its hourly counts (Holt-Winters exponential smoothing with a weekly "
        "season), and backtests itself against the same hour last week."
    ),
    input=ArrivalHistory,
    output=ArrivalsForecast,
    run=run,
)
