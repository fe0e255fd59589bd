"""In-process bus throughput/latency vs pyee's AsyncIOEventEmitter doing the same work.

Run: .venv/bin/python benchmarks/bus_inprocess.py
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
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rows = []
        for label, n, subs in [("1 subscriber", N, 1), (f"{SUBS} wildcard subs", N_FANOUT, SUBS)]:
            ours = max([await bus_rate(n, subs, tmp) for _ in range(3)])
            theirs = max([await pyee_rate(n, subs) for _ in range(3)])
            rows.append((label, ours, theirs))
        p50, p99 = await latency(tmp)
    print(f"{'case':<22}{'bus ev/s':>12}{'pyee ev/s':>12}{'ratio':>8}  goal>=2")
    for label, ours, theirs in rows:
        ratio = ours / theirs
        verdict = "met" if ratio >= 2 else "NOT met"
        print(f"{label:<22}{ours:>12,.0f}{theirs:>12,.0f}{ratio:>8.2f}  {verdict}")
    print(f"non-durable publish->handle latency: p50 {p50:.0f} us, p99 {p99:.0f} us")
    print("(ev/s = events published per second; with 100 subs each is handled 100 times)")


if __name__ == "__main__":
    asyncio.run(main())
