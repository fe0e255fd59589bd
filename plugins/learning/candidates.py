"""Continuous improvement, safely: a candidate policy is trained and judged on the live
policy's logged decisions, and replaces it only when it beats it with confidence.

The log is split in time: the candidate (and the reward model of the direct and doubly
robust estimates) learn from the older half and are judged on the newer half, so nothing is
judged on what it learned from. The live policy's value is what it actually earned on that
half. Per decision, the candidate's doubly robust term minus the reward earned is a paired
difference; the candidate is promoted only if a one-sided t test (scipy) finds their mean
above zero at `promotion_alpha`. Every version is kept, so a promotion can be rolled back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mindframe.sdk.learning import LearningError

from . import messages as m
from . import ope, store
from .engine import Engine
from .kinds import make_learner
from .learner import Learner
from .reward_model import RewardModel

MIN_LOGGED = 100
EPISODIC = ("q_learning", "sarsa")


def train(learner: Learner, logged: list[store.LoggedDecision]) -> Learner:
    for decision in logged:
        learner.learn(decision.id, decision.context, decision.action, decision.reward or 0.0, True)
    return learner


async def evaluate(
    engine: Engine, name: str, kind: str, options: dict[str, Any], limit: int = 20_000
) -> tuple[dict[str, Any], Learner]:
    """The candidate's estimates against the live policy's earnings, and the candidate
    trained on the whole log (what would go live)."""
    from scipy import stats

    live = engine.get(name)
    if kind in EPISODIC:
        raise LearningError(m.EPISODIC_EVALUATION, kind=kind)
    await engine.log.flush()
    logged = await engine.ctx.transaction(store.rewarded_decisions, name, limit, read_only=True)
    if len(logged) < MIN_LOGGED:
        raise LearningError(m.NOT_ENOUGH_LOGS, name=name, count=len(logged), needed=MIN_LOGGED)
    half = len(logged) // 2
    older, newer = logged[:half], logged[half:]
    candidate = train(make_learner(kind, len(live.actions), options), older)

    contexts = [d.context for d in newer]
    actions = np.array([d.action for d in newer])
    rewards = np.array([d.reward for d in newer], dtype=float)
    propensities = np.array([d.propensity for d in newer])
    model = RewardModel(len(live.actions)).fit(
        [d.context for d in older],
        np.array([d.action for d in older]),
        np.array([d.reward for d in older], dtype=float),
    )
    target = candidate.probabilities(contexts)
    predicted = model.predict(contexts)
    estimates = ope.all_estimates(rewards, actions, propensities, target, predicted)
    earned = ope.mean_interval(rewards)
    w = ope.weights(target[np.arange(len(actions)), actions], propensities)
    difference = ope.doubly_robust_terms(rewards, actions, w, target, predicted) - rewards
    test = stats.ttest_1samp(difference, 0.0, alternative="greater")
    alpha = engine.settings.promotion_alpha
    p_value = float(test.pvalue) if np.isfinite(test.pvalue) else 1.0
    evaluation = {
        "kind": kind,
        "options": options,
        "logged": len(logged),
        "judged_on": len(newer),
        "estimates": {key: value.as_dict() for key, value in estimates.items()},
        "live": {"version": live.version, **earned.as_dict()},
        "difference": ope.mean_interval(difference, 1 - 2 * alpha).as_dict(),
        "p_value": p_value,
        "alpha": alpha,
        "better": bool(p_value < alpha and difference.mean() > 0),
    }
    return evaluation, train(candidate, newer)


async def propose(engine: Engine, name: str, kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """Evaluate a candidate and, if it is better with confidence, make it the live version."""
    evaluation, learner = await evaluate(engine, name, kind, options)
    evaluation["promoted"] = False
    if evaluation["better"]:
        version = await engine.install(name, kind, options, learner, "promoted", evaluation)
        evaluation.update(promoted=True, version=version)
    return evaluation
