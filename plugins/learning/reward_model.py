"""The reward model the direct and doubly robust estimates need: per action, a ridge
regression (scikit-learn's `Ridge`, no intercept: the features' bias slot is one) of reward
on the context's hashed features; for context-free logs, the mean reward of each action,
shrunk towards zero by the ridge. An action never taken predicts zero."""

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
        from sklearn.linear_model import Ridge  # scikit-learn loads only when estimating

        x = self.features.matrix(list(contexts))
        for action in range(self.n_actions):
            rows = actions == action
            if rows.any():
                model = Ridge(alpha=self.ridge, fit_intercept=False).fit(x[rows], rewards[rows])
                self.coef[action] = model.coef_
        return self

    def predict(self, contexts: Sequence[Mapping[str, Any] | None]) -> np.ndarray:
        """contexts x actions: the predicted reward of each action in each context."""
        return self.features.matrix(list(contexts)) @ self.coef.T
