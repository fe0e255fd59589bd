"""Child process for test_crash.py, on a SQLite file in WORKDIR.

``publish``: deliver what earlier runs left, print ``started`` and publish durable events
until SIGKILLed. ``recover``: deliver what earlier runs left, then exit.

Every id ``publish()`` returned is appended to ``accepted``, and every id a handler
finished with to ``handled``, one write(2) each, so both files survive SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bus_testlib import Stored
from sqlalchemy.ext.asyncio import create_async_engine

from mindframe.kernel.bus import Envelope, create_bus

BATCH = 10  # publishers at once: they share group commits
HANDLERS = 16  # many handlers in flight, so a kill usually lands inside some of them
QUEUE = 100_000  # publishers never wait for handlers: accepted runs ahead of handled
HANDLER_SECONDS = 0.005  # the handler's own work before its result is durable


def append(path: Path, lines: list[str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, "".join(f"{line}\n" for line in lines).encode())  # one write(2)
    finally:
        os.close(fd)


async def main(mode: str, workdir: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{workdir / 'bus.db'}")
    bus = await create_bus(None, engine)
    handled, accepted = workdir / "handled", workdir / "accepted"

    async def record(event: Stored, env: Envelope) -> None:
        await asyncio.sleep(HANDLER_SECONDS)
        append(handled, [env.id])  # the handler's result, durable from here on

    sub = bus.subscribe(
        "bt.store.*",
        record,
        owner="crash",
        name="recorder",
        durable=True,
        concurrency=HANDLERS,
        queue_size=QUEUE,
    )
    await bus.start()
    if mode == "publish":
        print("started", flush=True)
        n = 0
        while True:
            batch = [Stored(n=n + i) for i in range(BATCH)]
            append(accepted, await asyncio.gather(*(bus.publish(e) for e in batch)))
            n += BATCH
    else:
        await sub.ready.wait()  # the catch-up has queued everything left unacknowledged
        await sub.queue.join()
        await bus.close()
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
