"""Tabular Q-learning on gymnasium's toy-text tasks, against the optimum computed here by
value iteration on the task's own transition table. (gymnasium 1.x names them Taxi-v4 and
CliffWalking-v1; with their default options they are the same MDPs as Taxi-v3 and
CliffWalking-v0.)"""

from __future__ import annotations

import numpy as np
import pytest
from mindframe_plugins.learning.kinds import make_learner
from mindframe_plugins.learning.tabular import TabularLearner

gym = pytest.importorskip("gymnasium")


def optimal_values(env) -> np.ndarray:
    """Undiscounted value iteration: the best expected return from every state."""
    table = env.unwrapped.P
    values = np.zeros(len(table))
    for _ in range(5_000):
        updated = np.array(
            [
                max(
                    sum(p * (r + (0.0 if done else values[nxt])) for p, nxt, r, done in outcomes)
                    for outcomes in table[state].values()
                )
                for state in range(len(table))
            ]
        )
        if np.abs(updated - values).max() < 1e-9:
            return updated
        values = updated
    raise AssertionError("value iteration did not converge")


def greedy_return(env, learner: TabularLearner, start: int, limit: int = 200) -> float:
    env.reset(seed=0)
    env.unwrapped.s = start
    state, total = start, 0.0
    for _ in range(limit):
        state, reward, terminated, _, _ = env.step(learner.greedy(state))
        total += reward
        if terminated:
            break
    return total


def mean_greedy_return(env, learner: TabularLearner) -> float:
    """The greedy policy's expected return over the task's start distribution, exactly:
    both tasks are deterministic once started, so each start is played once."""
    starts = env.unwrapped.initial_state_distrib
    return sum(w * greedy_return(env, learner, s) for s, w in enumerate(starts) if w > 0)


def train(env, learner: TabularLearner, episodes: int) -> None:
    """Through the same calls the engine makes: choose, observe, learn."""
    for episode in range(episodes):
        state, _ = env.reset(seed=episode)
        for step in range(200):
            context = {"state": state, "episode": episode}
            action, _ = learner.choose(context, None)
            decision = f"{episode}-{step}"
            learner.observe(decision, context, action)
            state, reward, terminated, truncated, _ = env.step(action)
            learner.learn(decision, context, action, float(reward), terminated or truncated)
            if terminated or truncated:
                break


def q_learner(env) -> TabularLearner:
    options = {"alpha": 0.5, "gamma": 0.99, "epsilon": 1.0, "decay": 0.995,
               "min_epsilon": 0.05, "batch": 32, "seed": 1}  # fmt: skip
    learner = make_learner("q_learning", int(env.action_space.n), options)
    assert isinstance(learner, TabularLearner)
    return learner


@pytest.mark.slow
def test_q_learning_on_taxi_reaches_95_percent_of_the_optimal_return_in_1500_episodes():
    env = gym.make("Taxi-v4")
    optimum = float(env.unwrapped.initial_state_distrib @ optimal_values(env))
    assert optimum == pytest.approx(7.93, abs=0.005)  # the known answer
    learner = q_learner(env)
    train(env, learner, 1_500)
    assert mean_greedy_return(env, learner) >= 0.95 * optimum


@pytest.mark.slow
def test_q_learning_on_cliffwalking_finds_the_optimal_return_of_minus_13_in_300_episodes():
    env = gym.make("CliffWalking-v1")
    optimum = float(env.unwrapped.initial_state_distrib @ optimal_values(env))
    assert optimum == -13.0
    learner = q_learner(env)
    train(env, learner, 300)
    achieved = mean_greedy_return(env, learner)
    assert achieved >= optimum / 0.95  # returns are negative: within 95 % means >= -13.68
    assert achieved == -13.0
