"""The engine through HTTP, the SDK and the bus: decisions and rewards logged, rewards
counted once, refusals as problem details, and nothing lost across a restart or a reload."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import anyio
import pytest
from simulations import REPLIES, TicketStream
from sqlalchemy import event
from sqlalchemy.engine import Engine

from mindframe.sdk.learning import DecideRequest, LearningEngine, RewardDelivered

pytestmark = pytest.mark.anyio


def rows(data: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(data / "mindframe.db", timeout=10)) as db:
        return db.execute(sql).fetchall()


async def until(condition, timeout: float = 5.0) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.01)


async def test_decide_and_reward_over_http_are_logged_and_counted_once(client, tmp_path):
    created = await client.post(
        "/api/learning/policies",
        json={"name": "replies", "kind": "epsilon_greedy", "actions": ["a", "b"], "epsilon": 0.5},
    )
    assert created.status_code == 201, created.text
    decided = await client.post("/api/learning/policies/replies/decide", json={"context": {"x": 1}})
    assert decided.status_code == 200
    body = decided.json()
    assert body["action"] in ("a", "b") and body["propensity"] == 0.5  # both tied at first
    # the decision was committed before the answer: it is in the database now
    logged = rows(tmp_path / "data", "select id, propensity from learning_decisions")
    assert logged == [(body["decision_id"], body["propensity"])]
    url = f"/api/learning/decisions/{body['decision_id']}/reward"
    first = await client.post(url, json={"reward": 1.0})
    again = await client.post(url, json={"reward": 1.0})
    assert first.json()["counted"] is True and again.json()["counted"] is False
    assert rows(tmp_path / "data", "select value from learning_rewards") == [(1.0,)]
    info = (await client.get("/api/learning/policies/replies")).json()
    assert (info["decisions"], info["rewards"], info["mean_reward"]) == (1, 1, 1.0)
    assert info["curve"] == [{"rewards": 1, "mean": 1.0, "cumulative": 1.0}]


async def test_refusals_are_problem_details_with_the_right_status(client):
    await client.post(
        "/api/learning/policies",
        json={"name": "p", "kind": "ucb1", "actions": ["a", "b"], "reward_window": 1e-9},
    )
    unknown = await client.post("/api/learning/decisions/nope/reward", json={"reward": 1})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    decision = (await client.post("/api/learning/policies/p/decide", json={})).json()
    expired = await client.post(
        f"/api/learning/decisions/{decision['decision_id']}/reward", json={"reward": 1}
    )
    assert expired.status_code == 410, expired.text
    assert (await client.post("/api/learning/policies/zz/decide", json={})).status_code == 404
    bad_kind = await client.post(
        "/api/learning/policies", json={"name": "q", "kind": "magic", "actions": ["a"]}
    )
    assert bad_kind.status_code == 400 and "magic" in bad_kind.json()["detail"]
    bad_action = await client.post("/api/learning/policies/p/decide", json={"actions": ["c"]})
    assert bad_action.status_code == 400


async def test_a_second_reward_with_another_value_is_a_conflict_and_not_counted(kernel, client):
    engine = kernel.runtime.container.resolve(LearningEngine)
    await engine.create_policy("p", "ucb1", ["a", "b"])
    decision = await engine.decide("p")
    await client.post(f"/api/learning/decisions/{decision.id}/reward", json={"reward": 1})
    conflict = await client.post(
        f"/api/learning/decisions/{decision.id}/reward", json={"reward": 0}
    )
    assert conflict.status_code == 409
    assert (await engine.info("p")).rewards == 1


async def test_a_reward_delivered_again_before_and_after_its_commit_is_counted_once(
    kernel, tmp_path
):
    engine = kernel.runtime.container.resolve(LearningEngine)
    await engine.create_policy("p", "thompson_beta", ["a", "b"])
    decision = await engine.decide("p")
    first = await engine.reward(decision.id, 1.0, durable=False)
    again = await engine.reward(decision.id, 1.0, durable=False)  # not committed yet
    await engine.log.flush()
    with anyio.fail_after(10):  # a second reward row would fail every commit from then on
        late = await engine.reward(decision.id, 1.0)  # recognised from the log now
    assert (first.counted, again.counted, late.counted) == (True, False, False)
    learned = engine.live["p"].learner.state()
    assert (sum(learned["counts"]), learned["updates"]) == (1.0, 1)
    assert (await engine.info("p")).rewards == 1
    assert rows(tmp_path / "data", "select decision_id from learning_rewards") == [(decision.id,)]


async def test_a_commit_that_fails_is_retried_and_its_callers_wait_for_it(kernel, tmp_path):
    engine = kernel.runtime.container.resolve(LearningEngine)
    await engine.create_policy("p", "ucb1", ["a", "b"])
    refused = []

    def refuse_twice(conn, cursor, statement, *args):
        if statement.startswith("INSERT INTO learning_decisions") and len(refused) < 2:
            refused.append(statement)
            raise sqlite3.OperationalError("disk I/O error (injected)")

    event.listen(Engine, "before_cursor_execute", refuse_twice)
    try:
        with anyio.fail_after(10):
            decision = await engine.decide("p", durable=True)  # answered after the retries
            receipt = await engine.reward(decision.id, 1.0)
    finally:
        event.remove(Engine, "before_cursor_execute", refuse_twice)
    assert len(refused) == 2 and receipt.counted
    assert engine.log.last_error is None and engine.log.commits >= 1
    assert rows(tmp_path / "data", "select id from learning_decisions") == [(decision.id,)]
    assert rows(tmp_path / "data", "select decision_id from learning_rewards") == [(decision.id,)]


async def test_the_bus_decides_on_request_and_counts_reward_events(kernel):
    engine = kernel.runtime.container.resolve(LearningEngine)
    await engine.create_policy("p", "ucb1", ["a", "b"])
    answer = await kernel.runtime.bus.request(DecideRequest(policy="p"), timeout=5)
    assert answer["action"] in ("a", "b") and answer["propensity"] == 0.5
    announced = await kernel.bus_probe.next("learning.decision", timeout=5)
    assert announced.decision_id == answer["decision_id"]
    await kernel.runtime.bus.publish(RewardDelivered(decision_id=answer["decision_id"], reward=1))
    await kernel.runtime.bus.publish(RewardDelivered(decision_id=answer["decision_id"], reward=1))
    await until(lambda: engine.live["p"].rewards == 1)
    unknown = await kernel.runtime.bus.request(DecideRequest(policy="nope"), timeout=5)
    assert unknown["status"] == 404


async def learn_support(engine: LearningEngine, stream: TicketStream, tickets: int) -> float:
    resolved = 0.0
    for _ in range(tickets):
        ticket = stream.ticket()
        decision = await engine.decide("support-replies", ticket, agent="bot")
        outcome = stream.resolved(ticket, decision.action)
        await engine.reward(decision.id, outcome, durable=False)
        resolved += outcome
    return resolved / tickets


async def test_the_support_bot_resolves_more_tickets_than_a_random_reply(kernel, capsys):
    """The seed's example: replies to tickets whose resolution chance depends on category
    and language; the learned policy's rate over the last 1000 of 3000 tickets against a
    uniformly random reply (its exact expected rate) and the best possible."""
    engine = kernel.runtime.container.resolve(LearningEngine)
    await engine.create_policy("support-replies", "lin_thompson", list(REPLIES), seed=4)
    stream = TicketStream(seed=11)
    await learn_support(engine, stream, 2_000)
    learned = await learn_support(engine, stream, 1_000)
    uniform, best = stream.uniform_rate(), stream.best_rate()
    with capsys.disabled():
        print(f"\nsupport: learned {learned:.3f}, random {uniform:.3f}, best {best:.3f}, "
              f"lift {learned / uniform:.2f}x")  # fmt: skip
    assert learned > uniform + 0.25
    assert learned > 0.85 * best
    info = await engine.info("support-replies")
    assert info.agents["bot"][-1].mean > info.agents["bot"][0].mean  # the curve climbs


async def test_a_restart_and_a_reload_lose_no_decision_reward_or_learned_state(
    boot_kernel, tmp_path
):
    data = tmp_path / "data"
    slow = {"learning": {"flush_interval": 60.0}}  # rows written behind wait for the stop
    async with boot_kernel(["learning"], data_dir=data, settings=slow) as first:
        engine = first.runtime.container.resolve(LearningEngine)
        await engine.create_policy("p", "thompson_beta", ["a", "b", "c"], seed=1)
        open_ids = []
        for i in range(300):
            decision = await engine.decide("p", durable=(i % 10 == 0))
            if i % 3:
                await engine.reward(decision.id, float(decision.action == "c"), durable=False)
            else:
                open_ids.append(decision.id)
        learned = engine.live["p"].learner.state()
        result = await first.runtime.reload("learning")
        assert result.ok, result
        reloaded = first.runtime.container.resolve(LearningEngine)
        assert reloaded is not engine
        assert reloaded.live["p"].learner.state() == learned
        # a reward for a decision made before the reload still counts, once
        await reloaded.reward(open_ids.pop(), 1.0)
        for _ in range(5):  # written behind: committed only because the stop flushes them
            await reloaded.reward((await reloaded.decide("p")).id, 1.0, durable=False)
        learned = reloaded.live["p"].learner.state()
    assert len(rows(data, "select * from learning_decisions")) == 305
    assert len(rows(data, "select * from learning_rewards")) == 206
    async with boot_kernel(["learning"], data_dir=data, settings=slow) as second:
        engine = second.runtime.container.resolve(LearningEngine)
        assert engine.live["p"].learner.state() == learned
        late = await engine.reward(open_ids.pop(), 0.0)  # late, but within the window
        assert late.counted
        info = await engine.info("p")
        assert (info.decisions, info.rewards) == (305, 207)
