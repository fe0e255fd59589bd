"""Context-free bandits: epsilon-greedy, UCB1, and Thompson sampling (Beta-Bernoulli for 0/1
rewards, Gaussian for any). Each keeps per-action counts and sums, nothing more.

A decision over all actions is the hot path (thousands a second): each learner picks in
plain Python floats there, since with a handful of actions numpy's per-call cost is more
than the arithmetic. A choice among a subset of the actions goes through the general
`action_probabilities`, which states the whole distribution.
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


class EnsembleThompson(CountingLearner):
    """Thompson sampling whose propensity is exact: the posterior is kept as `samples` draws
    of every action's mean (samples x actions), and a decision is the winner of one draw
    picked at random, so its action had exactly the share of draws it won.

    The draws follow the posterior by conjugate updates instead of being drawn anew: each
    of them is a sample path that stays an exact draw of the current posterior as rewards
    come in (see the subclasses), at the cost of one small random vector per rewarded action.
    Rewards only note what they add; the next decision applies it to the actions that got
    rewards (one vectorised numpy call each) and recounts the winners. Until the posterior
    changes again, a decision costs one random integer."""

    def __init__(self, n_actions: int, options: Mapping[str, Any]) -> None:
        super().__init__(n_actions, options)
        self.samples = int(options.get("samples", 128))
        if self.samples < 1:
            raise ValueError(f"samples must be at least 1, got {self.samples}")
        self._values: np.ndarray | None = None
        """samples x actions: the sampled mean rewards, None until the first decision."""
        self._pending: dict[int, list[float]] = {}
        self._winners: np.ndarray = np.zeros(self.samples, dtype=np.intp)
        self._shares: list[float] = []

    def start_draws(self) -> np.ndarray:
        """samples x actions draws from the posterior of the counts and sums now."""
        raise NotImplementedError

    def advance(self, values: np.ndarray, action: int, added: list[float]) -> None:
        """Bring `action`'s column of `values` to its posterior after the rewards that
        added `added` (their count and sum) to it."""
        raise NotImplementedError

    @property
    def draws(self) -> np.ndarray:
        """samples x actions: the posterior draws decisions are made with now."""
        self._refresh()
        assert self._values is not None
        return self._values

    def learn(
        self, decision_id: str, context: Context, action: int, reward: float, done: bool
    ) -> None:
        super().learn(decision_id, context, action, reward, done)
        if self._values is not None:
            added = self._pending.get(action)
            if added is None:
                self._pending[action] = [1.0, reward]
            else:
                added[0] += 1.0
                added[1] += reward

    def _refresh(self) -> None:
        values = self._values
        if values is None:
            values = self._values = self.start_draws()
            self._pending.clear()
        elif self._pending:
            for action, added in self._pending.items():
                self.advance(values, action, added)
            self._pending.clear()
        else:
            return
        self._winners = values.argmax(axis=1)
        counted = np.bincount(self._winners, minlength=self.n_actions)
        self._shares = (counted / self.samples).tolist()

    def action_probabilities(self, allowed: Sequence[int]) -> list[float]:
        self._refresh()
        if len(allowed) == self.n_actions:
            return list(self._shares)
        values = self._values
        assert values is not None
        masked = np.full_like(values, -np.inf)
        masked[:, list(allowed)] = values[:, list(allowed)]
        winners = masked.argmax(axis=1)
        return (np.bincount(winners, minlength=self.n_actions) / self.samples).tolist()

    def choose(self, context: Context, allowed: list[int] | None) -> tuple[int, float]:
        if allowed is not None and len(allowed) < self.n_actions:
            return super().choose(context, allowed)
        self._refresh()
        action = int(self._winners[self._random.randrange(self.samples)])
        return action, self._shares[action]

    def load(self, state: Mapping[str, Any]) -> None:
        super().load(state)
        self._values = None
        self._pending.clear()


class ThompsonBeta(EnsembleThompson):
    """Beta-Bernoulli Thompson sampling for rewards in [0, 1] (a reward r counts r successes
    and 1 - r failures), prior Beta(`prior_alpha`, `prior_beta`), 1 and 1 by default.

    A Beta(a, b) draw is X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b), and a Gamma(a) draw
    plus an independent Gamma(c) draw is a Gamma(a + c) draw: so each draw keeps its X and
    Y, and rewards adding s successes and f failures add Gamma(s) and Gamma(f) draws to
    them. Every draw stays an exact Beta draw of the current posterior."""

    kind = "thompson_beta"

    def __init__(self, n_actions: int, options: Mapping[str, Any]) -> None:
        super().__init__(n_actions, options)
        self._prior_alpha = float(options.get("prior_alpha", 1.0))
        self._prior_beta = float(options.get("prior_beta", 1.0))
        self._successes = self._failures = np.zeros((self.samples, n_actions))

    def learn(
        self, decision_id: str, context: Context, action: int, reward: float, done: bool
    ) -> None:
        if not 0.0 <= reward <= 1.0:
            raise ValueError(f"thompson_beta takes rewards in [0, 1], got {reward}")
        super().learn(decision_id, context, action, reward, done)

    def start_draws(self) -> np.ndarray:
        sums, counts = np.array(self.sums), np.array(self.counts)
        shape = (self.samples, self.n_actions)
        self._successes = self.rng.standard_gamma(self._prior_alpha + sums, size=shape)
        self._failures = self.rng.standard_gamma(self._prior_beta + counts - sums, size=shape)
        return self._successes / (self._successes + self._failures)

    def _gamma(self, shape: float) -> np.ndarray | float:
        if shape <= 0.0:
            return 0.0
        if shape == 1.0:
            return self.rng.standard_exponential(self.samples)
        return self.rng.standard_gamma(shape, self.samples)

    def advance(self, values: np.ndarray, action: int, added: list[float]) -> None:
        count, total = added
        successes = self._successes[:, action]
        failures = self._failures[:, action]
        successes += self._gamma(total)
        failures += self._gamma(count - total)
        values[:, action] = successes / (successes + failures)


class ThompsonGaussian(EnsembleThompson):
    """Gaussian Thompson sampling: each action's mean reward has the prior N(`prior_mean`,
    `prior_sd`^2) and rewards noise of sd `noise_sd`; the posterior is normal again.

    Each draw is kept as a perturbed sum: a prior draw times the prior precision, plus
    every reward, each with fresh noise of the reward noise's sd, times the noise precision;
    divided by the posterior precision it is an exact draw of the posterior (the sample of
    "randomised prior and perturbed observations"), and n rewards add their sum plus one
    normal vector of sd sqrt(n) * `noise_sd`."""

    kind = "thompson_gaussian"

    def __init__(self, n_actions: int, options: Mapping[str, Any]) -> None:
        super().__init__(n_actions, options)
        self._prior_mean = float(options.get("prior_mean", 0.0))
        self._prior_precision = 1.0 / float(options.get("prior_sd", 1.0)) ** 2
        self._noise_sd = float(options.get("noise_sd", 1.0))
        self._noise_precision = 1.0 / self._noise_sd**2
        self._weighted = np.zeros((self.samples, n_actions))

    def _precision(self, counts: np.ndarray | float) -> np.ndarray | float:
        return self._prior_precision + counts * self._noise_precision

    def start_draws(self) -> np.ndarray:
        counts, sums = np.array(self.counts), np.array(self.sums)
        precision = self._precision(counts)
        mean = (self._prior_mean * self._prior_precision + sums * self._noise_precision) / precision
        noise = self.rng.standard_normal((self.samples, self.n_actions))
        draws = mean + noise / np.sqrt(precision)
        self._weighted = draws * precision
        return draws

    def advance(self, values: np.ndarray, action: int, added: list[float]) -> None:
        count, total = added
        noise = self.rng.standard_normal(self.samples) * (self._noise_sd * count**0.5)
        weighted = self._weighted[:, action]
        weighted += (total + noise) * self._noise_precision
        values[:, action] = weighted / self._precision(self.counts[action])
