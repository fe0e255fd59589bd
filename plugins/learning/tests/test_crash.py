"""Acknowledged means logged: a real `mindframe run` takes decisions and rewards over HTTP
and is SIGKILLed at random points, three times, with requests in flight; after each restart
the clients go on (rewarding decisions the dead server made, resending rewards it had
acknowledged). At the end every acknowledged decision and reward is in the log, each reward
once, and the learned state a restart builds (checkpoint + replay of the log after it)
equals the counts and sums of the logged rewards."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from mindframe.sdk.auth import Authenticator
from mindframe.sdk.browser import free_port
from mindframe.sdk.learning import LearningEngine
from mindframe.sdk.testing import boot

PLUGINS = Path(__file__).resolve().parents[2]
ACTIONS = ["a", "b", "c", "d"]
KILLS = 3
CONNECTIONS = 8
KEPT = ("learning", "auth")

SLOW_COMMITS = """
import time
from sqlalchemy import event
from sqlalchemy.engine import Engine


def slow(conn, cursor, statement, *args):
    if statement.startswith(("INSERT INTO learning_decisions", "INSERT INTO learning_rewards")):
        time.sleep(0.01)


event.listen(Engine, "before_cursor_execute", slow)
from mindframe.kernel.cli import main
main()
"""
"""The server, each log insert slowed by 10 ms: a wide window between a request arriving and
its row being committed, so an answer given before the commit would be caught by a kill."""


def server_env(data: Path) -> dict[str, str]:
    others = [p.parent.name for p in PLUGINS.glob("*/plugin.toml") if p.parent.name not in KEPT]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINDFRAME_")}
    env.update(
        MINDFRAME_DATA_DIR=str(data),
        MINDFRAME_DISABLED=json.dumps(others),
        MINDFRAME_LEARNING__CHECKPOINT_EVERY="20",  # restarts replay from mid-log checkpoints
        MINDFRAME_LEARNING__CHECKPOINT_INTERVAL="0.3",
    )
    return env


def start(data: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", SLOW_COMMITS, "run", "--host", "127.0.0.1"]
    with log.open("ab") as out:
        return subprocess.Popen(
            [*command, "--port", str(port), "--no-access-log"],
            env=server_env(data),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def until_up(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    async with httpx.AsyncClient() as client:
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the server did not start in 90 s"
            try:
                if (await client.get(f"http://127.0.0.1:{port}/health")).status_code:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)


async def prepare(data: Path) -> str:
    """The policy, and an API token scoped to `learning.use` of a user who holds it."""
    async with boot(list(KEPT), data_dir=data) as kernel:
        await kernel.runtime.container.resolve(LearningEngine).create_policy(
            "p", "thompson_beta", ACTIONS, seed=3
        )
        auth = kernel.runtime.container.resolve(Authenticator)
        await auth.set_role("service", ["learning.use"])  # type: ignore[attr-defined]
        user = await auth.create_user("service", "a long enough password", roles_=["service"])  # type: ignore[attr-defined]
        _, secret = await auth.create_token(user["id"], "crash test", ["learning.use"])  # type: ignore[attr-defined]
        return secret


def value_of(decision_id: str) -> float:
    return float(int(decision_id[-1], 16) % 2)


@dataclass
class Acknowledged:
    decisions: dict[str, tuple[str, float]] = field(default_factory=dict)  # id: action, p
    rewards: dict[str, float] = field(default_factory=dict)
    repeats: int = 0  # rewards resent and answered "not counted"


async def traffic(
    port: int,
    token: str,
    process: subprocess.Popen[bytes],
    seen: Acknowledged,
    rng: random.Random,
    kill_after: int | None,
) -> None:
    """CONNECTIONS clients deciding and rewarding until `kill_after` more answers (then
    SIGKILL, from inside the burst) or, with None, 150 more."""
    answers = 0
    limit = kill_after if kill_after is not None else 150
    done = asyncio.Event()
    old_open = [d for d in seen.decisions if d not in seen.rewards]
    old_rewarded = list(seen.rewards)

    def answered() -> None:
        nonlocal answers
        answers += 1
        if answers >= limit and not done.is_set():
            if kill_after is not None:
                os.kill(process.pid, signal.SIGKILL)
            done.set()

    async def reward(client: httpx.AsyncClient, decision_id: str) -> None:
        value = value_of(decision_id)
        response = await client.post(
            f"/api/learning/decisions/{decision_id}/reward", json={"reward": value}
        )
        assert response.status_code == 200, response.text
        if response.json()["counted"]:
            assert decision_id not in seen.rewards, "a reward was counted twice"
            seen.rewards[decision_id] = value
        else:  # acknowledged before, or committed before a kill cut its answer off
            seen.repeats += 1
        answered()

    async def client_loop(client: httpx.AsyncClient) -> None:
        while not done.is_set():
            try:
                if old_open and rng.random() < 0.2:  # a decision the dead server made
                    await reward(client, old_open.pop())
                    continue
                if old_rewarded and rng.random() < 0.1:  # a reward it had acknowledged
                    await reward(client, rng.choice(old_rewarded))
                    continue
                response = await client.post("/api/learning/policies/p/decide", json={})
                assert response.status_code == 200, response.text
                body = response.json()
                seen.decisions[body["decision_id"]] = (body["action"], body["propensity"])
                answered()
                if rng.random() < 0.8:
                    await reward(client, body["decision_id"])
                    if rng.random() < 0.1:
                        await reward(client, body["decision_id"])  # delivered twice
            except httpx.TransportError:
                assert kill_after is not None and done.is_set(), "the server went away"
                return

    headers = {"Authorization": f"Bearer {token}"}
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(CONNECTIONS)))


def logged(data: Path) -> tuple[dict[str, tuple[int, float]], list[tuple[str, float, int]]]:
    with closing(sqlite3.connect(data / "mindframe.db", timeout=10)) as db:
        made = {
            i: (a, p)
            for i, a, p in db.execute("select id, action, propensity from learning_decisions")
        }
        taken = db.execute(
            "select r.decision_id, r.value, d.action from learning_rewards r "
            "join learning_decisions d on d.id = r.decision_id"
        ).fetchall()
    return made, taken


async def restarted_state(data: Path) -> tuple[dict, int, int]:
    async with boot(list(KEPT), data_dir=data) as kernel:
        engine = kernel.runtime.container.resolve(LearningEngine)
        info = await engine.info("p")
        return engine.live["p"].learner.state(), info.decisions, info.rewards  # type: ignore[attr-defined]


@pytest.mark.slow
def test_sigkills_lose_no_acknowledged_decision_or_reward_and_restarts_rebuild_the_state(
    tmp_path: Path,
) -> None:
    data, log = tmp_path / "data", tmp_path / "server.log"
    token = asyncio.run(prepare(data))
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    seen = Acknowledged()
    port = free_port()
    for life in range(KILLS + 1):
        server = start(data, port, log)
        try:
            asyncio.run(until_up(port, server, log))
            kill_after = rng.randint(20, 160) if life < KILLS else None
            asyncio.run(traffic(port, token, server, seen, rng, kill_after))
        finally:
            if life == KILLS and server.poll() is None:
                os.kill(server.pid, signal.SIGKILL)  # the last one dies too: no clean close
            server.wait(timeout=30)
        assert server.returncode == -signal.SIGKILL, (seed, log.read_text()[-3000:])

    made, taken = logged(data)
    context = f"seed {seed}"
    lost = set(seen.decisions) - set(made)
    assert not lost, f"{context}: {len(lost)} acknowledged decisions are not in the log"
    for decision_id, (action, propensity) in seen.decisions.items():
        assert (ACTIONS[made[decision_id][0]], made[decision_id][1]) == (action, propensity)
    rewarded = {decision_id: value for decision_id, value, _ in taken}
    assert len(rewarded) == len(taken), f"{context}: a decision was rewarded twice in the log"
    missing = set(seen.rewards) - set(rewarded)
    assert not missing, f"{context}: {len(missing)} acknowledged rewards are not in the log"
    assert all(rewarded[d] == v for d, v in seen.rewards.items())
    # what was committed while its answer was on the wire at a kill: one per connection
    assert len(set(rewarded) - set(seen.rewards)) <= KILLS * CONNECTIONS, context
    assert seen.repeats > 0 and len(seen.rewards) > 100, (context, seen.repeats, len(seen.rewards))

    print(
        f"\n{context}: {len(seen.decisions)} decisions and {len(seen.rewards)} rewards "
        f"acknowledged, {seen.repeats} repeats answered 'not counted', "
        f"{len(set(rewarded) - set(seen.rewards))} rewards committed with the answer lost"
    )
    state, decisions, rewards = asyncio.run(restarted_state(data))
    counts, sums = [0.0] * len(ACTIONS), [0.0] * len(ACTIONS)
    for _, value, action in taken:  # replay the log
        counts[action] += 1
        sums[action] += value
    assert state["counts"] == counts, context
    assert state["sums"] == pytest.approx(sums), context
    assert (decisions, rewards) == (len(made), len(taken)), context
