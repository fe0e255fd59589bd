"""Child process of test_crash.py: a kernel with the mail plugin, in one of two modes.

`send`: queue COUNT messages, appending each accepted Message-ID to `accepted` as soon as
`Mailer.send` returns (the row is committed by then); then wait to be SIGKILLed.
`recover`: start again on the same data folder and exit once the outbox is settled.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from mindframe.sdk.mail import Mailer
from mindframe.sdk.testing import boot


def append(path: Path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, f"{line}\n".encode())  # one write(2): survives SIGKILL
    finally:
        os.close(fd)


async def main(mode: str, workdir: Path, port: int, count: int) -> None:
    settings = {
        "smtp_port": port,
        "sender": "noreply@mindframe.test",
        "batch_size": 20,
        "max_connections": 4,
        "per_domain_concurrency": 2,
        "sending_lease": 1.0,
        "retry_delay": 0.05,
        "poll_interval": 0.1,
    }
    async with boot(["mail"], data_dir=workdir / "data", settings={"mail": settings}) as kernel:
        mailer = kernel.runtime.container.resolve(Mailer)
        if mode == "send":
            for n in range(count):
                to = f"user{n}@{'ab'[n % 2]}.example.org"
                queued = await mailer.send([to], subject=f"m{n}", text="t")
                append(workdir / "accepted", queued.message_id)
            await asyncio.sleep(3600)
        while await mailer.messages(state="queued") or await mailer.messages(state="sending"):
            await asyncio.sleep(0.05)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
