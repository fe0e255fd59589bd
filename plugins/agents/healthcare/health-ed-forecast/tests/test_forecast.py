"""The arrivals forecast backtested on generated hourly counts with a known weekly pattern
(Poisson arrivals around a daily curve, busier Mondays and weekends, a slow rise): on the
week held out it must beat the seasonal naive forecast (same hour last week), MASE below
1, and its intervals must hold about as many hours as their level promises."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from mindframe_plugins.health_ed_forecast.forecast import SEASON, forecast

DAILY_CURVE = np.array(
    [3, 2.5, 2, 1.8, 1.7, 2, 3, 5, 8, 10, 11, 11, 10.5, 10, 9.5, 9, 9, 9.5, 9, 8, 7, 6, 5, 4]
)
WEEKDAY_FACTOR = np.array([1.2, 1.05, 1.0, 1.0, 1.0, 0.95, 1.1])
START = datetime(2026, 1, 5)  # a Monday
WEEKS = 11


def expected_arrivals(hours: int) -> np.ndarray:
    hour = np.arange(hours)
    return DAILY_CURVE[hour % 24] * WEEKDAY_FACTOR[(hour // 24) % 7] * (1 + 0.0002 * hour)


def arrivals(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).poisson(expected_arrivals(WEEKS * SEASON))


def held_out(seed: int) -> tuple[np.ndarray, np.ndarray]:
    counts = arrivals(seed)
    return counts[:-SEASON], counts[-SEASON:]


def test_the_backtest_beats_the_seasonal_naive_forecast_and_80_percent_intervals_hold():
    mases, relative, covered = [], [], []
    for seed in range(3):
        train, actual = held_out(seed)
        result = forecast(START, train, SEASON, 0.8)
        mae = np.mean(np.abs(actual - result.mean))
        in_sample_naive = np.mean(np.abs(train[SEASON:] - train[:-SEASON]))
        mases.append(mae / in_sample_naive)
        relative.append(mae / np.mean(np.abs(actual - train[-SEASON:])))
        covered.append(np.mean((actual >= result.lower) & (actual <= result.upper)))
    assert max(mases) < 0.95, mases
    assert np.mean(relative) < 0.85, relative
    assert 0.74 <= np.mean(covered) <= 0.88, covered


def test_95_percent_intervals_hold_about_95_percent_of_the_hours():
    covered = []
    for seed in range(3, 6):
        train, actual = held_out(seed)
        result = forecast(START, train, SEASON, 0.95)
        covered.append(np.mean((actual >= result.lower) & (actual <= result.upper)))
    assert 0.91 <= np.mean(covered) <= 0.99, covered


def test_a_pattern_without_noise_is_forecast_as_it_repeats():
    pattern = np.round(expected_arrivals(SEASON) * 2).astype(int)
    counts = np.tile(pattern, 3)
    result = forecast(START, counts, SEASON, 0.8)
    assert np.abs(result.mean - pattern).max() < 0.5
    assert np.all(result.upper - result.lower <= 1)


def test_the_forecast_starts_the_hour_after_the_history():
    train, _ = held_out(7)
    result = forecast(START, train[: 2 * SEASON], 5, 0.8)
    assert result.hours[0] == datetime(2026, 1, 19)
    assert len(result.hours) == len(result.mean) == 5
    assert (result.lower <= result.mean).all() and (result.mean <= result.upper).all()
