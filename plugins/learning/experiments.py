"""Live A/B splits: units (a user, a ticket) go to an arm by a stable hash of the
experiment's name and the unit, so a unit always sees the same arm, in any process; each arm
decides with its own policy, and the decisions are tagged with the experiment and arm.

The verdict compares each arm with the first (the control): a two-proportion z-test for 0/1
rewards (statsmodels) or Welch's t-test for others (scipy), Holm-corrected when there are
several arms, and only once every arm has the minimum sample size that finds a difference of
`effect` with the stated `power` at `alpha` (statsmodels' power solvers).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from mindframe.sdk.learning import Context, Decision, LearningError, PolicyExists, UnknownPolicy

from . import messages as m
from . import store
from .engine import Engine

if TYPE_CHECKING:
    import numpy as np

METRICS = ("binary", "continuous")


@dataclass(frozen=True)
class Experiment:
    name: str
    arms: dict[str, dict[str, Any]]  # arm -> {"policy", "weight"}
    metric: str
    alpha: float
    power: float
    effect: float

    def arm_for(self, unit: str) -> str:
        """The unit's arm: a hash of name and unit, uniform on [0, 1), against the
        cumulative weights. The same unit gets the same arm every time, everywhere."""
        digest = hashlib.blake2b(f"{self.name}\x00{unit}".encode(), digest_size=8).digest()
        point = int.from_bytes(digest) / 2**64 * sum(a["weight"] for a in self.arms.values())
        for arm, spec in self.arms.items():
            point -= spec["weight"]
            if point < 0:
                return arm
        return next(reversed(self.arms))


async def create(engine: Engine, spec: dict[str, Any]) -> Experiment:
    name = str(spec.get("name", ""))
    arms = spec.get("arms")
    metric = spec.get("metric", "binary")
    if not name or not isinstance(arms, dict) or len(arms) < 2 or metric not in METRICS:
        raise LearningError(m.BAD_EXPERIMENT)
    normalised = {}
    for arm, value in arms.items():
        policy, weight = (
            (value, 1.0)
            if isinstance(value, str)
            else (value.get("policy"), value.get("weight", 1.0))
        )
        if not isinstance(weight, int | float) or weight <= 0:
            raise LearningError(m.BAD_EXPERIMENT)
        engine.get(str(policy))
        normalised[str(arm)] = {"policy": str(policy), "weight": float(weight)}
    experiment = Experiment(
        name,
        normalised,
        metric,
        float(spec.get("alpha", 0.05)),
        float(spec.get("power", 0.8)),
        float(spec.get("effect", 0.05)),
    )
    if await engine.ctx.transaction(store.load_experiment, name, read_only=True) is not None:
        raise PolicyExists(m.EXPERIMENT_EXISTS, name=name)
    await engine.ctx.transaction(
        store.save_experiment,
        {
            "name": name,
            "arms": msgspec.json.encode(normalised),
            "metric": metric,
            "alpha": experiment.alpha,
            "power": experiment.power,
            "effect": experiment.effect,
            "created_at": time.time(),
        },
    )
    return experiment


async def load(engine: Engine, name: str) -> Experiment:
    row = await engine.ctx.transaction(store.load_experiment, name, read_only=True)
    if row is None:
        raise UnknownPolicy(m.UNKNOWN_EXPERIMENT, name=name)
    return Experiment(
        row.name, msgspec.json.decode(row.arms), row.metric, row.alpha, row.power, row.effect
    )


async def decide(
    engine: Engine, experiment: Experiment, unit: str, context: Context | None, durable: bool
) -> tuple[str, Decision]:
    arm = experiment.arm_for(unit)
    decision = await engine.decide(
        experiment.arms[arm]["policy"],
        context,
        durable=durable,
        experiment=experiment.name,
        arm=arm,
    )
    return arm, decision


def minimum_sample(experiment: Experiment, baseline: float, sd: float) -> int:
    """Rewarded decisions each arm needs to find a difference of `effect`."""
    import numpy as np
    from statsmodels.stats.power import NormalIndPower, TTestIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    if experiment.metric == "binary":
        base = min(max(baseline, 0.01), 0.99 - experiment.effect)
        size = abs(proportion_effectsize(base + experiment.effect, base))
        solver = NormalIndPower()
    else:
        size = experiment.effect / max(sd, 1e-9)
        solver = TTestIndPower()
    n = solver.solve_power(effect_size=size, alpha=experiment.alpha, power=experiment.power)
    return int(np.ceil(n))


async def results(engine: Engine, experiment: Experiment) -> dict[str, Any]:
    import numpy as np
    from scipy import stats
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.proportion import proportions_ztest

    await engine.log.flush()
    outcomes: dict[str, list[float]] = {arm: [] for arm in experiment.arms}
    decided = dict.fromkeys(experiment.arms, 0)
    for arm, value in await engine.ctx.transaction(
        store.experiment_outcomes, experiment.name, read_only=True
    ):
        if arm in decided:
            decided[arm] += 1
            if value is not None:
                outcomes[arm].append(value)
    values = {arm: np.asarray(v, dtype=float) for arm, v in outcomes.items()}
    arms = list(experiment.arms)
    control = values[arms[0]]
    pooled = np.concatenate(list(values.values()))
    baseline = float(control.mean()) if len(control) else 0.5
    sd = float(pooled.std(ddof=1)) if len(pooled) > 1 else 1.0
    needed = minimum_sample(experiment, baseline, sd)
    comparisons, p_values = [], []
    for arm in arms[1:]:
        other = values[arm]
        p = float("nan")
        if len(control) >= 2 and len(other) >= 2:
            if experiment.metric == "binary":
                _, p = proportions_ztest([other.sum(), control.sum()], [len(other), len(control)])
            else:
                p = stats.ttest_ind(other, control, equal_var=False).pvalue
        comparisons.append({"arm": arm, "against": arms[0], "difference": _diff(other, control)})
        p_values.append(float(p) if np.isfinite(p) else 1.0)
    adjusted = multipletests(p_values, method="holm")[1] if p_values else []
    enough = all(len(v) >= needed for v in values.values())
    for comparison, p_raw, p_adj in zip(comparisons, p_values, adjusted, strict=True):
        significant = bool(enough and p_adj < experiment.alpha)
        comparison.update(p_value=p_raw, p_adjusted=float(p_adj), significant=significant)
    return {
        "name": experiment.name,
        "metric": experiment.metric,
        "test": "two-proportion z-test" if experiment.metric == "binary" else "Welch's t-test",
        "alpha": experiment.alpha,
        "power": experiment.power,
        "effect": experiment.effect,
        "minimum_per_arm": needed,
        "enough_data": enough,
        "arms": {
            arm: {
                "policy": experiment.arms[arm]["policy"],
                "weight": experiment.arms[arm]["weight"],
                "decisions": decided[arm],
                "rewards": len(values[arm]),
                "mean": float(values[arm].mean()) if len(values[arm]) else None,
            }
            for arm in arms
        },
        "comparisons": comparisons,
    }


def _diff(other: np.ndarray, control: np.ndarray) -> float | None:
    if not len(other) or not len(control):
        return None
    return float(other.mean() - control.mean())
