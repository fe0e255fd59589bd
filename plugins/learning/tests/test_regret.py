"""Cumulative regret on simulated arms with known means, against mabwiser's implementation
of the same policy (and Vowpal Wabbit's `--cb_explore_adf` epsilon-greedy) on the same
seeds, in the same run. Regret is expected regret: the best mean minus the chosen arm's
mean, summed, so the reward noise does not blur the comparison."""

from __future__ import annotations

import numpy as np
import pytest
from mindframe_plugins.learning.kinds import make_learner

mab = pytest.importorskip("mabwiser.mab")

MEANS = np.array([0.1, 0.2, 0.3, 0.45, 0.5, 0.55])
HORIZON = 2_000
SEEDS = range(10)
WARM_START = [(a, float(a % 2)) for a in range(len(MEANS))]
"""Both sides first see one pull of each arm with the same rewards: mabwiser fitted on no
data stays on the first arm it rates best (its UCB1 then wanders for hundreds of rounds),
which would measure the cold start, not the policy."""


def no_worse(ours: list[float], theirs: list[float]) -> bool:
    """Mean regret within 10 % of the anchor's, give or take two standard errors of the
    paired difference over the seeds (regret varies a lot from seed to seed)."""
    difference = np.array(ours) - np.array(theirs)
    slack = 2 * difference.std(ddof=1) / np.sqrt(len(difference))
    return float(np.mean(ours)) <= 1.10 * float(np.mean(theirs)) + slack


def our_regret(kind: str, options: dict, seed: int) -> float:
    learner = make_learner(kind, len(MEANS), {**options, "seed": seed})
    for action, reward in WARM_START:
        learner.learn("warm", None, action, reward, True)
    rng = np.random.default_rng(1000 + seed)
    regret = 0.0
    for i in range(HORIZON):
        action, _ = learner.choose(None, None)
        learner.learn(str(i), None, action, float(rng.random() < MEANS[action]), True)
        regret += MEANS.max() - MEANS[action]
    return regret


def mabwiser_regret(policy, seed: int) -> float:
    model = mab.MAB(arms=list(range(len(MEANS))), learning_policy=policy, seed=seed)
    rng = np.random.default_rng(1000 + seed)
    model.fit(decisions=[a for a, _ in WARM_START], rewards=[r for _, r in WARM_START])
    regret = 0.0
    for _ in range(HORIZON):
        action = model.predict()
        model.partial_fit([action], [float(rng.random() < MEANS[action])])
        regret += MEANS.max() - MEANS[action]
    return regret


CASES = {
    "epsilon_greedy": ({"epsilon": 0.1}, lambda: mab.LearningPolicy.EpsilonGreedy(epsilon=0.1)),
    "ucb1": ({"alpha": 1.0}, lambda: mab.LearningPolicy.UCB1(alpha=1.0)),
    "thompson_beta": ({}, lambda: mab.LearningPolicy.ThompsonSampling()),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(CASES))
def test_cumulative_regret_is_no_worse_than_mabwisers_same_policy(kind):
    options, policy = CASES[kind]
    ours = [our_regret(kind, options, seed) for seed in SEEDS]
    theirs = [mabwiser_regret(policy(), seed) for seed in SEEDS]
    print(f"{kind}: ours {np.mean(ours):.1f}, mabwiser {np.mean(theirs):.1f}")
    assert no_worse(ours, theirs)


@pytest.mark.slow
def test_epsilon_greedy_regret_is_no_worse_than_vowpal_wabbits_cb_explore_adf():
    vw = pytest.importorskip("vowpalwabbit")
    ours, theirs = [], []
    for seed in SEEDS:
        ours.append(our_regret("epsilon_greedy", {"epsilon": 0.05}, seed))
        workspace = vw.Workspace(f"--cb_explore_adf --epsilon 0.05 --quiet --random_seed {seed}")
        rng = np.random.default_rng(1000 + seed)
        regret = 0.0
        actions = [f"| arm={a}" for a in range(len(MEANS))]
        for _ in range(HORIZON):
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
