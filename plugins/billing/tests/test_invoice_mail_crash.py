"""A real server process SIGKILLed while mailing a finalised invoice: after the restart the
customer gets the invoice exactly once, at a real SMTP server (aiosmtpd).

Two places to crash: after the invoice is committed and before the mail plugin has queued
its mail (the mail would be lost without billing's own outbox), and after the mail plugin
queued it and before billing marked it handed over (it would be mailed twice without the
idempotency key).
"""

import asyncio
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from billing_testlib import smtp_sink
from test_crash import free_port, until, until_async

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
CHILD = Path(__file__).with_name("mail_crash_child.py")
WAIT = 180.0  # a child's start takes 30 s on a loaded machine


def start(workdir, port, smtp_port, *flags):
    return subprocess.Popen(
        [sys.executable, str(CHILD), "serve", str(workdir), str(port), str(smtp_port), *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def query(workdir, sql):
    with sqlite3.connect(next((workdir / "data").glob("*.db"))) as db:
        return db.execute(sql).fetchall()


def settled(workdir):
    """Billing has handed every invoice over, and the mail plugin sent what it queued."""
    unmailed = "SELECT count(*) FROM billing_invoice_mail WHERE handed_at IS NULL"
    unsent = "SELECT count(*), sum(state != 'sent') FROM mail_outbox"
    return query(workdir, unmailed) == [(0,)] and query(workdir, unsent)[0][1] == 0


async def answers(url):
    async with httpx.AsyncClient() as client:
        try:
            return (await client.get(url)).status_code < 500
        except httpx.HTTPError:
            return False


async def crash_then_restart(tmp_path, hold, before_kill=None):
    """Run the child holding at `hold`, SIGKILL it there, restart it; the sink's messages
    once billing has marked the invoice handed over and the mail plugin has sent it."""
    port = free_port()
    children = []
    async with smtp_sink() as sink:
        try:
            children.append(start(tmp_path, port, sink.port, "--hold", hold))
            held = (tmp_path / "held", tmp_path / "invoice")
            await until(lambda: all(path.exists() for path in held), WAIT)
            if before_kill is not None:
                await before_kill(sink)
            children[0].send_signal(signal.SIGKILL)
            children[0].wait(timeout=10)
            invoice_id = (tmp_path / "invoice").read_text()
            [(number, handed)] = query(
                tmp_path,
                "SELECT number, handed_at FROM billing_invoices LEFT JOIN billing_invoice_mail "
                f"ON invoice_id = id WHERE id = '{invoice_id}'",
            )
            assert number == "INV-000001" and handed is None  # committed, not yet handed over
            children.append(start(tmp_path, port, sink.port))
            await until_async(lambda: answers(f"http://127.0.0.1:{port}/health"), WAIT)
            await until(lambda: settled(tmp_path), WAIT)
            await asyncio.sleep(0.5)  # time for a second mail to arrive, were one queued
            return list(sink.received)
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait(timeout=10)


async def test_a_crash_before_the_mail_is_queued_still_mails_the_invoice_once(tmp_path):
    received = await crash_then_restart(tmp_path, "INSERT INTO mail_outbox")
    [mail] = received
    assert str(mail["Subject"]) == "Faktura INV-000001 fra Mindframe AS"
    assert mail["To"] == "kari@example.org"
    [attachment] = mail.iter_attachments()
    assert attachment.get_filename() == "INV-000001.pdf"


async def test_a_crash_after_the_mail_is_queued_and_before_it_is_marked_mails_once(tmp_path):
    async def sent_before_the_kill(sink):
        sent = "SELECT state FROM mail_outbox"
        await until(lambda: query(tmp_path, sent) == [("sent",)], WAIT)
        assert len(sink.received) == 1  # sent, and the mail plugin recorded it

    received = await crash_then_restart(
        tmp_path, "UPDATE billing_invoice_mail", before_kill=sent_before_the_kill
    )
    assert len(received) == 1
    assert query(tmp_path, "SELECT count(*) FROM mail_outbox") == [(1,)]
