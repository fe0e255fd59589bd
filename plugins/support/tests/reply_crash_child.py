"""Child process of test_reply_crash.py: support, chat and mail on the test's data folder,
mailing through the test's SMTP server.

`serve WORKDIR SMTP_PORT [--hold STATEMENT]`: boot. On the first boot, file a customer's
mail (as the inbound listener announces it, `mail.received`), wait until support handled
its message, then post an agent's reply in its conversation, writing WORKDIR/posted once it
is stored. With --hold, from then on the first statement starting with STATEMENT writes
WORKDIR/held and blocks, its transaction rolled back as the crash will, until the test SIGKILLs the
process: the crash lands exactly there. Every boot writes WORKDIR/ready and then waits.
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

from mindframe.sdk.chat import Author, ChatService
from mindframe.sdk.mail import MailReceived
from mindframe.sdk.testing import boot

CUSTOMER_MAIL = MailReceived(
    id="inbox-1",
    message_id="<crash@customer.test>",
    sender="kari@customer.test",
    sender_name="Kari Nordmann",
    to=["support@mindframe.test"],
    subject="Order 42 has not arrived",
    text="Where is my parcel?",
)
REPLY = "It ships today."


def touch(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT))


def hold(workdir: Path, prefix: str) -> None:
    def before(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith(prefix):
            # the crash loses this uncommitted transaction: end it here, so the write lock
            # it holds from its BEGIN IMMEDIATE does not stop the other plugins' writes
            # the test waits for before it kills us
            cursor.connection.rollback()
            touch(workdir / "held")
            time.sleep(120)  # the test kills us long before this ends

    event.listen(Engine, "before_cursor_execute", before)


async def first_boot(kernel: Any, workdir: Path, held: str | None) -> None:
    from mindframe_plugins.support.service import SupportService
    from mindframe_plugins.support.tickets import Filters

    support = kernel.runtime.container.resolve(SupportService)
    await kernel.runtime.bus.publish(CUSTOMER_MAIL)
    async with asyncio.timeout(30):
        while not (found := await support.find(Filters(channel="email"))) or (
            found[0]["handled_seq"] != 1
        ):
            await asyncio.sleep(0.02)
    if held is not None:
        hold(workdir, held)
    chat = kernel.runtime.container.resolve(ChatService)
    await chat.post_message(found[0]["conversation_id"], REPLY, author=Author.agent("agent-1"))
    touch(workdir / "posted")


async def main(workdir: Path, smtp_port: int, held: str | None) -> None:
    settings = {
        "support": {"assignment": "manual"},
        "mail": {"smtp_port": smtp_port, "sender": "support@mindframe.test", "poll_interval": 0.1},
    }
    async with boot(["support", "mail"], data_dir=workdir / "data", settings=settings) as kernel:
        if not (workdir / "posted").exists():
            await first_boot(kernel, workdir, held)
        touch(workdir / "ready")
        await asyncio.Event().wait()


if __name__ == "__main__":
    _, _serve, workdir, smtp_port, *flags = sys.argv
    asyncio.run(main(Path(workdir), int(smtp_port), flags[1] if flags[:1] == ["--hold"] else None))
