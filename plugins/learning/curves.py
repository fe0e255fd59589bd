"""Reward curves: rewards in the order they came, cut into equal stretches, each with its
mean and the running mean up to its end; per policy and per agent."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from mindframe.sdk.learning import CurvePoint


def curve(values: Sequence[float], points: int = 20) -> list[CurvePoint]:
    if not len(values) or points < 1:
        return []
    rewards = np.asarray(values, dtype=float)
    edges = np.unique(np.linspace(0, len(rewards), min(points, len(rewards)) + 1).astype(int))
    running = np.cumsum(rewards)
    result = []
    for start, end in itertools.pairwise(edges):
        result.append(
            CurvePoint(
                rewards=int(end - start),
                mean=float(rewards[start:end].mean()),
                cumulative=float(running[end - 1] / end),
            )
        )
    return result


def curves_by_agent(
    rows: Sequence[tuple[float, str | None]], points: int = 20
) -> dict[str, list[CurvePoint]]:
    by_agent: dict[str, list[float]] = {}
    for value, agent in rows:
        if agent is not None:
            by_agent.setdefault(agent, []).append(value)
    return {agent: curve(values, points) for agent, values in sorted(by_agent.items())}
