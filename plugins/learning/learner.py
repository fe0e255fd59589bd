"""`Learner`: what every kind of policy implements, whatever it learns.

The engine hands a learner contexts as given (names to values) and actions as indexes into
the policy's action list; the learner picks with a stated propensity and learns from
rewards. Its state is plain data (`state()` / `load()`), so it can be checkpointed to the
database and handed across a hot reload.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

Context = Mapping[str, Any] | None


class Learner(ABC):
    kind: ClassVar[str]
    contextual: ClassVar[bool] = False

    def __init__(self, n_actions: int, options: Mapping[str, Any]) -> None:
        if n_actions < 1:
            raise ValueError("a policy needs at least one action")
        self.n_actions = n_actions
        self.options = dict(options)
        self.rng = np.random.default_rng(options.get("seed"))
        self.updates = 0

    @abstractmethod
    def choose(self, context: Context, allowed: list[int] | None) -> tuple[int, float]:
        """The chosen action's index and the probability it had."""

    def observe(self, decision_id: str, context: Context, action: int) -> None:
        """A decision was made (by this learner or, replayed, by another): episodic learners
        link it to the step before it in its episode. Bandits need nothing from it."""
        return None

    @abstractmethod
    def learn(
        self, decision_id: str, context: Context, action: int, reward: float, done: bool
    ) -> None:
        """Take `reward` for `action` in `context`."""

    @abstractmethod
    def probabilities(self, contexts: Sequence[Context]) -> np.ndarray:
        """contexts x actions: how the learner, frozen as it is, would choose."""

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """Everything learned, as JSON-able data."""

    @abstractmethod
    def load(self, state: Mapping[str, Any]) -> None:
        """Take back what `state()` returned."""
