"""SIGKILL at random points, again and again, on one database: nothing accepted is lost,
and nothing is delivered twice but what the README allows.

The guarantee, precisely: `Mailer.send` returns once the row is committed, so an accepted
message survives any kill. A message's outcome is committed after the server's reply to
its DATA, while its connection goes on with the next message (one commit per connection
at a time). A kill between that reply and that commit leaves the row `sending`; after the
lease runs out it is sent again with the same Message-ID. So a kill can cause at most two
duplicates per open connection, only of rows `sending` at the kill.

Each kill lands at a random point of a child's life: while it queues (so an id acknowledged
before its commit would be lost) or while it sends. Children run in a chain on the same
data folder: each one resends what the one before left `sending` (the test expires the dead
child's leases instead of waiting them out), queues messages of its own and is killed; the
last one only settles the outbox. Recording outcomes is slowed in the children
(crash_child.py), so each connection holds all the unrecorded replies the sender lets it.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from crash_child import CONNECTIONS, OUTCOME_DELAY

CHILD = Path(__file__).with_name("crash_child.py")
PER_CHILD = 30  # messages each killed child queues
PROGRESS_WAIT = 120.0  # a liveness bound: a child booting on a loaded 2-core machine is slow
DUPLICATES_PER_KILL = 2 * CONNECTIONS


class RecordingSink:
    """Records each Message-ID it accepts; takes a few ms per message, as a server does."""

    def __init__(self) -> None:
        self.delivered: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = (envelope.original_content or b"").decode()
        header = next(line for line in content.splitlines() if line.startswith("Message-ID:"))
        self.delivered.append(header.split(":", 1)[1].strip())
        await asyncio.sleep(0.002)
        return "250 2.0.0 OK"


@dataclass
class Kill:
    """What one SIGKILL left: the rows `sending` at that moment, what the child had
    delivered (which of those the next child sends again), and the rows recorded `sent`
    that the server had not received (an outcome recorded before the server's reply)."""

    in_flight: set[str]
    delivered: list[str]
    sent_unreceived: set[str]

    def duplicates(self) -> set[str]:
        return self.in_flight & set(self.delivered)


@dataclass
class Chain:
    """Children started on one data folder, each waiting for its turn."""

    workdir: Path
    port: int
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"child{len(self.started)}.log", "wb")  # noqa: SIM115
        command = [sys.executable, str(CHILD), args[0], str(self.workdir), str(self.port)]
        child = subprocess.Popen([*command, *args[1:]], stdin=subprocess.PIPE, stderr=log)
        log.close()
        self.started.append(child)
        return child

    def kill_all(self) -> None:
        for child in self.started:
            if child.poll() is None:
                child.kill()
                child.wait()
            if child.stdin is not None:
                child.stdin.close()

    def log(self, child: subprocess.Popen[bytes]) -> str:
        path = self.workdir / f"child{self.started.index(child)}.log"
        return path.read_text(errors="replace")[-2000:]


def go(child: subprocess.Popen[bytes]) -> None:
    assert child.stdin is not None
    child.stdin.write(b"go\n")
    child.stdin.flush()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accepted(workdir: Path) -> list[str]:
    path = workdir / "accepted"
    return path.read_text().split() if path.exists() else []


def database(workdir: Path) -> closing[sqlite3.Connection]:
    return closing(sqlite3.connect(workdir / "data" / "mindframe.db", timeout=10))


def after_the_kill(workdir: Path) -> dict[str, set[str]]:
    """Message-IDs by state, as the dead child left them; the leases of its `sending` rows
    are expired, as time would."""
    with database(workdir) as db, db:
        rows = db.execute("select message_id, state from mail_outbox").fetchall()
        db.execute("update mail_outbox set lease_until = 0 where state = 'sending'")
    by_state: dict[str, set[str]] = defaultdict(set)
    for message_id, state in rows:
        by_state[state].add(message_id)
    return by_state


def kill_at_random(
    chain: Chain, child: subprocess.Popen[bytes], sink: RecordingSink, rng: random.Random
) -> Kill:
    """Let `child` run until a random count of its messages were accepted or delivered
    (small: while it queues; larger: while it sends), then SIGKILL it."""
    target = rng.randint(1, 2 * PER_CHILD)
    accepted_before, delivered_before = len(accepted(chain.workdir)), len(sink.delivered)
    deadline = time.monotonic() + PROGRESS_WAIT
    go(child)
    while (
        len(accepted(chain.workdir)) - accepted_before + len(sink.delivered) - delivered_before
        < target
    ):
        assert child.poll() is None, f"the child exited early:\n{chain.log(child)}"
        assert time.monotonic() < deadline, (
            f"no progress in {PROGRESS_WAIT:.0f} s:\n{chain.log(child)}"
        )
        time.sleep(0.002)
    time.sleep(rng.uniform(0, OUTCOME_DELAY))  # not always right after a delivery
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    left = after_the_kill(chain.workdir)
    # the sink records a message before it replies, so this is empty at any kill
    sent_unreceived = left["sent"] - set(sink.delivered)
    return Kill(left["sending"], sink.delivered[delivered_before:], sent_unreceived)


def check_kills(workdir: Path, kills: int) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    sink = RecordingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    chain = Chain(workdir, controller.port)
    try:
        following = chain.start("send", "0", str(PER_CHILD))
        done: list[Kill] = []
        for n in range(kills):
            current = following
            following = (
                chain.start("send", str((n + 1) * PER_CHILD), str(PER_CHILD))
                if n + 1 < kills
                else chain.start("recover")
            )  # imports while `current` runs
            done.append(kill_at_random(chain, current, sink, rng))
        go(following)
        try:
            returncode = following.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the last child did not settle the outbox in 60 s (seed {seed})")
        assert returncode == 0, f"the last child failed:\n{chain.log(following)}"
    finally:
        chain.kill_all()
        controller.stop()

    early = set().union(*(kill.sent_unreceived for kill in done))
    assert not early, f"recorded sent before the server had them: {sorted(early)} (seed {seed})"
    delivered = Counter(sink.delivered)
    lost = set(accepted(workdir)) - set(delivered)
    assert not lost, f"accepted but never delivered: {sorted(lost)} (seed {seed})"
    for message_id, count in delivered.items():
        crashes = sum(message_id in kill.in_flight for kill in done)
        assert count <= 1 + crashes, f"{message_id} delivered {count} times (seed {seed})"
    most = max(len(kill.duplicates()) for kill in done)
    assert most <= DUPLICATES_PER_KILL, f"one kill left {most} duplicates (seed {seed})"
    with database(workdir) as db:
        rows = dict(db.execute("select message_id, state from mail_outbox").fetchall())
    assert set(rows) == set(delivered) and set(rows.values()) == {"sent"}, f"seed {seed}"


def test_sigkill_at_random_points_loses_nothing_and_duplicates_within_the_bound(
    tmp_path: Path,
) -> None:
    check_kills(tmp_path, kills=2)


@pytest.mark.slow
def test_sigkill_at_random_points_twenty_times(tmp_path: Path) -> None:
    check_kills(tmp_path, kills=20)
