"""A real server process SIGKILLed between receiving a webhook and committing it: Stripe's
redelivery completes it on the restarted server, once."""

import asyncio
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from billing_testlib import STRIPE_SECRET
from fakes.common import client_target
from fakes.stripe_server import FakeStripe

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
CHILD = Path(__file__).with_name("crash_child.py")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(workdir, port, stripe_url, *flags):
    return subprocess.Popen(
        [sys.executable, str(CHILD), "serve", str(workdir), str(port), stripe_url, *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def until(check, timeout=60.0):
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


async def answers(url):
    async with httpx.AsyncClient() as client:
        try:
            return (await client.get(url)).status_code < 500
        except httpx.HTTPError:
            return False


def ledger(workdir):
    with sqlite3.connect(next((workdir / "data").glob("*.db"))) as db:
        journal = db.execute("SELECT kind, source, amount FROM billing_journal").fetchall()
        hooks = db.execute(
            "SELECT event_id, applied_at IS NOT NULL FROM billing_webhooks"
        ).fetchall()
    return journal, hooks


async def test_a_webhook_lost_to_a_crash_before_commit_is_applied_once_on_redelivery(tmp_path):
    port = free_port()
    stripe = FakeStripe([STRIPE_SECRET])
    await stripe.server.start()
    children = []
    async with httpx.AsyncClient(timeout=30) as client:
        url = f"http://127.0.0.1:{port}"
        stripe.webhooks.target = client_target(client, f"{url}/api/billing/webhooks/stripe")
        try:
            children.append(start(tmp_path, port, stripe.url, "--hold"))
            await until_async(lambda: answers(f"{url}/health"))
            customer_id = (tmp_path / "customer").read_text()
            intent = stripe._intent(10000, "nok", None, {"mindframe_customer_id": customer_id})
            stripe.confirm(intent["id"])  # payment_intent.succeeded, sent now
            await until(lambda: (tmp_path / "received").exists())
            children[0].send_signal(signal.SIGKILL)  # inside the uncommitted transaction
            children[0].wait(timeout=10)
            delivery = stripe.webhooks.deliveries[-1]
            assert not delivery.done.is_set()  # no 2xx: Stripe will try again
            assert ledger(tmp_path) == ([], [])  # nothing half-done survived
            children.append(start(tmp_path, port, stripe.url))
            async with asyncio.timeout(60):
                await delivery.done.wait()
            assert delivery.statuses[-1] == 200 and delivery.statuses[0] != 200
            journal, hooks = ledger(tmp_path)
            assert journal == [("payment", intent["id"], -10000)]
            assert hooks == [(stripe.events[-1]["id"], 1)]
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait(timeout=10)
            await stripe.stop()


async def until_async(check, timeout=60.0):
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)
