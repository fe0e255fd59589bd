"""The learners on their own: propensities are the real choice probabilities, state
round-trips, and each learns what a known world rewards."""

from __future__ import annotations

import numpy as np
import pytest
from mindframe_plugins.learning.kinds import make_learner
from mindframe_plugins.learning.learner import Learner

BANDITS = ["epsilon_greedy", "ucb1", "thompson_beta", "thompson_gaussian"]
CONTEXTUAL = ["linucb", "lin_thompson"]


def trained(kind: str, seed: int = 3) -> Learner:
    """A learner that has seen 300 rewards from three arms of means .2, .5, .6."""
    learner = make_learner(kind, 3, {"seed": seed, "epsilon": 0.2})
    rng = np.random.default_rng(seed)
    means = [0.2, 0.5, 0.6]
    for i in range(300):
        context = {"colour": "red" if i % 2 else "blue"}
        action, _ = learner.choose(context, None)
        learner.learn(str(i), context, action, float(rng.random() < means[action]), True)
    return learner


@pytest.mark.parametrize("kind", BANDITS + CONTEXTUAL)
def test_the_propensity_is_the_frequency_the_action_is_chosen_with(kind):
    learner = trained(kind)
    context = {"colour": "red"}
    draws = 20_000
    seen = np.zeros(3)
    stated = np.zeros(3)
    for _ in range(draws):
        action, propensity = learner.choose(context, None)
        seen[action] += 1
        stated[action] = propensity
    frequency = seen / draws
    chosen = seen > 0
    # lin_thompson draws a new ensemble per decision: its own test below averages them
    tolerance = 0.03 if kind != "lin_thompson" else 0.15
    assert np.all(np.abs(frequency[chosen] - stated[chosen]) < tolerance)
    assert np.all(stated[~chosen] == 0)


def test_lin_thompson_propensities_average_to_the_choice_frequencies():
    learner = trained("lin_thompson")
    context = {"colour": "red"}
    seen, stated = np.zeros(3), np.zeros(3)
    for _ in range(5_000):
        action, _propensity = learner.choose(context, None)
        seen[action] += 1
        stated += learner.probabilities([context])[0]
    assert np.abs(seen / 5_000 - stated / 5_000).max() < 0.03


@pytest.mark.parametrize("kind", BANDITS + CONTEXTUAL)
def test_a_restricted_choice_never_leaves_the_allowed_actions(kind):
    learner = trained(kind)
    for _ in range(500):
        action, propensity = learner.choose({"colour": "blue"}, [0, 1])
        assert action in (0, 1)
        assert 0 < propensity <= 1


@pytest.mark.parametrize("kind", [*BANDITS, *CONTEXTUAL, "q_learning", "sarsa"])
def test_state_round_trips_to_a_learner_that_acts_the_same(kind):
    learner = trained(kind) if kind not in ("q_learning", "sarsa") else trained_tabular(kind)
    copy = make_learner(kind, 3, learner.options)
    copy.load(learner.state())
    contexts = [{"colour": "red", "state": "s1", "episode": "e"}]
    if kind in ("thompson_beta", "thompson_gaussian", "lin_thompson"):
        learner.load(learner.state())  # both draw their posterior ensemble anew, alike
        learner.rng = np.random.default_rng(9)
        copy.rng = np.random.default_rng(9)
    assert np.allclose(learner.probabilities(contexts), copy.probabilities(contexts))
    assert copy.state() == learner.state()


def trained_tabular(kind: str) -> Learner:
    learner = make_learner(kind, 3, {"seed": 3, "batch": 4})
    for episode in range(20):
        for step in range(3):
            context = {"state": f"s{step}", "episode": str(episode)}
            action, _ = learner.choose(context, None)
            learner.observe(f"{episode}-{step}", context, action)
            learner.learn(f"{episode}-{step}", context, action, float(action == step), step == 2)
    return learner


def test_the_best_arm_is_learned_by_every_context_free_bandit():
    for kind in BANDITS:
        learner = trained(kind)
        assert learner.counts[2] + learner.counts[1] > learner.counts[0], kind


def test_thompson_beta_refuses_a_reward_outside_zero_to_one():
    learner = make_learner("thompson_beta", 2, {})
    with pytest.raises(ValueError):
        learner.learn("d", None, 0, 2.0, True)


@pytest.mark.parametrize("kind", ["thompson_beta", "thompson_gaussian"])
def test_thompson_draws_updated_reward_by_reward_stay_exact_posterior_draws(kind):
    """The ensemble is never drawn anew: rewards move each draw by a conjugate update
    (applied one by one and in batches here). After 80 rewards its draws of the rewarded
    action must still be distributed as the exact posterior (Kolmogorov-Smirnov)."""
    from scipy import stats

    learner = make_learner(kind, 2, {"seed": 1, "samples": 5_000})
    prior, untouched = learner.draws[:, 0].copy(), learner.draws[:, 1].copy()
    rng = np.random.default_rng(2)
    rewards = (
        (rng.random(80) < 0.7).astype(float) if kind == "thompson_beta" else rng.normal(2, 1, 80)
    )
    for i, reward in enumerate(rewards):
        learner.learn(str(i), None, 0, float(reward), True)
        if i % 3 == 0:  # the others wait, and are applied together
            learner.choose(None, None)
    draws = learner.draws[:, 0]
    if kind == "thompson_beta":
        posterior = stats.beta(1 + rewards.sum(), 1 + len(rewards) - rewards.sum())
    else:  # prior N(0, 1), noise sd 1
        precision = 1 + len(rewards)
        posterior = stats.norm(rewards.sum() / precision, precision**-0.5)
    assert stats.kstest(draws, posterior.cdf).pvalue > 0.01
    assert stats.kstest(prior, posterior.cdf).pvalue < 1e-6  # the draws did move
    assert np.array_equal(learner.draws[:, 1], untouched)  # the other action's draws stay
