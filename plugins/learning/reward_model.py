"""The reward model the direct and doubly robust estimates need: per action, a ridge
regression of reward on the context's hashed features (for context-free logs, the mean
reward of each action, shrunk towards zero by the ridge)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .features import Featurizer


class RewardModel:
    def __init__(self, n_actions: int, dim: int = 64, ridge: float = 1.0) -> None:
        self.n_actions = n_actions
        self.features = Featurizer(dim)
        self.ridge = ridge
        self.coef = np.zeros((n_actions, dim))

    def fit(
        self,
        contexts: Sequence[Mapping[str, Any] | None],
        actions: np.ndarray,
        rewards: np.ndarray,
    ) -> RewardModel:
        x = self.features.matrix(list(contexts))
        eye = np.eye(self.features.dim) * self.ridge
        for action in range(self.n_actions):
            rows = actions == action
            xa = x[rows]
            self.coef[action] = np.linalg.solve(xa.T @ xa + eye, xa.T @ rewards[rows])
        return self

    def predict(self, contexts: Sequence[Mapping[str, Any] | None]) -> np.ndarray:
        """contexts x actions: the predicted reward of each action in each context."""
        return self.features.matrix(list(contexts)) @ self.coef.T
