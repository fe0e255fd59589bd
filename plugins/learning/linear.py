"""Contextual bandits on the context's hashed features: LinUCB and linear Thompson sampling.

Each action has a ridge regression of reward on features (`A = lambda I + sum x x^T`,
`b = sum r x`); `A`'s inverse is kept up to date by the Sherman-Morrison formula, so an
update costs O(dim^2) and no matrix is ever inverted anew.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .choice import allowed_mask, ensemble_probabilities, from_probabilities, greedy_probabilities
from .features import Featurizer
from .learner import Context, Learner


class LinearLearner(Learner):
    contextual = True

    def __init__(self, n_actions: int, options: Mapping[str, Any]) -> None:
        super().__init__(n_actions, options)
        self.features = Featurizer(int(options.get("dim", 64)), bool(options.get("cross", True)))
        dim = self.features.dim
        ridge = float(options.get("ridge", 1.0))
        self.a_inverse = np.repeat(np.eye(dim)[None, :, :] / ridge, n_actions, axis=0)
        self.b = np.zeros((n_actions, dim))

    def theta(self) -> np.ndarray:
        return np.einsum("kij,kj->ki", self.a_inverse, self.b)

    def spread(self, x: np.ndarray) -> np.ndarray:
        """sqrt(x^T A_k^-1 x) for every action k: how unsure each model is at x."""
        return np.sqrt(np.maximum(np.einsum("i,kij,j->k", x, self.a_inverse, x), 0.0))

    def learn(
        self, decision_id: str, context: Context, action: int, reward: float, done: bool
    ) -> None:
        x = self.features.vector(context)
        inverse = self.a_inverse[action]
        ax = inverse @ x
        inverse -= np.outer(ax, ax) / (1.0 + x @ ax)
        self.b[action] += reward * x
        self.updates += 1

    def distribution(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def choose(self, context: Context, allowed: list[int] | None) -> tuple[int, float]:
        x = self.features.vector(context)
        return from_probabilities(
            self.distribution(x, allowed_mask(self.n_actions, allowed)), self.rng
        )

    def probabilities(self, contexts: Sequence[Context]) -> np.ndarray:
        mask = allowed_mask(self.n_actions, None)
        return np.array([self.distribution(self.features.vector(c), mask) for c in contexts])

    def state(self) -> dict[str, Any]:
        return {
            "a_inverse": self.a_inverse.tolist(),
            "b": self.b.tolist(),
            "updates": self.updates,
        }

    def load(self, state: Mapping[str, Any]) -> None:
        self.a_inverse = np.array(state["a_inverse"], dtype=float)
        self.b = np.array(state["b"], dtype=float)
        self.updates = int(state.get("updates", 0))


class LinUCB(LinearLearner):
    """The best `theta_k . x + alpha * sqrt(x^T A_k^-1 x)`: deterministic (propensity 1)."""

    kind = "linucb"

    def distribution(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        alpha = float(self.options.get("alpha", 1.0))
        return greedy_probabilities(self.theta() @ x + alpha * self.spread(x), mask)


class LinThompson(LinearLearner):
    """Linear Thompson sampling: theta_k ~ N(theta_hat_k, v^2 A_k^-1), so the score at x is
    normal with mean theta_hat_k . x and sd v * sqrt(x^T A_k^-1 x); `samples` draws of it,
    fresh for every decision, make the ensemble whose winner shares are the propensities
    (exact given those draws)."""

    kind = "lin_thompson"

    def distribution(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        v = float(self.options.get("v", 0.5))
        draws = int(self.options.get("samples", 128))
        mean = self.theta() @ x
        noise = self.rng.standard_normal((self.n_actions, draws))
        return ensemble_probabilities(mean[:, None] + v * self.spread(x)[:, None] * noise, mask)
