"""Child process of test_crash.py: a kernel with the mail plugin on the test's data folder.

It imports everything, then waits for a line on stdin before it boots, so the test can
start the next child while the current one runs (importing takes longer than booting).

`send OFFSET COUNT`: queue COUNT messages one by one with `Mailer.send`, appending each
Message-ID to `accepted` as soon as `send` returns (its row must be committed by then);
then go on sending until SIGKILLed. `recover`: exit once the outbox is settled.

Recording an outcome is slowed by OUTCOME_DELAY, so each connection holds every answered
but unrecorded message the sender lets it: a kill finds two per connection (the README's
bound), and a sender that let a third pile up would be seen.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from mindframe.sdk.mail import Mailer
from mindframe.sdk.testing import boot

CONNECTIONS = 4
OUTCOME_DELAY = 0.03
SETTINGS: dict[str, Any] = {
    "sender": "noreply@mindframe.test",
    "batch_size": 20,
    "max_connections": CONNECTIONS,
    "per_domain_concurrency": 2,  # two domains: four lanes, one connection each
    "sending_lease": 60.0,  # runs out when the test says so: it expires a dead child's leases
    "max_attempts": 100,  # each kill may add an attempt; the limit is not what is tested here
    "retry_delay": 0.05,
    "poll_interval": 0.1,
}


def slow_outcomes(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    """Before the UPDATE that records outcomes (the only one that sets `reply`)."""
    if statement.startswith("UPDATE mail_outbox") and "reply=" in statement:
        time.sleep(OUTCOME_DELAY)


def append(path: Path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, f"{line}\n".encode())  # one write(2): survives SIGKILL
    finally:
        os.close(fd)


async def main(mode: str, workdir: Path, port: int, offset: int, count: int) -> None:
    settings = {"mail": {**SETTINGS, "smtp_port": port}}
    async with boot(["mail"], data_dir=workdir / "data", settings=settings) as kernel:
        mailer = kernel.runtime.container.resolve(Mailer)
        if mode == "send":
            for n in range(offset, offset + count):
                to = f"user{n}@{'ab'[n % 2]}.example.org"
                queued = await mailer.send([to], subject=f"m{n}", text="t")
                append(workdir / "accepted", queued.message_id)
            await asyncio.Event().wait()
        while await mailer.messages(state="queued") or await mailer.messages(state="sending"):
            await asyncio.sleep(0.02)


if __name__ == "__main__":
    mode, workdir, port, *numbers = sys.argv[1:]
    event.listen(Engine, "before_cursor_execute", slow_outcomes)
    sys.stdin.readline()
    offset, count = (int(n) for n in numbers) if numbers else (0, 0)
    asyncio.run(main(mode, Path(workdir), int(port), offset, count))
