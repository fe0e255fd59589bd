"""Live A/B splits over HTTP: units go to arms by a stable hash of the experiment and the
unit (the same arm every time, in the weights' proportions), each arm decides with its own
policy, and the verdict names its test, its p-values and the minimum sample per arm, calling
a difference significant only once every arm has that many rewards."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing

import numpy as np
import pytest
from mindframe_plugins.learning import experiments
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from mindframe.sdk.learning import LearningEngine

pytestmark = pytest.mark.anyio

PAYS = {"x": 0.3, "y": 0.6}
"""The world: action y pays off twice as often as x, whoever decides."""


def expected_arm(name: str, unit: str, weights: dict[str, float]) -> str:
    """The split, computed here on its own: blake2b-64 of name NUL unit, as a fraction of
    2^64, against the cumulative weights."""
    digest = hashlib.blake2b(f"{name}\x00{unit}".encode(), digest_size=8).digest()
    point = int.from_bytes(digest, "big") / 2**64 * sum(weights.values())
    for arm, weight in weights.items():
        if point < weight:
            return arm
        point -= weight
    return arm


async def start(kernel, client, weights: dict[str, float]) -> None:
    engine = kernel.runtime.container.resolve(LearningEngine)
    await engine.create_policy("uniform", "epsilon_greedy", list(PAYS), epsilon=1.0, seed=1)
    await engine.create_policy("learned", "ucb1", list(PAYS), seed=1)
    policies = {"control": "uniform", "treatment": "learned"}
    arms = {arm: {"policy": policies[arm], "weight": w} for arm, w in weights.items()}
    response = await client.post(
        "/api/learning/experiments",
        json={"name": "replies", "arms": arms, "metric": "binary", "effect": 0.1},
    )
    assert response.status_code == 201, response.text


async def run_units(kernel, units: range, seed: int) -> None:
    """Units decided and rewarded in-process (fast), through the same split as HTTP."""
    engine = kernel.runtime.container.resolve(LearningEngine)
    experiment = await experiments.load(engine, "replies")  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    for i in units:
        _, decision = await experiments.decide(engine, experiment, f"user{i}", None, False)  # type: ignore[arg-type]
        await engine.reward(decision.id, float(rng.random() < PAYS[decision.action]), durable=False)


async def test_units_keep_their_arm_and_the_split_follows_the_weights(kernel, client, tmp_path):
    weights = {"control": 3.0, "treatment": 1.0}
    await start(kernel, client, weights)
    seen: dict[str, str] = {}
    for i in range(40):
        unit = f"user{i}"
        for _ in range(2):  # asked twice, the same arm
            response = await client.post(
                "/api/learning/experiments/replies/decide", json={"unit": unit}
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert seen.setdefault(unit, body["arm"]) == body["arm"]
            assert body["action"] in PAYS and 0 < body["propensity"] <= 1
        assert seen[unit] == expected_arm("replies", unit, weights)
    arms = [expected_arm("replies", f"unit{i}", weights) for i in range(4_000)]
    assert arms.count("control") / len(arms) == pytest.approx(0.75, abs=0.03)
    # each decision is logged with its experiment and arm
    await kernel.runtime.container.resolve(LearningEngine).log.flush()  # type: ignore[attr-defined]
    with closing(sqlite3.connect(tmp_path / "data" / "mindframe.db")) as db:
        tagged = db.execute(
            "select arm, count(*) from learning_decisions where experiment = 'replies' group by arm"
        ).fetchall()
    counted = {arm: 2 * list(seen.values()).count(arm) for arm in weights}
    assert dict(tagged) == {arm: n for arm, n in counted.items() if n}


async def test_the_verdict_waits_for_the_minimum_sample_then_finds_the_better_arm(kernel, client):
    await start(kernel, client, {"control": 1.0, "treatment": 1.0})
    await run_units(kernel, range(60), seed=1)
    early = (await client.get("/api/learning/experiments/replies")).json()
    assert early["test"] == "two-proportion z-test"
    needed = early["minimum_per_arm"]
    assert needed > 60 and not early["enough_data"]
    assert not early["comparisons"][0]["significant"]  # whatever p says, too few
    await run_units(kernel, range(60, 2_000), seed=2)
    verdict = (await client.get("/api/learning/experiments/replies")).json()
    control, treatment = verdict["arms"]["control"], verdict["arms"]["treatment"]
    assert min(control["rewards"], treatment["rewards"]) >= verdict["minimum_per_arm"]
    assert verdict["enough_data"]
    # the minimum sample is statsmodels' for the control's rate and the effect asked for
    size = proportion_effectsize(control["mean"] + 0.1, control["mean"])
    power = NormalIndPower().solve_power(effect_size=abs(size), alpha=0.05, power=0.8)
    assert verdict["minimum_per_arm"] == int(np.ceil(power))
    comparison = verdict["comparisons"][0]
    assert (comparison["arm"], comparison["against"]) == ("treatment", "control")
    assert comparison["difference"] == pytest.approx(treatment["mean"] - control["mean"])
    assert comparison["difference"] > 0.08  # ucb1 learns y (0.6); uniform earns 0.45
    assert comparison["p_value"] < 1e-4 and comparison["significant"]
    assert control["decisions"] + treatment["decisions"] == 2_000
