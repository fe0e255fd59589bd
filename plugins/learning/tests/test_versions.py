"""Candidates and versions over HTTP: a candidate that beats the live policy with confidence
on its logged decisions is promoted (a new version, live at once); one that is worse, or
no better than chance can tell, is not; a rollback makes a kept version live again as it
was kept, and a restart keeps it so."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import numpy as np
import pytest

from mindframe.sdk.learning import LearningEngine

pytestmark = pytest.mark.anyio

SEGMENTS = ("north", "south", "east", "west")
ACTIONS = ("a", "b", "c", "d")
BEST = {"north": "a", "south": "b", "east": "c", "west": "d"}
"""Each segment has one action that pays off 80 % of the time; the others 20 %."""


async def log_traffic(engine: LearningEngine, policy: str, n: int, seed: int) -> float:
    """`n` decisions of `policy`, each rewarded as the world says; the mean reward."""
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(n):
        segment = SEGMENTS[rng.integers(len(SEGMENTS))]
        decision = await engine.decide(policy, {"segment": segment})
        paid = float(rng.random() < (0.8 if decision.action == BEST[segment] else 0.2))
        await engine.reward(decision.id, paid, durable=False)
        total += paid
    return total / n


async def propose(client, kind: str, **options) -> dict:
    response = await client.post(
        "/api/learning/policies/p/candidates", json={"kind": kind, **options}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_candidate_that_beats_the_live_policy_with_confidence_is_promoted(kernel, client):
    engine = kernel.runtime.container.resolve(LearningEngine)
    await engine.create_policy("p", "epsilon_greedy", list(ACTIONS), epsilon=1.0, seed=1)
    await log_traffic(engine, "p", 1_200, seed=2)  # the live policy: uniform, earns ~0.35
    verdict = await propose(client, "linucb", dim=16, alpha=0.1)
    assert verdict["better"] and verdict["promoted"], verdict
    assert verdict["version"] == 2 and verdict["p_value"] < verdict["alpha"]
    assert verdict["estimates"]["dr"]["low"] > verdict["live"]["high"]  # clearly better
    assert engine.live["p"].kind == "linucb" and engine.live["p"].version == 2
    earned = await log_traffic(engine, "p", 400, seed=3)  # decided by the new version
    assert earned > 0.65
    decision = await engine.decide("p", {"segment": "north"})
    assert (decision.version, decision.action) == (2, "a")
    versions = (await client.get("/api/learning/policies/p/versions")).json()
    assert [(v["version"], v["kind"], v["live"]) for v in versions] == [
        (1, "epsilon_greedy", False),
        (2, "linucb", True),
    ]
    assert versions[1]["reason"] == "promoted" and versions[1]["evaluation"]["better"]


async def test_a_worse_candidate_is_not_promoted(kernel, client):
    engine = kernel.runtime.container.resolve(LearningEngine)
    await engine.create_policy("p", "linucb", list(ACTIONS), dim=16, alpha=0.1, seed=1)
    await log_traffic(engine, "p", 1_200, seed=2)  # the live policy learns the world
    verdict = await propose(client, "epsilon_greedy", epsilon=1.0)  # a uniform guess
    assert not verdict["better"] and not verdict["promoted"], verdict
    assert verdict["difference"]["high"] < 0  # worse, with confidence
    assert (engine.live["p"].kind, engine.live["p"].version) == ("linucb", 1)
    assert len((await client.get("/api/learning/policies/p/versions")).json()) == 1


async def test_a_candidate_better_only_by_chance_is_not_promoted(kernel, client):
    engine = kernel.runtime.container.resolve(LearningEngine)
    await engine.create_policy("p", "epsilon_greedy", list(ACTIONS), epsilon=1.0, seed=1)
    await log_traffic(engine, "p", 1_200, seed=10)
    # near-uniform again: its true value is the live policy's, whatever the draws say
    verdict = await propose(client, "thompson_beta", prior_alpha=1e6, prior_beta=1e6, seed=5)
    assert verdict["difference"]["value"] > 0  # on these logs it looks a little better ...
    assert verdict["p_value"] > verdict["alpha"]  # ... but not with confidence
    assert not verdict["better"] and not verdict["promoted"], verdict
    assert engine.live["p"].version == 1


async def test_a_rollback_restores_the_kept_version_as_it_was_and_a_restart_keeps_it(
    boot_kernel, tmp_path
):
    rare = {"learning": {"checkpoint_interval": 3600.0}}  # no timed checkpoint hides a replay
    async with boot_kernel(["learning", "auth"], settings=rare) as kernel:
        client = await kernel.as_user(["learning.manage", "learning.read"])
        engine = kernel.runtime.container.resolve(LearningEngine)
        await engine.create_policy("p", "epsilon_greedy", list(ACTIONS), epsilon=1.0, seed=1)
        await log_traffic(engine, "p", 1_200, seed=2)
        missing = await client.post("/api/learning/policies/p/rollback", json={"version": 9})
        assert missing.status_code == 400
        kept = engine.live["p"].learner.state()
        assert (await propose(client, "linucb", dim=16, alpha=0.1))["promoted"]
        await log_traffic(engine, "p", 300, seed=3)  # version 2 learns on
        response = await client.post("/api/learning/policies/p/rollback", json={"version": 1})
        assert response.status_code == 200, response.text
        live = engine.live["p"]
        assert (live.kind, live.version) == ("epsilon_greedy", 1)
        assert live.learner.state() == kept  # as it was when version 2 replaced it
        assert (await engine.decide("p", {"segment": "north"})).version == 1
        await log_traffic(engine, "p", 100, seed=4)  # and learns on from there
        after = engine.live["p"].learner.state()
        assert after["updates"] == kept["updates"] + 100
        versions = (await client.get("/api/learning/policies/p/versions")).json()
        assert [v["version"] for v in versions if v["live"]] == [1]
        await engine.log.flush()
        crashed = tmp_path / "crashed"  # the database as a crash now would leave it
        crashed.mkdir()
        with (
            closing(sqlite3.connect(tmp_path / "data" / "mindframe.db")) as source,
            closing(sqlite3.connect(crashed / "mindframe.db")) as copy,
        ):
            source.backup(copy)
    for data in (crashed, tmp_path / "data"):  # after a crash, and after a clean stop
        async with boot_kernel(["learning", "auth"], data_dir=data, settings=rare) as restarted:
            live = restarted.runtime.container.resolve(LearningEngine).live["p"]
            assert (live.kind, live.version) == ("epsilon_greedy", 1)
            assert live.learner.state() == after, data  # the kept state + the log after it
