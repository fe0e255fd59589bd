"""Context-free bandits: epsilon-greedy, UCB1, and Thompson sampling (Beta-Bernoulli for 0/1
rewards, Gaussian for any). Each keeps per-action counts and sums, nothing more."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .choice import allowed_mask, ensemble_probabilities
from .learner import Context, Learner


class CountingLearner(Learner):
    """Counts and reward sums per action; the state of every context-free bandit here. Kept
    as plain floats: with a handful of actions, Python is faster than numpy's per-call cost."""

    def __init__(self, n_actions: int, options: Mapping[str, Any]) -> None:
        super().__init__(n_actions, options)
        self.counts = [0.0] * n_actions
        self.sums = [0.0] * n_actions
        self.initial = float(options.get("initial", 0.0))
        self._random = random.Random(options.get("seed"))

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
        candidates = range(self.n_actions) if allowed is None else allowed
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
        row = np.array(self.action_probabilities(range(self.n_actions)))
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

    def epsilon(self) -> float:
        epsilon = float(self.options.get("epsilon", 0.1))
        decay = float(self.options.get("decay", 1.0))
        return max(float(self.options.get("min_epsilon", 0.0)), epsilon * decay**self.updates)

    def action_probabilities(self, allowed: Sequence[int]) -> list[float]:
        epsilon = self.epsilon()
        best = best_of(self.means(), allowed)
        probabilities = [0.0] * self.n_actions
        for action in allowed:
            probabilities[action] = epsilon / len(allowed)
        for action in best:
            probabilities[action] += (1.0 - epsilon) / len(best)
        return probabilities


class UCB1(CountingLearner):
    """Each action once, then the best upper confidence bound `mean + alpha * sqrt(2 ln t /
    n)`: deterministic, so its propensity is 1 (or 1/ties)."""

    kind = "ucb1"

    def action_probabilities(self, allowed: Sequence[int]) -> list[float]:
        counts = self.counts
        best = [a for a in allowed if counts[a] == 0.0]
        if not best:
            alpha = float(self.options.get("alpha", 1.0))
            spread = 2.0 * math.log(sum(counts[a] for a in allowed))
            scores = [0.0] * self.n_actions
            for a in allowed:
                scores[a] = self.sums[a] / counts[a] + alpha * math.sqrt(spread / counts[a])
            best = best_of(scores, allowed)
        probabilities = [0.0] * self.n_actions
        for action in best:
            probabilities[action] = 1.0 / len(best)
        return probabilities


class EnsembleThompson(CountingLearner):
    """Thompson sampling whose propensity is exact: `samples` draws from the posterior are
    made at once, the action is the winner of one draw picked at random, so it had exactly
    the share of draws it won. The draws are reused until the posterior changes."""

    def __init__(self, n_actions: int, options: Mapping[str, Any]) -> None:
        super().__init__(n_actions, options)
        self.samples = int(options.get("samples", 128))
        self._cached: list[float] | None = None
        self._cached_at = -1

    def posterior_draws(self, draws: int) -> np.ndarray:
        raise NotImplementedError

    def action_probabilities(self, allowed: Sequence[int]) -> list[float]:
        everything = len(allowed) == self.n_actions
        if everything and self._cached is not None and self._cached_at == self.updates:
            return self._cached
        mask = allowed_mask(self.n_actions, list(allowed))
        shares = ensemble_probabilities(self.posterior_draws(self.samples), mask).tolist()
        if everything:
            self._cached, self._cached_at = shares, self.updates
        return shares

    def load(self, state: Mapping[str, Any]) -> None:
        super().load(state)
        self._cached = None


class ThompsonBeta(EnsembleThompson):
    """Beta-Bernoulli Thompson sampling for rewards in [0, 1] (a reward r counts r successes
    and 1 - r failures), prior Beta(`prior_alpha`, `prior_beta`), 1 and 1 by default."""

    kind = "thompson_beta"

    def learn(
        self, decision_id: str, context: Context, action: int, reward: float, done: bool
    ) -> None:
        if not 0.0 <= reward <= 1.0:
            raise ValueError(f"thompson_beta takes rewards in [0, 1], got {reward}")
        super().learn(decision_id, context, action, reward, done)

    def posterior_draws(self, draws: int) -> np.ndarray:
        sums, counts = np.array(self.sums), np.array(self.counts)
        a = float(self.options.get("prior_alpha", 1.0)) + sums
        b = float(self.options.get("prior_beta", 1.0)) + counts - sums
        return self.rng.beta(a[:, None], b[:, None], size=(self.n_actions, draws))


class ThompsonGaussian(EnsembleThompson):
    """Gaussian Thompson sampling: each action's mean reward has the prior N(`prior_mean`,
    `prior_sd`^2) and rewards noise of sd `noise_sd`; the posterior is normal again."""

    kind = "thompson_gaussian"

    def posterior_draws(self, draws: int) -> np.ndarray:
        prior_mean = float(self.options.get("prior_mean", 0.0))
        prior_precision = 1.0 / float(self.options.get("prior_sd", 1.0)) ** 2
        noise_precision = 1.0 / float(self.options.get("noise_sd", 1.0)) ** 2
        precision = prior_precision + np.array(self.counts) * noise_precision
        mean = (prior_mean * prior_precision + np.array(self.sums) * noise_precision) / precision
        noise = self.rng.standard_normal((self.n_actions, draws))
        return mean[:, None] + noise / np.sqrt(precision)[:, None]
