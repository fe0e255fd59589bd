"""Durable (SQLite log, group commit) throughput, and the NATS backend vs raw nats-py.

Run: .venv/bin/python benchmarks/bus_durable_nats.py [--quick] [--rounds N]
(NATS part needs 127.0.0.1:4222). The NATS comparison alternates bus and raw nats-py for
N rounds and reports the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import ClassVar

import msgspec
import nats
from nats.js.api import ConsumerConfig
from sqlalchemy.ext.asyncio import create_async_engine

from mindframe.kernel.bus import Event, create_bus

N_DURABLE = 5_000
N_NATS = 3_000
NATS = "nats://127.0.0.1:4222"
PUBLISHERS = 50


class Tick(Event):
    topic: ClassVar[str] = "bench.tick.created"
    n: int


async def _consume_all(bus_url: str | None, engine, n: int, **opts) -> float:  # type: ignore[no-untyped-def]
    bus = await create_bus(bus_url, engine, **opts)
    await bus.start()
    done = asyncio.Event()
    count = 0

    async def handler(e: Tick) -> None:
        nonlocal count
        count += 1
        if count == n:
            done.set()

    sub = bus.subscribe("bench.>", handler, owner="bench", queue_size=10_000)
    await sub.ready.wait()

    async def publisher(k: int) -> None:
        for i in range(k, n, PUBLISHERS):
            await bus.publish(Tick(n=i), durable=True)

    start = time.perf_counter()
    await asyncio.gather(*(publisher(k) for k in range(PUBLISHERS)))
    await done.wait()
    rate = n / (time.perf_counter() - start)
    commits = getattr(getattr(bus, "log", None), "commits", None)
    if bus_url:
        await bus.delete_streams()  # type: ignore[attr-defined]
    await bus.close()
    if commits is not None:
        print(f"  durable: {n} events in {commits} commits")
    return rate


async def raw_nats(n: int) -> float:
    nc = await nats.connect("nats://127.0.0.1:4222")
    js = nc.jetstream()
    ns = f"raw{uuid.uuid4().hex[:8]}"
    await js.add_stream(name=ns, subjects=[f"{ns}.>"])
    psub = await js.pull_subscribe(
        f"{ns}.>", durable="c", stream=ns, config=ConsumerConfig(max_ack_pending=20_000)
    )
    payload = msgspec.json.encode(Tick(n=1))

    async def publisher(k: int) -> None:
        for _i in range(k, n, PUBLISHERS):
            await js.publish(
                f"{ns}.bench.tick.created", payload, headers={"Nats-Msg-Id": uuid.uuid4().hex}
            )

    async def consumer() -> None:
        got = 0
        while got < n:
            try:
                msgs = await psub.fetch(256, timeout=1)
            except nats.errors.TimeoutError:
                continue
            for m in msgs:
                msgspec.json.decode(m.data, type=Tick)
                await m.ack()
            got += len(msgs)

    start = time.perf_counter()
    await asyncio.gather(consumer(), *(publisher(k) for k in range(PUBLISHERS)))
    rate = n / (time.perf_counter() - start)
    await js.delete_stream(ns)
    await nc.close()
    return rate


async def main(n_durable: int, n_nats: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        engine = create_async_engine(f"sqlite+aiosqlite:///{Path(d) / 'd.db'}")
        durable = await _consume_all(None, engine, n_durable)
        print(f"durable SQLite log, {PUBLISHERS} concurrent publishers: {durable:,.0f} ev/s")
        ours: list[float] = []
        theirs: list[float] = []
        try:
            for i in range(rounds):
                namespace = f"b{uuid.uuid4().hex[:8]}"
                if i % 2:
                    theirs.append(await raw_nats(n_nats))
                    ours.append(await _consume_all(NATS, engine, n_nats, namespace=namespace))
                else:
                    ours.append(await _consume_all(NATS, engine, n_nats, namespace=namespace))
                    theirs.append(await raw_nats(n_nats))
        except OSError as exc:
            print(f"NATS skipped: {exc}")
            return
        finally:
            await engine.dispose()
        ratios = [o / t for o, t in zip(ours, theirs, strict=True)]
        ratio = statistics.median(ratios)
        print(
            f"NATS bus {max(ours):,.0f} ev/s vs raw nats-py JetStream {max(theirs):,.0f} ev/s "
            f"(best of {rounds}): median ratio {ratio:.2f} "
            f"(goal >= 0.7: {'met' if ratio >= 0.7 else 'NOT met'}); "
            f"per round {' '.join(f'{r:.2f}' for r in ratios)}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer events, one round")
    parser.add_argument("--rounds", type=int, default=3, help="NATS bus/raw rounds")
    args = parser.parse_args()
    if args.quick:
        asyncio.run(main(N_DURABLE // 5, N_NATS // 5, 1))
    else:
        asyncio.run(main(N_DURABLE, N_NATS, args.rounds))
