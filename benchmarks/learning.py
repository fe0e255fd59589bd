"""Decide + reward pairs per second through the learning engine vs mabwiser's predict +
partial_fit for the same policy and arms, in the same run.

Why: issue 15 claims at least twice mabwiser's rate in-process with every decision logged
durably. Subject: a kernel with only the learning plugin (SQLite in a temp folder). Each
pair is `decide` then `reward`; the reward is acknowledged only once it and its decision are
committed (the engine's group commit), so the subject runs `--workers` concurrent callers,
as a service would, and one commit carries many pairs. Also measured: one sequential
caller whose rewards do not wait (`durable=False`: committed within the flush interval; the
clock stops after the final commit), and HTTP decide + reward through the in-process ASGI
client (the whole HTTP stack without sockets), reported without an anchor.
Anchor: mabwiser `MAB(arms, UCB1 | ThompsonSampling)`, `predict()` then `partial_fit`, one
caller, no logging. Ten arms, Bernoulli rewards with known means, the same seeds.

    .venv/bin/python benchmarks/learning.py [--quick] [--pairs 20000] [--workers 64]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info

from mindframe.sdk.learning import LearningEngine
from mindframe.sdk.testing import boot

GOAL = 2.0
MEANS = np.linspace(0.1, 0.6, 10)
ARMS = [f"arm{i}" for i in range(10)]


def anchor(policy: str, pairs: int, seed: int) -> float:
    from mabwiser.mab import MAB, LearningPolicy

    learning = (
        LearningPolicy.UCB1(alpha=1.0) if policy == "ucb1" else LearningPolicy.ThompsonSampling()
    )
    model = MAB(arms=list(range(10)), learning_policy=learning, seed=seed)
    model.fit(decisions=list(range(10)), rewards=[0.0] * 10)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for _ in range(pairs):
        arm = model.predict()
        model.partial_fit([arm], [float(rng.random() < MEANS[arm])])
    return pairs / (time.perf_counter() - start)


async def concurrent(
    engine: LearningEngine, policy: str, pairs: int, workers: int, seed: int
) -> float:
    rng = np.random.default_rng(seed)
    share = pairs // workers

    async def worker() -> None:
        for _ in range(share):
            decision = await engine.decide(policy)
            await engine.reward(
                decision.id, float(rng.random() < MEANS[ARMS.index(decision.action)])
            )

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return share * workers / (time.perf_counter() - start)


async def sequential(engine, policy: str, pairs: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for _ in range(pairs):
        decision = await engine.decide(policy)
        reward = float(rng.random() < MEANS[ARMS.index(decision.action)])
        await engine.reward(decision.id, reward, durable=False)
    await engine.log.flush()
    return pairs / (time.perf_counter() - start)


async def over_http(client, policy: str, pairs: int, workers: int) -> float:
    share = pairs // workers

    async def worker() -> None:
        for _ in range(share):
            decided = (await client.post(f"/api/learning/policies/{policy}/decide", json={})).json()
            await client.post(
                f"/api/learning/decisions/{decided['decision_id']}/reward", json={"reward": 1.0}
            )

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return share * workers / (time.perf_counter() - start)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    pairs, rounds = (2_000, 1) if args.quick else (args.pairs, args.rounds)
    print(f"# learning  {machine_info()}")
    print(f"# {pairs} pairs per measurement, {args.workers} workers, {rounds} rounds")
    with tempfile.TemporaryDirectory() as folder:
        settings = {"learning": {"announce_decisions": False}}
        async with boot(["learning"], data_dir=Path(folder), settings=settings) as kernel:
            engine = kernel.runtime.container.resolve(LearningEngine)
            for policy in ("ucb1", "thompson_beta"):
                name = f"bench-{policy}"
                await engine.create_policy(name, policy, ARMS)
                ratios, ours, theirs, seq = [], [], [], []
                for index in range(rounds):
                    theirs.append(anchor(policy, pairs, index))
                    ours.append(await concurrent(engine, name, pairs, args.workers, index))
                    seq.append(await sequential(engine, name, pairs, index))
                    ratios.append(ours[-1] / theirs[-1])
                ratio = statistics.median(ratios)
                print(
                    f"{policy:14s} engine, {args.workers} callers, durable acks: "
                    f"{statistics.median(ours):8.0f} pairs/s | one caller, write-behind: "
                    f"{statistics.median(seq):8.0f} pairs/s | mabwiser: "
                    f"{statistics.median(theirs):8.0f} pairs/s | ratio {ratio:.2f} "
                    f"(goal >= {GOAL}: {'met' if ratio >= GOAL else 'NOT met'}); "
                    f"one caller / mabwiser {statistics.median(seq) / statistics.median(theirs):.2f}"  # noqa: E501
                )
            http = await over_http(kernel.client, "bench-ucb1", pairs // 4, args.workers)
            print(
                f"HTTP (in-process ASGI) decide + reward: {http:.0f} pairs/s ({2 * http:.0f} req/s)"
            )
            rows = engine.log.committed_rows
            print(f"log: {rows} rows committed in {engine.log.commits} commits")


if __name__ == "__main__":
    asyncio.run(main())
