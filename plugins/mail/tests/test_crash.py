"""SIGKILL mid-batch, restart on the same database: every accepted message is delivered.

The guarantee, precisely: a message's outcome is committed after the server's reply to its
DATA, while its connection goes on with the next message (one commit per connection at a
time). A kill between that reply and that commit leaves the row `sending`; after the lease
runs out it is sent again with the same Message-ID. So a duplicate is possible only for a
row that was `sending` at the kill, at most two per open connection, and the receiver can
recognise it by Message-ID. Every other message completes exactly one SMTP
transaction.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

CHILD = Path(__file__).with_name("crash_child.py")
COUNT = 200
CONNECTIONS = 4  # max_connections in crash_child.py


class SlowSink:
    """Takes 10 ms per message, so the kill lands mid-batch; records each Message-ID."""

    def __init__(self) -> None:
        self.delivered: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(0.01)
        content = (envelope.original_content or b"").decode()
        header = next(line for line in content.splitlines() if line.startswith("Message-ID:"))
        self.delivered.append(header.split(":", 1)[1].strip())
        return "250 2.0.0 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def child(mode: str, workdir: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, str(CHILD), mode, str(workdir), str(port), str(COUNT)]
    return subprocess.Popen(command, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_sigkill_mid_batch_then_restart_delivers_everything_once(tmp_path: Path) -> None:
    sink = SlowSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        sender = child("send", tmp_path, controller.port)
        deadline = time.monotonic() + 30
        while len(sink.delivered) < 30:
            assert sender.poll() is None, "the sending kernel exited early"
            assert time.monotonic() < deadline, "nothing was delivered"
            time.sleep(0.005)
        os.kill(sender.pid, signal.SIGKILL)
        sender.wait()
        before = Counter(sink.delivered)
        with sqlite3.connect(tmp_path / "data" / "mindframe.db") as db:
            in_flight = {
                r[0]
                for r in db.execute("select message_id from mail_outbox where state = 'sending'")
            }
        accepted = set((tmp_path / "accepted").read_text().split())
        assert in_flight and not accepted <= set(before), "the kill came too late to test anything"

        recover = child("recover", tmp_path, controller.port)
        assert recover.wait(timeout=60) == 0
    finally:
        controller.stop()

    delivered = Counter(sink.delivered)
    assert accepted <= set(delivered), "an accepted message was never delivered"
    twice = {message_id for message_id, n in delivered.items() if n > 1}
    assert twice <= in_flight, "a message not in flight at the kill was delivered twice"
    assert len(twice) <= 2 * CONNECTIONS and max(delivered.values()) <= 2
    with sqlite3.connect(tmp_path / "data" / "mindframe.db") as db:
        states = dict(
            db.execute("select state, count(*) from mail_outbox group by state").fetchall()
        )
    assert states == {"sent": len(delivered)}
