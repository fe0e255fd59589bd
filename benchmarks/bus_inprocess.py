"""In-process bus throughput/latency vs pyee's AsyncIOEventEmitter doing the same work.

Run: .venv/bin/python benchmarks/bus_inprocess.py [--quick]   (BENCH_N events, BENCH_ROUNDS
rounds; --quick: 2,000 events, 2 rounds)

Each round runs the bus and pyee back to back (alternating which goes first); the ratio
reported is the median of the per-round ratios, so a noisy patch on the shared machine
hits both sides of a ratio alike. Best-of-rounds rates are shown for reference.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import ClassVar

from pyee.asyncio import AsyncIOEventEmitter
from sqlalchemy.ext.asyncio import create_async_engine

from mindframe.kernel.bus import Event, create_bus

N = int(os.environ.get("BENCH_N", "20000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
N_FANOUT = N // 10
SUBS = 100


class Tick(Event):
    topic: ClassVar[str] = "bench.tick.created"
    n: int


async def bus_rate(n: int, subs: int, tmp: Path) -> float:
    bus = await create_bus(None, create_async_engine(f"sqlite+aiosqlite:///{tmp / 'a.db'}"))
    await bus.start()
    done = asyncio.Event()
    expected = n * subs
    count = 0

    async def handler(e: Tick) -> None:
        nonlocal count
        count += 1
        if count == expected:
            done.set()

    def make_handler() -> Callable[[Tick], Awaitable[None]]:  # same shape as for pyee
        return handler

    for i in range(subs):
        pattern = "bench.tick.created" if subs == 1 else ("bench.*.created", "bench.>")[i % 2]
        bus.subscribe(pattern, make_handler(), owner="bench", name=f"s{i}", queue_size=10_000)
    start = time.perf_counter()
    for i in range(n):
        await bus.publish(Tick(n=i))
    await done.wait()
    elapsed = time.perf_counter() - start
    await bus.close()
    return n / elapsed


async def pyee_rate(n: int, subs: int) -> float:
    ee = AsyncIOEventEmitter()
    done = asyncio.Event()
    expected = n * subs
    count = 0

    def make_handler() -> Callable[[Tick], Awaitable[None]]:
        async def handler(e: Tick) -> None:
            nonlocal count
            count += 1
            if count == expected:
                done.set()

        return handler

    for _ in range(subs):  # pyee keys listeners by function: register distinct ones
        ee.on("bench.tick.created", make_handler())
    start = time.perf_counter()
    for i in range(n):
        ee.emit("bench.tick.created", Tick(n=i))
        if i % 256 == 0:
            await asyncio.sleep(0)  # let handlers run, as the bus does
    await done.wait()
    return n / (time.perf_counter() - start)


async def latency(tmp: Path, n: int = 5_000) -> tuple[float, float]:
    bus = await create_bus(None, create_async_engine(f"sqlite+aiosqlite:///{tmp / 'l.db'}"))
    await bus.start()
    got = asyncio.Event()

    async def handler(e: Tick) -> None:
        got.set()

    bus.subscribe("bench.>", handler, owner="bench")
    samples = []
    for i in range(n):
        got.clear()
        t0 = time.perf_counter()
        await bus.publish(Tick(n=i))
        await got.wait()
        samples.append(time.perf_counter() - t0)
    await bus.close()
    q = statistics.quantiles(samples, n=100)
    return q[49] * 1e6, q[98] * 1e6


async def main() -> None:
    import mindframe.kernel.bus as bus_pkg

    print(f"bus from {Path(bus_pkg.__file__).parent}, N={N}, rounds={ROUNDS}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rows = []
        for label, n, subs in [("1 subscriber", N, 1), (f"{SUBS} wildcard subs", N_FANOUT, SUBS)]:
            ours: list[float] = []
            theirs: list[float] = []
            for i in range(ROUNDS):
                if i % 2:
                    theirs.append(await pyee_rate(n, subs))
                    ours.append(await bus_rate(n, subs, tmp))
                else:
                    ours.append(await bus_rate(n, subs, tmp))
                    theirs.append(await pyee_rate(n, subs))
            ratios = [o / t for o, t in zip(ours, theirs, strict=True)]
            rows.append((label, max(ours), max(theirs), statistics.median(ratios), ratios))
        p50, p99 = await latency(tmp)
    print(f"{'case':<22}{'bus ev/s':>12}{'pyee ev/s':>12}{'ratio':>8}  goal>=2   per-round ratios")
    for label, ours_best, theirs_best, ratio, ratios in rows:
        verdict = "met" if ratio >= 2 else "NOT met"
        spread = " ".join(f"{r:.2f}" for r in ratios)
        rates = f"{ours_best:>12,.0f}{theirs_best:>12,.0f}"
        print(f"{label:<22}{rates}{ratio:>8.2f}  {verdict:<8} {spread}")
    print(f"non-durable publish->handle latency: p50 {p50:.0f} us, p99 {p99:.0f} us")
    print("(ev/s = best round, events published per second; with 100 subs each is handled")
    print(" 100 times; ratio = median of the per-round ratios)")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 events, 2 rounds")
    if parser.parse_args().quick:
        N, N_FANOUT, ROUNDS = 2_000, 200, 2
    asyncio.run(main())
