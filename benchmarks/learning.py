"""Decide + reward pairs per second through the learning engine vs mabwiser's predict +
partial_fit for the same policy and arms, in the same run; and decisions over HTTP.

Why: issue 15 claims at least twice mabwiser's rate in-process with every decision logged
durably. Subject: a kernel with the learning plugin (and auth, for the HTTP routes' token),
SQLite in a temp folder, announcements (`learning.decision`, `learning.reward`) off. A pair
is `decide` then `reward`, measured three ways:

- durable: `--workers` concurrent callers, each `decide(durable=True)` (its answer comes
  after its decision is committed) then `reward` (its receipt comes after the reward, and
  everything logged before it, is committed). The issue's guarantee for every answer.
- durable rewards: the same callers, but `decide` write-behind (committed within the flush
  interval): a pair is over once its reward, and with it its decision, is committed.
- one caller, write-behind: decisions and rewards committed within the flush interval; the
  clock stops after the final commit, so every decision is in the database when it stops.

Anchor: mabwiser `MAB(arms, UCB1 | ThompsonSampling)`, `predict()` then `partial_fit`, one
caller, no logging. Ten arms, Bernoulli rewards with known means, the same seeds; rounds
alternate anchor and subject, and the ratio is the median of the per-round ratios.

HTTP: the same kernel served on a loopback port (`serving` from `mindframe.sdk.browser`,
uvicorn in this process), driven by `_learning_load.py` in another process over
`--connections` keep-alive sockets with an API token scoped to `learning.use`: decisions/s
(`POST .../decide`, each committed before its answer) and decide + reward pairs/s.

    .venv/bin/python benchmarks/learning.py [--quick] [--pairs 10000] [--workers 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PYTHON, machine_info

from mindframe.sdk.auth import Authenticator
from mindframe.sdk.browser import serving
from mindframe.sdk.learning import LearningEngine
from mindframe.sdk.testing import boot

GOAL = 2.0
MEANS = np.linspace(0.1, 0.6, 10)
ARMS = [f"arm{i}" for i in range(10)]
LOAD = Path(__file__).resolve().parent / "_learning_load.py"


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


async def callers(
    engine: LearningEngine, policy: str, pairs: int, workers: int, seed: int, durable: bool
) -> float:
    """`workers` concurrent callers; each reward waits for its commit, each decision too
    when `durable`."""
    rng = np.random.default_rng(seed)
    share = pairs // workers
    index = {arm: i for i, arm in enumerate(ARMS)}

    async def worker() -> None:
        for _ in range(share):
            decision = await engine.decide(policy, durable=durable)
            await engine.reward(decision.id, float(rng.random() < MEANS[index[decision.action]]))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return share * workers / (time.perf_counter() - start)


async def one_caller(engine: LearningEngine, policy: str, pairs: int, seed: int) -> float:
    """Decisions and rewards write-behind; the clock stops after the final commit."""
    rng = np.random.default_rng(seed)
    index = {arm: i for i, arm in enumerate(ARMS)}
    start = time.perf_counter()
    for _ in range(pairs):
        decision = await engine.decide(policy)
        reward = float(rng.random() < MEANS[index[decision.action]])
        await engine.reward(decision.id, reward, durable=False)
    await engine.log.flush()  # type: ignore[attr-defined]
    return pairs / (time.perf_counter() - start)


PASSWORD = "a benchmark password, long enough"


async def credentials(kernel, url: str) -> dict[str, list[str]]:
    """Headers of two credentials of a user holding `learning.use`: an API token scoped to
    it, and a signed-in session (its cookie and CSRF header, as a browser sends them)."""
    import httpx

    auth = kernel.runtime.container.resolve(Authenticator)
    await auth.set_role("bench", ["learning.use"])
    user = await auth.create_user("bench", PASSWORD, roles_=["bench"])
    _, secret = await auth.create_token(user["id"], "bench", ["learning.use"])
    async with httpx.AsyncClient(base_url=url) as client:
        login = await client.post(
            "/api/auth/login", json={"username": "bench", "password": PASSWORD}
        )
    cookie = login.headers["set-cookie"].split(";", 1)[0]
    return {
        "API token": [f"Authorization: Bearer {secret}"],
        "session": [f"Cookie: {cookie}", f"X-CSRF-Token: {login.json()['csrf_token']}"],
    }


async def run_load(
    url: str, policy: str, headers: list[str], mode: str, seconds: float, connections: int
) -> dict:
    command = [PYTHON, str(LOAD), url, policy, "--mode", mode, "--seconds", str(seconds)]
    command += ["--connections", str(connections)]
    for header in headers:
        command += ["--header", header]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    while process.poll() is None:  # the server runs in this loop: keep it turning
        await asyncio.sleep(0.05)
    out = process.stdout.read() if process.stdout else ""
    if process.returncode != 0:
        raise RuntimeError(f"the HTTP load failed ({process.returncode}): {out}")
    return json.loads(out.strip().splitlines()[-1])


def show(label: str, values: list[float]) -> str:
    each = ", ".join(f"{v:.0f}" for v in values)
    return f"{label} {statistics.median(values):8.0f}/s (rounds {each})"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--http-seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    pairs, rounds, seconds = (
        (2_000, 1, 1.0) if args.quick else (args.pairs, args.rounds, args.http_seconds)
    )
    print(f"# learning  {machine_info()}")
    print(f"# {pairs} pairs per measurement, {args.workers} callers, {rounds} rounds")
    settings = {"learning": {"announce_decisions": False, "announce_rewards": False}}
    with tempfile.TemporaryDirectory() as folder:
        async with boot(["learning", "auth"], data_dir=Path(folder), settings=settings) as kernel:
            engine = kernel.runtime.container.resolve(LearningEngine)
            for policy in ("ucb1", "thompson_beta"):
                name = f"bench-{policy}"
                await engine.create_policy(name, policy, ARMS)
                modes: dict[str, Callable[[int], object]] = {
                    "durable": lambda i, n=name: callers(engine, n, pairs, args.workers, i, True),
                    "durable rewards": lambda i, n=name: callers(
                        engine, n, pairs, args.workers, i, False
                    ),
                    "one caller, write-behind": lambda i, n=name: one_caller(engine, n, pairs, i),
                }
                ours: dict[str, list[float]] = {mode: [] for mode in modes}
                theirs: list[float] = []
                for index in range(rounds):
                    theirs.append(anchor(policy, pairs, index))
                    for mode, measure in modes.items():
                        ours[mode].append(await measure(index))  # type: ignore[misc]
                print(f"{policy}: {show('mabwiser', theirs)}")
                for mode, rates in ours.items():
                    ratios = [o / t for o, t in zip(rates, theirs, strict=True)]
                    ratio = statistics.median(ratios)
                    verdict = "met" if ratio >= GOAL else "NOT met"
                    print(
                        f"  {show(mode, rates)}  ratio {ratio:.2f} (rounds "
                        f"{', '.join(f'{r:.2f}' for r in ratios)}; goal >= {GOAL}: {verdict})"
                    )
            async with serving(kernel.runtime) as url:
                for credential, headers in (await credentials(kernel, url)).items():
                    for mode in ("decide", "pair"):
                        results = [
                            await run_load(
                                url, "bench-ucb1", headers, mode, seconds, args.connections
                            )
                            for _ in range(max(1, rounds // 2))
                        ]
                        decided = [r["decisions_per_s"] for r in results]
                        requests = statistics.median(r["requests_per_s"] for r in results)
                        print(
                            f"HTTP {mode:6s} ({credential}), {args.connections} connections: "
                            f"{show('decisions', decided)}, requests {requests:.0f}/s, "
                            f"p50 {statistics.median(r['p50_ms'] for r in results):.1f} ms, "
                            f"p99 {statistics.median(r['p99_ms'] for r in results):.1f} ms"
                        )
            await engine.log.flush()  # type: ignore[attr-defined]
            counted = {name: (live.decisions, live.rewards) for name, live in engine.live.items()}
            from mindframe_plugins.learning import store

            logged = await engine.ctx.transaction(store.counts)  # type: ignore[attr-defined]
            complete = all(logged[name][:2] == counted[name] for name in counted)
            rows = engine.log.committed_rows  # type: ignore[attr-defined]
            print(
                f"log: {rows} rows in {engine.log.commits} commits; every decision and reward "  # type: ignore[attr-defined]
                f"counted is in the database: {'yes' if complete else 'NO'} {counted}"
            )


if __name__ == "__main__":
    asyncio.run(main())
