"""Context-free bandits: epsilon-greedy, UCB1, and Thompson sampling (Beta-Bernoulli for 0/1
rewards, Gaussian for any). Each keeps per-action counts and sums, nothing more."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .choice import (
    allowed_mask,
    ensemble_probabilities,
    epsilon_probabilities,
    from_probabilities,
    greedy_probabilities,
)
from .learner import Context, Learner


class CountingLearner(Learner):
    """Counts and reward sums per action; the state of every context-free bandit here."""

    def __init__(self, n_actions: int, options: Mapping[str, Any]) -> None:
        super().__init__(n_actions, options)
        self.counts = np.zeros(n_actions)
        self.sums = np.zeros(n_actions)
        self._full = allowed_mask(n_actions, None)

    def mask(self, allowed: list[int] | None) -> np.ndarray:
        return self._full if allowed is None else allowed_mask(self.n_actions, allowed)

    def learn(
        self, decision_id: str, context: Context, action: int, reward: float, done: bool
    ) -> None:
        self.counts[action] += 1.0
        self.sums[action] += reward
        self.updates += 1

    def means(self) -> np.ndarray:
        initial = float(self.options.get("initial", 0.0))
        return np.where(self.counts > 0, self.sums / np.maximum(self.counts, 1.0), initial)

    def action_probabilities(self, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def choose(self, context: Context, allowed: list[int] | None) -> tuple[int, float]:
        return from_probabilities(self.action_probabilities(self.mask(allowed)), self.rng)

    def probabilities(self, contexts: Sequence[Context]) -> np.ndarray:
        row = self.action_probabilities(self._full)
        return np.tile(row, (len(contexts), 1))

    def state(self) -> dict[str, Any]:
        return {"counts": self.counts.tolist(), "sums": self.sums.tolist(), "updates": self.updates}

    def load(self, state: Mapping[str, Any]) -> None:
        self.counts = np.array(state["counts"], dtype=float)
        self.sums = np.array(state["sums"], dtype=float)
        self.updates = int(state.get("updates", 0))


class EpsilonGreedy(CountingLearner):
    """The best mean so far, except a random action with probability `epsilon` (which
    decays by `decay` per update down to `min_epsilon`)."""

    kind = "epsilon_greedy"

    def epsilon(self) -> float:
        epsilon = float(self.options.get("epsilon", 0.1))
        decay = float(self.options.get("decay", 1.0))
        return max(float(self.options.get("min_epsilon", 0.0)), epsilon * decay**self.updates)

    def action_probabilities(self, mask: np.ndarray) -> np.ndarray:
        return epsilon_probabilities(self.means(), mask, self.epsilon())


class UCB1(CountingLearner):
    """Each action once, then the best upper confidence bound `mean + alpha * sqrt(2 ln t /
    n)`: deterministic, so its propensity is 1 (or 1/ties)."""

    kind = "ucb1"

    def action_probabilities(self, mask: np.ndarray) -> np.ndarray:
        unseen = mask & (self.counts == 0)
        if unseen.any():
            return unseen / unseen.sum()
        alpha = float(self.options.get("alpha", 1.0))
        total = self.counts[mask].sum()
        bonus = alpha * np.sqrt(2.0 * math.log(total) / self.counts)
        return greedy_probabilities(self.means() + bonus, mask)


class EnsembleThompson(CountingLearner):
    """Thompson sampling whose propensity is exact: `samples` draws from the posterior are
    made at once, the action is the winner of one draw picked at random, so it had exactly
    the share of draws it won. The draws are reused until the posterior changes."""

    def __init__(self, n_actions: int, options: Mapping[str, Any]) -> None:
        super().__init__(n_actions, options)
        self.samples = int(options.get("samples", 128))
        self._cached: np.ndarray | None = None
        self._cached_at = -1

    def posterior_draws(self, draws: int) -> np.ndarray:
        raise NotImplementedError

    def action_probabilities(self, mask: np.ndarray) -> np.ndarray:
        if mask is self._full:
            if self._cached is None or self._cached_at != self.updates:
                self._cached = ensemble_probabilities(self.posterior_draws(self.samples), mask)
                self._cached_at = self.updates
            return self._cached
        return ensemble_probabilities(self.posterior_draws(self.samples), mask)

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
        a = float(self.options.get("prior_alpha", 1.0)) + self.sums
        b = float(self.options.get("prior_beta", 1.0)) + self.counts - self.sums
        return self.rng.beta(a[:, None], b[:, None], size=(self.n_actions, draws))


class ThompsonGaussian(EnsembleThompson):
    """Gaussian Thompson sampling: each action's mean reward has the prior N(`prior_mean`,
    `prior_sd`^2) and rewards noise of sd `noise_sd`; the posterior is normal again."""

    kind = "thompson_gaussian"

    def posterior_draws(self, draws: int) -> np.ndarray:
        prior_mean = float(self.options.get("prior_mean", 0.0))
        prior_precision = 1.0 / float(self.options.get("prior_sd", 1.0)) ** 2
        noise_precision = 1.0 / float(self.options.get("noise_sd", 1.0)) ** 2
        precision = prior_precision + self.counts * noise_precision
        mean = (prior_mean * prior_precision + self.sums * noise_precision) / precision
        noise = self.rng.standard_normal((self.n_actions, draws))
        return mean[:, None] + noise / np.sqrt(precision)[:, None]
