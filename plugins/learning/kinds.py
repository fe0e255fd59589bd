"""Every kind of learner by its name (`mindframe.sdk.learning.KINDS`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mindframe.sdk.learning import KINDS, LearningError

from . import messages as m
from .bandits import UCB1, EpsilonGreedy, ThompsonBeta, ThompsonGaussian
from .learner import Learner
from .linear import LinThompson, LinUCB
from .tabular import QLearning, Sarsa

LEARNERS: dict[str, type[Learner]] = {
    cls.kind: cls
    for cls in (
        EpsilonGreedy,
        UCB1,
        ThompsonBeta,
        ThompsonGaussian,
        LinUCB,
        LinThompson,
        QLearning,
        Sarsa,
    )
}
assert set(LEARNERS) == set(KINDS), "the SDK's kinds and the learners here must agree"


def make_learner(kind: str, n_actions: int, options: Mapping[str, Any]) -> Learner:
    cls = LEARNERS.get(kind)
    if cls is None:
        raise LearningError(m.UNKNOWN_KIND, kind=kind, kinds=", ".join(KINDS))
    try:
        return cls(n_actions, options)
    except (TypeError, ValueError) as error:
        raise LearningError(m.BAD_OPTIONS, kind=kind, error=str(error)) from None
