"""Experience replay: a bounded ring of transitions, sampled in mini-batches.

Replaying past transitions lets a tabular learner reuse each experience several times, so
it learns from fewer episodes; the bound keeps memory flat and drops the oldest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


class ReplayBuffer:
    FIELDS = ("state", "action", "reward", "next_state", "next_action", "done")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"replay capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.size = 0
        self._next = 0
        self.state = np.zeros(capacity, dtype=np.int64)
        self.action = np.zeros(capacity, dtype=np.int64)
        self.reward = np.zeros(capacity)
        self.next_state = np.zeros(capacity, dtype=np.int64)
        self.next_action = np.zeros(capacity, dtype=np.int64)
        self.done = np.zeros(capacity, dtype=bool)

    def add(
        self, state: int, action: int, reward: float, next_state: int, next_action: int, done: bool
    ) -> None:
        i = self._next
        self.state[i], self.action[i], self.reward[i] = state, action, reward
        self.next_state[i], self.next_action[i], self.done[i] = next_state, next_action, done
        self._next = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        """Indexes of `batch` stored transitions, drawn uniformly with replacement."""
        return rng.integers(0, self.size, size=batch)

    def state_dict(self) -> dict[str, Any]:
        order = np.roll(np.arange(self.capacity), -self._next)[-self.size :]
        return {name: getattr(self, name)[order].tolist() for name in self.FIELDS}

    def load(self, data: Mapping[str, Any]) -> None:
        count = min(len(data["state"]), self.capacity)
        for name in self.FIELDS:
            values = np.asarray(data[name])[-count:] if count else np.asarray([])
            getattr(self, name)[:count] = values
        self.size = count
        self._next = count % self.capacity
