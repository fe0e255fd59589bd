"""Child process for test_crash.py: ``publish`` (gets SIGKILLed) or ``recover`` mode."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bus_testlib import Stored
from sqlalchemy.ext.asyncio import create_async_engine

from mindframe.kernel.bus import Envelope, create_bus


def append(path: Path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, f"{line}\n".encode())  # one write(2): survives SIGKILL
    finally:
        os.close(fd)


def lines(path: Path) -> set[str]:
    return set(path.read_text().split()) if path.exists() else set()


async def main(mode: str, workdir: Path, count: int) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{workdir / 'bus.db'}")
    bus = await create_bus(None, engine)
    handled, accepted = workdir / "handled", workdir / "accepted"

    async def record(event: Stored, env: Envelope) -> None:
        await asyncio.sleep(0.005)  # slow enough to be killed mid-delivery
        append(handled, env.id)

    bus.subscribe("bt.store.*", record, owner="crash", name="recorder", durable=True)
    await bus.start()
    if mode == "publish":
        # Ten at a time (sharing group commits), so accepted events run well ahead of the
        # 5 ms handler and the kill always finds some unhandled.
        for start in range(0, count, 10):
            batch = [Stored(n=n) for n in range(start, min(start + 10, count))]
            for event_id in await asyncio.gather(*(bus.publish(e) for e in batch)):
                append(accepted, event_id)
        await asyncio.sleep(3600)  # the parent kills us
    else:
        want = lines(accepted)
        while not want <= lines(handled):
            await asyncio.sleep(0.02)
        await bus.close()
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])))
