"""Off-policy estimates: what a target policy would have earned on logged decisions.

Each estimator is a mean of per-decision terms, so its confidence interval is the t
interval of that mean (scipy's `ttest_1samp(...).confidence_interval`): IPS weighs each
logged reward by target/logging probability; self-normalised IPS divides by the sum of the
weights instead of n (its interval is that of its influence terms, the delta method); the
direct method averages a reward model's predictions under the target policy; doubly robust
adds the IPS-weighted error of that model, and stays unbiased when either part is right.
scipy is imported here, where it is used, not when the plugin loads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Estimate:
    value: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def mean_interval(terms: np.ndarray, level: float = 0.95) -> Estimate:
    """The mean of `terms` with its t confidence interval at `level`."""
    from scipy import stats

    terms = np.asarray(terms, dtype=float)
    value = float(terms.mean())
    if len(terms) < 2 or float(terms.std()) == 0.0:
        return Estimate(value, value, value, len(terms))
    low, high = stats.ttest_1samp(terms, 0.0).confidence_interval(level)
    return Estimate(value, float(low), float(high), len(terms))


def weights(target: np.ndarray, logged_propensity: np.ndarray) -> np.ndarray:
    """target(a_i | x_i) / logging(a_i | x_i) for each logged decision."""
    return np.asarray(target, dtype=float) / np.asarray(logged_propensity, dtype=float)


def ips(rewards: np.ndarray, w: np.ndarray, level: float = 0.95) -> Estimate:
    return mean_interval(w * rewards, level)


def snips(rewards: np.ndarray, w: np.ndarray, level: float = 0.95) -> Estimate:
    value = float((w * rewards).sum() / w.sum())
    influence = w * (rewards - value) / w.mean()
    spread = mean_interval(influence, level)
    return Estimate(value, value + spread.low, value + spread.high, len(rewards))


def direct(target_matrix: np.ndarray, predicted: np.ndarray, level: float = 0.95) -> Estimate:
    """Not counting the reward model's own error (a known optimism of the direct method)."""
    return mean_interval((target_matrix * predicted).sum(axis=1), level)


def doubly_robust(
    rewards: np.ndarray,
    actions: np.ndarray,
    w: np.ndarray,
    target_matrix: np.ndarray,
    predicted: np.ndarray,
    level: float = 0.95,
) -> Estimate:
    terms = doubly_robust_terms(rewards, actions, w, target_matrix, predicted)
    return mean_interval(terms, level)


def doubly_robust_terms(
    rewards: np.ndarray,
    actions: np.ndarray,
    w: np.ndarray,
    target_matrix: np.ndarray,
    predicted: np.ndarray,
) -> np.ndarray:
    model = (target_matrix * predicted).sum(axis=1)
    return model + w * (rewards - predicted[np.arange(len(actions)), actions])


def all_estimates(
    rewards: np.ndarray,
    actions: np.ndarray,
    logged_propensity: np.ndarray,
    target_matrix: np.ndarray,
    predicted: np.ndarray,
    level: float = 0.95,
) -> dict[str, Estimate]:
    w = weights(target_matrix[np.arange(len(actions)), actions], logged_propensity)
    return {
        "ips": ips(rewards, w, level),
        "snips": snips(rewards, w, level),
        "dm": direct(target_matrix, predicted, level),
        "dr": doubly_robust(rewards, actions, w, target_matrix, predicted, level),
    }
