"""A context (names to strings and numbers) as a fixed-length vector, by feature hashing.

Linear learners need every context as the same `dim` numbers without knowing the names in
advance. Each string value becomes the feature `name=value` (1.0), each number `name` (its
value), and, with `cross`, each pair of string features one more (`a=x&b=y`), so a linear
model can tell "billing in Norwegian" from "billing" and "Norwegian". Index 0 is a bias.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

CACHE_LIMIT = 100_000


class Featurizer:
    def __init__(self, dim: int = 64, cross: bool = True) -> None:
        if dim < 2:
            raise ValueError(f"dim must be at least 2, got {dim}")
        self.dim = dim
        self.cross = cross
        self._slots: dict[str, int] = {}

    def _slot(self, name: str) -> int:
        slot = self._slots.get(name)
        if slot is None:
            slot = 1 + zlib.crc32(name.encode()) % (self.dim - 1)
            if len(self._slots) < CACHE_LIMIT:
                self._slots[name] = slot
        return slot

    def vector(self, context: Mapping[str, Any] | None) -> np.ndarray:
        x = np.zeros(self.dim)
        x[0] = 1.0
        if not context:
            return x
        words: list[str] = []
        for name in sorted(context):
            value = context[name]
            if isinstance(value, bool):
                word = f"{name}={'true' if value else 'false'}"
            elif isinstance(value, int | float):
                x[self._slot(name)] += float(value)
                continue
            elif value is None:
                continue
            else:
                word = f"{name}={value}"
            words.append(word)
            x[self._slot(word)] += 1.0
        if self.cross:
            for i, first in enumerate(words):
                for second in words[i + 1 :]:
                    x[self._slot(f"{first}&{second}")] += 1.0
        return x

    def matrix(self, contexts: list[Mapping[str, Any] | None]) -> np.ndarray:
        return np.array([self.vector(c) for c in contexts]).reshape(len(contexts), self.dim)
