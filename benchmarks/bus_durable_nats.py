"""Durable (SQLite log, group commit) throughput, and the NATS backend vs raw nats-py.

Run: .venv/bin/python benchmarks/bus_durable_nats.py   (NATS part needs 127.0.0.1:4222)
"""

from __future__ import annotations

import asyncio
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


async def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        engine = create_async_engine(f"sqlite+aiosqlite:///{Path(d) / 'd.db'}")
        durable = await _consume_all(None, engine, N_DURABLE)
        print(f"durable SQLite log, {PUBLISHERS} concurrent publishers: {durable:,.0f} ev/s")
        try:
            ours = await _consume_all(
                "nats://127.0.0.1:4222", engine, N_NATS, namespace=f"b{uuid.uuid4().hex[:8]}"
            )
            theirs = await raw_nats(N_NATS)
        except OSError as exc:
            print(f"NATS skipped: {exc}")
            return
        ratio = ours / theirs
        print(
            f"NATS bus {ours:,.0f} ev/s vs raw nats-py JetStream {theirs:,.0f} ev/s: "
            f"ratio {ratio:.2f} (goal >= 0.7: {'met' if ratio >= 0.7 else 'NOT met'})"
        )
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
