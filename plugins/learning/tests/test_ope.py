"""Off-policy estimates on simulated logs whose true value is known: each estimate lands
within a stated tolerance of the evaluated policy's true value, and the 95 % intervals
cover it at about their nominal rate."""

from __future__ import annotations

import numpy as np
import pytest
from mindframe_plugins.learning import ope
from mindframe_plugins.learning.reward_model import RewardModel

SEGMENTS = ("a", "b", "c", "d")
MEANS = np.array(  # segment x action: the true mean reward
    [[0.2, 0.5, 0.3], [0.6, 0.1, 0.4], [0.3, 0.3, 0.7], [0.5, 0.4, 0.2]]
)
LOGGING = np.array(  # how the logs were made: mostly action 0, everything sometimes
    [[0.6, 0.2, 0.2], [0.5, 0.3, 0.2], [0.4, 0.3, 0.3], [0.7, 0.15, 0.15]]
)
TARGET = np.array(  # the candidate judged on them
    [[0.1, 0.8, 0.1], [0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]]
)
TRUE_VALUE = float((TARGET * MEANS).sum(axis=1).mean())  # segments are equally likely


def logs(rng: np.random.Generator, n: int):
    segment = rng.integers(len(SEGMENTS), size=n)
    u = rng.random(n)[:, None]
    action = (u > np.cumsum(LOGGING[segment], axis=1)).sum(axis=1)
    reward = (rng.random(n) < MEANS[segment, action]).astype(float)
    contexts = [{"segment": SEGMENTS[s]} for s in segment]
    return contexts, segment, action, LOGGING[segment, action], reward


def estimates(seed: int, n: int) -> dict[str, ope.Estimate]:
    rng = np.random.default_rng(seed)
    contexts, segment, action, propensity, reward = logs(rng, n)
    training = logs(rng, n)  # the reward model learns on other logs than it is judged on
    model = RewardModel(3).fit(training[0], training[2], training[4])
    return ope.all_estimates(reward, action, propensity, TARGET[segment], model.predict(contexts))


def test_every_estimate_is_within_its_tolerance_of_the_true_value():
    found = estimates(seed=1, n=20_000)
    tolerance = {"ips": 0.02, "snips": 0.015, "dm": 0.015, "dr": 0.015}
    for name, estimate in found.items():
        assert abs(estimate.value - TRUE_VALUE) < tolerance[name], (name, estimate, TRUE_VALUE)
        assert estimate.low < estimate.value < estimate.high
    # and they are not trivially right: the logging policy's own value is far off
    logging_value = float((LOGGING * MEANS).sum(axis=1).mean())
    assert abs(logging_value - TRUE_VALUE) > 0.1


@pytest.mark.slow
def test_the_95_percent_intervals_cover_the_true_value_about_95_percent_of_the_time():
    covered = {"ips": 0, "snips": 0, "dr": 0}
    runs = 300
    for seed in range(runs):
        found = estimates(seed=100 + seed, n=1_000)
        for name in covered:
            covered[name] += found[name].low <= TRUE_VALUE <= found[name].high
    for name, count in covered.items():
        assert 0.91 <= count / runs <= 0.99, (name, count / runs)


def test_a_doubly_robust_estimate_survives_a_wrong_reward_model():
    rng = np.random.default_rng(5)
    contexts, segment, action, propensity, reward = logs(rng, 20_000)
    wrong = np.full((len(contexts), 3), 0.9)  # predicts 0.9 for everything
    found = ope.all_estimates(reward, action, propensity, TARGET[segment], wrong)
    assert abs(found["dm"].value - TRUE_VALUE) > 0.3  # the direct method is fooled
    assert found["dr"].value == pytest.approx(TRUE_VALUE, abs=0.02)
