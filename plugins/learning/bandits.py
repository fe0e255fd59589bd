"""Context-free bandits: epsilon-greedy, UCB1, and Thompson sampling (Beta-Bernoulli for 0/1
rewards, Gaussian for any). Each keeps per-action counts and sums, nothing more.

A decision over all actions is the hot path (thousands a second): epsilon-greedy and UCB1
pick in plain Python floats there, since with a handful of actions numpy's per-call cost is
more than the arithmetic; Thompson sampling draws a decision's posterior samples in one
numpy call. UCB1 and epsilon-greedy choose among a subset of the actions through the
general `action_probabilities`, which states the whole distribution.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .learner import Context, Learner


class CountingLearner(Learner):
    """Counts and reward sums per action; the state of every context-free bandit here."""

    def __init__(self, n_actions: int, options: Mapping[str, Any]) -> None:
        super().__init__(n_actions, options)
        self.counts = [0.0] * n_actions
        self.sums = [0.0] * n_actions
        self.initial = float(options.get("initial", 0.0))
        self._random = random.Random(options.get("seed"))
        self._everything = list(range(n_actions))

    def learn(
        self, decision_id: str, context: Context, action: int, reward: float, done: bool
    ) -> None:
        self.counts[action] += 1.0
        self.sums[action] += reward
        self.updates += 1

    def means(self) -> list[float]:
        return [s / n if n else self.initial for s, n in zip(self.sums, self.counts, strict=True)]

    def action_probabilities(self, allowed: Sequence[int]) -> list[float]:
        """The probability of each action (zero outside `allowed`)."""
        raise NotImplementedError

    def choose(self, context: Context, allowed: list[int] | None) -> tuple[int, float]:
        candidates = self._everything if allowed is None else allowed
        probabilities = self.action_probabilities(candidates)
        point = self._random.random()
        chosen = candidates[-1]
        for action in candidates:
            point -= probabilities[action]
            if point < 0.0 and probabilities[action] > 0.0:
                chosen = action
                break
        while probabilities[chosen] == 0.0:  # rounding left the point past the last one
            chosen = candidates[candidates.index(chosen) - 1]
        return chosen, probabilities[chosen]

    def probabilities(self, contexts: Sequence[Context]) -> np.ndarray:
        row = np.array(self.action_probabilities(self._everything))
        return np.tile(row, (len(contexts), 1))

    def state(self) -> dict[str, Any]:
        return {"counts": list(self.counts), "sums": list(self.sums), "updates": self.updates}

    def load(self, state: Mapping[str, Any]) -> None:
        self.counts = [float(c) for c in state["counts"]]
        self.sums = [float(s) for s in state["sums"]]
        self.updates = int(state.get("updates", 0))


def best_of(scores: Sequence[float], allowed: Sequence[int]) -> list[int]:
    top = max(scores[a] for a in allowed)
    return [a for a in allowed if scores[a] == top]


class EpsilonGreedy(CountingLearner):
    """The best mean so far, except a random action with probability `epsilon` (which
    decays by `decay` per update down to `min_epsilon`)."""

    kind = "epsilon_greedy"

    def __init__(self, n_actions: int, options: Mapping[str, Any]) -> None:
        super().__init__(n_actions, options)
        self._epsilon = float(options.get("epsilon", 0.1))
        self._decay = float(options.get("decay", 1.0))
        self._floor = float(options.get("min_epsilon", 0.0))

    def epsilon(self) -> float:
        if self._decay == 1.0:
            return max(self._floor, self._epsilon)
        return max(self._floor, self._epsilon * self._decay**self.updates)

    def action_probabilities(self, allowed: Sequence[int]) -> list[float]:
        epsilon = self.epsilon()
        best = best_of(self.means(), allowed)
        probabilities = [0.0] * self.n_actions
        for action in allowed:
            probabilities[action] = epsilon / len(allowed)
        for action in best:
            probabilities[action] += (1.0 - epsilon) / len(best)
        return probabilities

    def choose(self, context: Context, allowed: list[int] | None) -> tuple[int, float]:
        if allowed is not None:
            return super().choose(context, allowed)
        epsilon, n = self.epsilon(), self.n_actions
        best = best_of(self.means(), self._everything)
        if self._random.random() < epsilon:
            action = self._random.randrange(n)
        else:
            action = best[self._random.randrange(len(best))] if len(best) > 1 else best[0]
        exploit = (1.0 - epsilon) / len(best) if action in best else 0.0
        return action, epsilon / n + exploit


class UCB1(CountingLearner):
    """Each action once, then the best upper confidence bound `mean + alpha * sqrt(2 ln t /
    n)`: deterministic, so its propensity is 1 (or 1/ties)."""

    kind = "ucb1"

    def __init__(self, n_actions: int, options: Mapping[str, Any]) -> None:
        super().__init__(n_actions, options)
        self._alpha = float(options.get("alpha", 1.0))

    def _best(self, allowed: Sequence[int]) -> list[int]:
        counts, sums, alpha = self.counts, self.sums, self._alpha
        untried = [a for a in allowed if counts[a] == 0.0]
        if untried:
            return untried
        spread = 2.0 * math.log(sum([counts[a] for a in allowed]))
        top, best = -math.inf, []
        for a in allowed:
            n = counts[a]
            score = sums[a] / n + alpha * math.sqrt(spread / n)
            if score > top:
                top, best = score, [a]
            elif score == top:
                best.append(a)
        return best

    def action_probabilities(self, allowed: Sequence[int]) -> list[float]:
        probabilities = [0.0] * self.n_actions
        best = self._best(allowed)
        for action in best:
            probabilities[action] = 1.0 / len(best)
        return probabilities

    def choose(self, context: Context, allowed: list[int] | None) -> tuple[int, float]:
        best = self._best(self._everything if allowed is None else allowed)
        if len(best) == 1:
            return best[0], 1.0
        return best[self._random.randrange(len(best))], 1.0 / len(best)


class Thompson(CountingLearner):
    """Thompson sampling drawn afresh for every decision.

    A decision draws `samples` (32 by default) independent draws of every action's mean
    from the posterior as it is now (samples x actions, vectorised), acts on the first
    draw's best action, and states as its propensity the share of the draws that action
    won. The first draw is as likely as any other to be the one acted on, so that share is
    the exact probability the choice had given this decision's draws: inverse-propensity
    weights by it are exact for every action the draws gave a share, and it is never below
    1 / samples. As an estimate of Thompson sampling's own probability p for the action it
    reads high by (1 - p) / samples on average, since the action chosen is one its draws
    favoured. Nothing is kept between decisions, so no draw's luck outlives its decision.
    32 draws rather than more because the draws are most of a decision's cost (Gamma
    draws for Beta: 640 of them for ten actions)."""

    def __init__(self, n_actions: int, options: Mapping[str, Any]) -> None:
        super().__init__(n_actions, options)
        self.samples = int(options.get("samples", 32))
        if self.samples < 1:
            raise ValueError(f"samples must be at least 1, got {self.samples}")

    def posterior_draws(self, rows: int) -> np.ndarray:
        """rows x actions: independent draws of every action's mean reward."""
        raise NotImplementedError

    def _winners(self, allowed: Sequence[int] | None) -> np.ndarray:
        """The best allowed action of each of `samples` fresh posterior draws."""
        draws = self.posterior_draws(self.samples)
        if allowed is None or len(allowed) == self.n_actions:
            return draws.argmax(axis=1)
        columns = np.asarray(allowed)
        return columns[draws[:, columns].argmax(axis=1)]

    def action_probabilities(self, allowed: Sequence[int]) -> list[float]:
        winners = self._winners(allowed)
        return (np.bincount(winners, minlength=self.n_actions) / self.samples).tolist()

    def choose(self, context: Context, allowed: list[int] | None) -> tuple[int, float]:
        winners = self._winners(allowed)
        action = int(winners[0])
        return action, float(np.count_nonzero(winners == action)) / self.samples


class ThompsonBeta(Thompson):
    """Beta-Bernoulli Thompson sampling for rewards in [0, 1] (a reward r counts r successes
    and 1 - r failures), prior Beta(`prior_alpha`, `prior_beta`), 1 and 1 by default. A
    Beta(a, b) draw is X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b): one numpy call draws
    every X and Y of a decision."""

    kind = "thompson_beta"

    def __init__(self, n_actions: int, options: Mapping[str, Any]) -> None:
        super().__init__(n_actions, options)
        prior = [float(options.get("prior_alpha", 1.0)), float(options.get("prior_beta", 1.0))]
        if min(prior) <= 0.0:
            raise ValueError(f"prior_alpha and prior_beta must be positive, got {prior}")
        self._prior = np.repeat(prior, n_actions)
        self._shapes = self._prior.copy()
        """alpha of every action, then beta of every action: the posterior's Gamma shapes,
        kept up to date by `learn` (building them from the counts took a quarter of a
        decision)."""

    def learn(
        self, decision_id: str, context: Context, action: int, reward: float, done: bool
    ) -> None:
        if not 0.0 <= reward <= 1.0:
            raise ValueError(f"thompson_beta takes rewards in [0, 1], got {reward}")
        super().learn(decision_id, context, action, reward, done)
        self._shapes[action] += reward
        self._shapes[self.n_actions + action] += 1.0 - reward

    def load(self, state: Mapping[str, Any]) -> None:
        super().load(state)
        sums = np.array(self.sums)
        self._shapes = self._prior + np.concatenate((sums, np.array(self.counts) - sums))

    def posterior_draws(self, rows: int) -> np.ndarray:
        gammas = self.rng.standard_gamma(self._shapes, (rows, 2 * self.n_actions))
        successes = gammas[:, : self.n_actions]
        return successes / (successes + gammas[:, self.n_actions :])


class ThompsonGaussian(Thompson):
    """Gaussian Thompson sampling: each action's mean reward has the prior N(`prior_mean`,
    `prior_sd`^2) and rewards noise of sd `noise_sd`; the posterior is normal again."""

    kind = "thompson_gaussian"

    def __init__(self, n_actions: int, options: Mapping[str, Any]) -> None:
        super().__init__(n_actions, options)
        self._prior_mean = float(options.get("prior_mean", 0.0))
        self._prior_precision = 1.0 / float(options.get("prior_sd", 1.0)) ** 2
        self._noise_precision = 1.0 / float(options.get("noise_sd", 1.0)) ** 2

    def posterior_draws(self, rows: int) -> np.ndarray:
        precision = self._prior_precision + np.array(self.counts) * self._noise_precision
        weighted = self._prior_mean * self._prior_precision
        mean = (weighted + np.array(self.sums) * self._noise_precision) / precision
        return mean + self.rng.standard_normal((rows, self.n_actions)) / np.sqrt(precision)
