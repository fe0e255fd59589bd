"""A real server process SIGKILLed right after an agent's reply to an e-mail ticket was
stored: after the restart the customer gets it exactly once, at a real SMTP server
(aiosmtpd), and the ticket records its first response.

Two places to crash while support handles the reply: before the mail plugin queued its
mail (lost without the catch-up, since the bus does not keep `chat.message.created`), and
after it queued it but before support recorded the message as handled (mailed twice without
the idempotency key made from the chat message's id).
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
CHILD = Path(__file__).with_name("reply_crash_child.py")
SETTLE = 0.5
"""Seconds to wait, once the mail arrived, for a second one were it queued."""


def start(workdir: Path, smtp_port: int, *flags: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(CHILD), "serve", str(workdir), str(smtp_port), *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def query(workdir: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(workdir / "data" / "mindframe.db") as db:
        return db.execute(sql).fetchall()


async def until(check, timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


def settled(workdir: Path) -> bool:
    """The reply handled (seq 2) and every queued mail sent."""
    handled = query(workdir, "SELECT handled_seq FROM support_tickets")
    states = query(workdir, "SELECT DISTINCT state FROM mail_outbox")
    return handled == [(2,)] and states == [("sent",)]


async def crash_then_restart(workdir: Path, sink, hold: str, before_kill=None) -> None:
    children = []
    try:
        children.append(start(workdir, sink.port, "--hold", hold))
        await until(lambda: (workdir / "held").exists() and (workdir / "posted").exists())
        if before_kill is not None:
            await before_kill()
        children[0].send_signal(signal.SIGKILL)
        children[0].wait(timeout=10)
        [(text,)] = query(workdir, "SELECT text FROM chat_messages WHERE author_kind = 'agent'")
        assert text == "It ships today."  # stored before the crash
        children.append(start(workdir, sink.port))
        await until(lambda: settled(workdir))
        await sink.wait_for(1)
        await asyncio.sleep(SETTLE)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=10)


def assert_replied_once(workdir: Path, sink) -> None:
    [mail] = sink.received
    assert mail["To"] == "kari@customer.test"
    assert mail["In-Reply-To"] == "<crash@customer.test>"
    assert mail.get_content().strip() == "It ships today."
    [(responder,)] = query(workdir, "SELECT first_responder_id FROM support_tickets")
    assert responder == "agent-1"
    assert query(workdir, "SELECT count(*) FROM mail_outbox") == [(1,)]


async def test_a_crash_before_the_reply_is_queued_still_mails_it_once(tmp_path, sink):
    await crash_then_restart(tmp_path, sink, "INSERT INTO mail_outbox")
    assert_replied_once(tmp_path, sink)


async def test_a_crash_after_the_reply_is_queued_and_before_it_is_recorded_mails_once(
    tmp_path, sink
):
    async def sent_before_the_kill() -> None:
        sent = "SELECT state FROM mail_outbox"
        await until(lambda: query(tmp_path, sent) == [("sent",)])
        assert len(sink.received) == 1

    held = "UPDATE support_tickets SET handled_seq"
    await crash_then_restart(tmp_path, sink, held, before_kill=sent_before_the_kill)
    assert_replied_once(tmp_path, sink)
