"""Cumulative regret on simulated bandits with known means, against mabwiser's
implementation of the same policy (and Vowpal Wabbit's `--cb_explore_adf` epsilon-greedy)
on the same environments, seed by seed, in the same run.

Regret is expected regret: the best mean minus the chosen action's mean, summed, so the
reward noise does not blur it. A seed fixes the environment's rewards and both learners'
generators. Regret varies a lot from seed to seed, so one run proves nothing: ours must be
no worse on average over many seeds, judged by `no_worse`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from mindframe_plugins.learning.features import Featurizer
from mindframe_plugins.learning.kinds import make_learner

mab = pytest.importorskip("mabwiser.mab")

MEANS = np.array([0.1, 0.2, 0.3, 0.45, 0.5, 0.55])
FEATURES = ("f0", "f1", "f2")
"""The contextual world: three numbers in [0, 1] per decision; each action's mean is linear
in them (plus a bias), so a ridge regression per action is the right model."""
THETA = np.random.default_rng(11).uniform([0.1, 0.0, 0.0, 0.0], [0.4, 0.2, 0.2, 0.2], (4, 4))
"""action x (bias, f0, f1, f2): means between 0.1 and 1.0, a different best action by region."""


@dataclass(frozen=True)
class Trial:
    seeds: range
    horizon: int


QUICK = Trial(range(8), 300)
FULL = Trial(range(30), 1_500)


def no_worse(ours: list[float], theirs: list[float]) -> bool:
    """Our mean regret at most the anchor's plus two standard errors of the paired
    difference (seed by seed). Regret summed over a run is a sum of many steps, and the
    seeds are independent, so the mean difference is about normal: were both policies
    equally good, it would exceed two standard errors 2-3 % of the time (one-sided, t with
    n - 1 degrees of freedom); a policy worse by three standard errors fails ~85 % of the
    time. The seeds are fixed, so a verdict repeats exactly until the code changes."""
    difference = np.array(ours) - np.array(theirs)
    standard_error = difference.std(ddof=1) / np.sqrt(len(difference))
    return float(difference.mean()) <= 2 * standard_error


def warm_start(n_actions: int) -> list[tuple[int, float]]:
    """Both sides first see one pull of each action with the same rewards: mabwiser fitted
    on no data stays on the first action it rates best (its UCB1 then wanders for hundreds
    of rounds), which would measure the cold start, not the policy."""
    return [(a, float(a % 2)) for a in range(n_actions)]


def contexts(seed: int, rows: int) -> np.ndarray:
    """rows x (bias, f0, f1, f2): the warm start's and the run's, the same for both sides."""
    rng = np.random.default_rng(2000 + seed)
    x = rng.random((rows, len(FEATURES)))
    return np.hstack([np.ones((len(x), 1)), x])


def as_context(row: np.ndarray) -> dict[str, float]:
    return dict(zip(FEATURES, row[1:].tolist(), strict=True))


def test_the_contextual_features_land_in_their_own_slots():
    """Our linear learners hash names into slots; distinct slots make their features the
    same numbers mabwiser is given, so both regress on the same design."""
    slots = Featurizer(64).vector({name: 2.0**i for i, name in enumerate(FEATURES)})
    assert sorted(slots[slots != 0]) == [1.0, 1.0, 2.0, 4.0]


def our_regret(kind: str, options: dict, seed: int, horizon: int) -> float:
    means = MEANS if kind not in CONTEXTUAL else None
    n_actions = len(MEANS) if means is not None else len(THETA)
    learner = make_learner(kind, n_actions, {**options, "seed": seed})
    x = contexts(seed, n_actions + horizon)
    for i, (action, reward) in enumerate(warm_start(n_actions)):
        learner.learn("warm", as_context(x[i]), action, reward, True)
    rng = np.random.default_rng(1000 + seed)
    regret = 0.0
    for i in range(horizon):
        row = x[n_actions + i]
        true = MEANS if means is not None else THETA @ row
        action, _ = learner.choose(as_context(row), None)
        learner.learn(str(i), as_context(row), action, float(rng.random() < true[action]), True)
        regret += true.max() - true[action]
    return regret


def mabwiser_regret(kind: str, policy: Callable, seed: int, horizon: int) -> float:
    contextual = kind in CONTEXTUAL
    n_actions = len(THETA) if contextual else len(MEANS)
    model = mab.MAB(arms=list(range(n_actions)), learning_policy=policy(), seed=seed)
    x = contexts(seed, n_actions + horizon)
    warm = warm_start(n_actions)
    model.fit(
        decisions=[a for a, _ in warm],
        rewards=[r for _, r in warm],
        contexts=x[:n_actions] if contextual else None,
    )
    if contextual:
        one_generator(model)
    rng = np.random.default_rng(1000 + seed)
    regret = 0.0
    for i in range(horizon):
        row = x[n_actions + i]
        true = THETA @ row if contextual else MEANS
        action = model.predict(row[None, :]) if contextual else model.predict()
        reward = float(rng.random() < true[action])
        model.partial_fit([action], [reward], row[None, :] if contextual else None)
        regret += true.max() - true[action]
        if contextual:
            one_generator(model)
    return regret


def one_generator(model) -> None:  # type: ignore[no-untyped-def]
    """Point every arm's regression back at the MAB's random generator. mabwiser 2.7 fits an
    arm on a deep copy of its model, generator included, so after a fit every arm holds its
    own copy of one state and LinTS samples every arm's coefficients with the same normal
    numbers: the arms' scores move together, which is not Thompson sampling's independent
    draws per arm (and explores less). Shared again, each arm draws its own."""
    for regression in model._imp.arm_to_model.values():
        regression.rng = model._imp.rng


CONTEXTUAL = ("linucb", "lin_thompson")
CASES = {
    "epsilon_greedy": ({"epsilon": 0.1}, lambda: mab.LearningPolicy.EpsilonGreedy(epsilon=0.1)),
    "ucb1": ({"alpha": 1.0}, lambda: mab.LearningPolicy.UCB1(alpha=1.0)),
    "thompson_beta": ({}, lambda: mab.LearningPolicy.ThompsonSampling()),
    "linucb": ({"alpha": 1.0, "ridge": 1.0}, lambda: mab.LearningPolicy.LinUCB(alpha=1.0)),
    "lin_thompson": ({"v": 0.5, "ridge": 1.0}, lambda: mab.LearningPolicy.LinTS(alpha=0.5)),
}
"""Our kind and options, and mabwiser's same policy with the same parameters (LinTS's
alpha scales the posterior's covariance as our v does; both regularise with 1)."""


def compare(kind: str, trial: Trial) -> tuple[list[float], list[float]]:
    options, policy = CASES[kind]
    ours = [our_regret(kind, options, seed, trial.horizon) for seed in trial.seeds]
    theirs = [mabwiser_regret(kind, policy, seed, trial.horizon) for seed in trial.seeds]
    difference = np.array(ours) - np.array(theirs)
    print(
        f"{kind}, {len(trial.seeds)} seeds x {trial.horizon}: ours {np.mean(ours):.1f}, "
        f"mabwiser {np.mean(theirs):.1f}, difference {difference.mean():.1f} "
        f"(standard error {difference.std(ddof=1) / np.sqrt(len(difference)):.1f})"
    )
    return ours, theirs


@pytest.mark.parametrize("kind", list(CASES))
def test_cumulative_regret_is_no_worse_than_mabwisers_same_policy_quick(kind):
    assert no_worse(*compare(kind, QUICK))


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(CASES))
def test_cumulative_regret_is_no_worse_than_mabwisers_same_policy(kind):
    assert no_worse(*compare(kind, FULL))


def test_the_comparison_catches_a_policy_that_explores_too_much():
    """The verdict can fail: epsilon-greedy exploring five times as often as mabwiser's
    (over the full trial, twice as often fails too: 76 against 52, standard error 7)."""
    policy = CASES["epsilon_greedy"][1]
    ours = [our_regret("epsilon_greedy", {"epsilon": 0.5}, s, QUICK.horizon) for s in QUICK.seeds]
    theirs = [mabwiser_regret("epsilon_greedy", policy, s, QUICK.horizon) for s in QUICK.seeds]
    assert not no_worse(ours, theirs)


@pytest.mark.slow
def test_epsilon_greedy_regret_is_no_worse_than_vowpal_wabbits_cb_explore_adf():
    vw = pytest.importorskip("vowpalwabbit")
    ours, theirs = [], []
    for seed in FULL.seeds:
        ours.append(our_regret("epsilon_greedy", {"epsilon": 0.05}, seed, FULL.horizon))
        workspace = vw.Workspace(f"--cb_explore_adf --epsilon 0.05 --quiet --random_seed {seed}")
        rng = np.random.default_rng(1000 + seed)
        regret = 0.0
        actions = [f"| arm={a}" for a in range(len(MEANS))]
        for _ in range(FULL.horizon):
            probabilities = np.array(workspace.predict(["shared | x", *actions]))
            action = int(rng.choice(len(MEANS), p=probabilities / probabilities.sum()))
            cost = -float(rng.random() < MEANS[action])
            labelled = ["shared | x"] + [
                (f"0:{cost}:{probabilities[a]} " if a == action else "") + line
                for a, line in enumerate(actions)
            ]
            workspace.learn(labelled)
            regret += MEANS.max() - MEANS[action]
        workspace.finish()
        theirs.append(regret)
    print(f"epsilon_greedy: ours {np.mean(ours):.1f}, vw {np.mean(theirs):.1f}")
    assert no_worse(ours, theirs)
