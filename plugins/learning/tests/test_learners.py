"""The learners on their own: propensities are the real choice probabilities, state
round-trips, and each learns what a known world rewards."""

from __future__ import annotations

import numpy as np
import pytest
from mindframe_plugins.learning.kinds import make_learner
from mindframe_plugins.learning.learner import Learner

BANDITS = ["epsilon_greedy", "ucb1", "thompson_beta", "thompson_gaussian"]
CONTEXTUAL = ["linucb", "lin_thompson"]
SAMPLED = ["thompson_beta", "thompson_gaussian", "lin_thompson"]


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


@pytest.mark.parametrize("kind", ["epsilon_greedy", "ucb1", "linucb"])
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
    assert np.all(np.abs(frequency[chosen] - stated[chosen]) < 0.03)
    assert np.all(stated[~chosen] == 0)


@pytest.mark.parametrize("kind", SAMPLED)
def test_sampled_propensities_average_to_the_choice_frequencies(kind):
    """Thompson sampling states the share of the decision's own fresh draws, which varies
    from decision to decision; on average over decisions it is the choice frequency."""
    learner = trained(kind)
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
        # both draw afresh from the same posterior: with the same generator, alike
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


def posterior_of_three_arms(kind: str) -> tuple[Learner, list]:
    """A Thompson learner told 0/1 rewards (Beta) or rewards around 0.4-0.5 (Gaussian) for
    three arms, and each arm's exact posterior of its mean (scipy)."""
    from scipy import stats

    learner = make_learner(kind, 3, {"seed": 4})
    successes, failures = [7, 9, 3], [11, 9, 5]
    for action in range(3):
        rewards = [1.0] * successes[action] + [0.0] * failures[action]
        for i, reward in enumerate(rewards):
            learner.learn(f"{action}-{i}", None, action, reward, True)
    if kind == "thompson_beta":  # prior Beta(1, 1)
        return learner, [stats.beta(1 + s, 1 + f) for s, f in zip(successes, failures, strict=True)]
    posteriors = []  # prior N(0, 1), noise sd 1
    for s, f in zip(successes, failures, strict=True):
        precision = 1 + s + f
        posteriors.append(stats.norm(s / precision, precision**-0.5))
    return learner, posteriors


@pytest.mark.parametrize("kind", ["thompson_beta", "thompson_gaussian"])
def test_thompson_draws_are_exact_posterior_draws(kind):
    from scipy import stats

    learner, posteriors = posterior_of_three_arms(kind)
    draws = learner.posterior_draws(5_000)
    for action, posterior in enumerate(posteriors):
        assert stats.kstest(draws[:, action], posterior.cdf).pvalue > 0.01, action


@pytest.mark.parametrize("kind", ["thompson_beta", "thompson_gaussian"])
def test_thompson_chooses_each_action_with_its_probability_of_being_best(kind):
    """Every decision draws afresh: over many decisions (nothing learned between them) each
    action is chosen as often as the posterior makes it the best, the integral of its
    density times the others' distribution functions. A set of draws reused across
    decisions would freeze its own sampling error instead (sd ~0.04 with 128 draws)."""
    from scipy import integrate

    learner, posteriors = posterior_of_three_arms(kind)
    best = [
        integrate.quad(
            lambda x, a=action: (
                posteriors[a].pdf(x)
                * np.prod([p.cdf(x) for b, p in enumerate(posteriors) if b != a])
            ),
            *posteriors[action].support(),
        )[0]
        for action in range(3)
    ]
    n = 20_000
    seen = np.bincount([learner.choose(None, None)[0] for _ in range(n)], minlength=3) / n
    standard_error = np.sqrt(np.array(best) * (1 - np.array(best)) / n)
    assert np.all(np.abs(seen - best) < 4 * standard_error), (seen, best)


@pytest.mark.parametrize("kind", ["thompson_beta", "thompson_gaussian"])
def test_thompson_propensities_are_exact_given_the_decisions_draws(kind):
    """Inverse-propensity weighting with the stated propensities counts each action's
    decisions back to all of them: the mean of 1{action = a} / propensity is 1 for every
    action the draws give a share (here p(best) >= 0.2: 32 draws miss it 0.1 % of the time)."""
    learner, _ = posterior_of_three_arms(kind)
    n = 20_000
    weights = np.zeros((n, 3))
    for i in range(n):
        action, propensity = learner.choose(None, None)
        weights[i, action] = 1.0 / propensity
    standard_error = weights.std(axis=0, ddof=1) / np.sqrt(n)
    assert np.all(np.abs(weights.mean(axis=0) - 1.0) < 4 * standard_error), weights.mean(axis=0)
