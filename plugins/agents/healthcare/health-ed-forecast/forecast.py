"""Hourly emergency-department arrivals forecast with Holt-Winters exponential smoothing
(statsmodels' ETS: additive error, level and a weekly season of 168 hours).

Counts are modelled on their square root, which steadies a Poisson-like variance (quiet
nights vary less than busy afternoons); forecasts and intervals come from simulated future
paths squared back, so the hourly and the daily intervals agree. A backtest on the last
week of the history compares the model with the seasonal naive forecast (same hour last
week). numpy, statsmodels and pandas are imported inside the functions, so loading the
plugin stays fast.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

SEASON = 168
"""Hours in a week: arrivals follow the hour of the day and the day of the week."""
SIMULATIONS = 1000


@dataclass(frozen=True)
class Forecast:
    hours: list[datetime]
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    paths: np.ndarray  # simulated arrivals, hours x simulations


@dataclass(frozen=True)
class Backtest:
    hours: int
    mae: float
    seasonal_naive_mae: float
    mase: float


def fitted_model(start: datetime, arrivals: np.ndarray) -> Any:
    """ETS(A,N,A) on the square roots of the counts, weekly season."""
    import numpy as np
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    index = pd.date_range(start, periods=len(arrivals), freq="h")
    series = pd.Series(np.sqrt(arrivals.astype(float)), index=index)
    model = ETSModel(
        series,
        error="add",
        trend=None,
        seasonal="add",
        seasonal_periods=SEASON,
        initialization_method="heuristic",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the backtest judges the fit
        return model.fit(disp=False)


def forecast(
    start: datetime, arrivals: np.ndarray, horizon: int, level: float, seed: int = 0
) -> Forecast:
    """The next `horizon` hours: mean and central `level` interval, in whole arrivals."""
    import numpy as np
    import pandas as pd

    fitted = fitted_model(start, arrivals)
    simulated = fitted.simulate(
        horizon, repetitions=SIMULATIONS, anchor="end", rng=np.random.default_rng(seed)
    )
    paths = np.square(np.clip(np.asarray(simulated, dtype=float).reshape(horizon, -1), 0, None))
    tail = (1 - level) / 2
    hours = pd.date_range(start, periods=len(arrivals) + horizon, freq="h")[len(arrivals) :]
    return Forecast(
        hours=[moment.to_pydatetime() for moment in hours],
        mean=paths.mean(axis=1),
        lower=np.round(np.quantile(paths, tail, axis=1)),
        upper=np.round(np.quantile(paths, 1 - tail, axis=1)),
        paths=paths,
    )


def backtest(start: datetime, arrivals: np.ndarray) -> Backtest:
    """Forecast the last week from the weeks before it; MASE scales the error by the
    seasonal naive forecast's in-sample error, so below 1 beats same-hour-last-week."""
    import numpy as np

    train, held_out = arrivals[:-SEASON], arrivals[-SEASON:]
    predicted = forecast(start, train, SEASON, 0.8).mean
    naive_in_sample = float(np.mean(np.abs(train[SEASON:] - train[:-SEASON])))
    mae = float(np.mean(np.abs(held_out - predicted)))
    return Backtest(
        hours=SEASON,
        mae=mae,
        seasonal_naive_mae=float(np.mean(np.abs(held_out - train[-SEASON:]))),
        mase=mae / naive_in_sample if naive_in_sample else float("inf"),
    )
