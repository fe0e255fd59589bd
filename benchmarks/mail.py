"""Mails/s through the mail plugin's durable outbox vs a bare aiosmtplib loop.

Why: issue 7 claims the outbox (each message committed to SQLite before `send` returns,
its outcome committed after the server's reply, events published) keeps at least 70 % of
the throughput of simply sending the same mails over one SMTP connection.

Sink: aiosmtpd's own `Sink` handler (`python -m aiosmtpd -c aiosmtpd.handlers.Sink`) in a
separate process on 127.0.0.1, shared by both sides.
Subject: a kernel booted with only the mail plugin (SQLite in a temp folder, in-process
bus); the clock runs from the first mail queued to the last `mail.sent` event, so
queueing and sending overlap as they do in service. Two callers: one that queues each mail
with `Mailer.send` (one commit per mail, as an HTTP client must), and one that has them
all and queues them with `Mailer.send_many` in chunks of 50 (one commit per chunk).
Default settings (batch 50, up to 2 connections per domain), all mails to one domain.
Anchor: one `aiosmtplib.SMTP` connection, `send_message` in a loop, the same mails.
Rounds alternate subject and anchor; reported: median mails/s and the median of per-round
ratios.

    .venv/bin/python benchmarks/mail.py [--quick] [--rounds 5] [--mails 500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from mindframe.sdk.mail import Mailer, MailRequest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PYTHON, free_port, machine_info

from mindframe.sdk.testing import boot

GOAL = 0.7
CHUNK = 50
SENDER = "bench@mindframe.test"


def mail(n: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = f"user{n}@example.org"
    message["Subject"] = f"Report {n}"
    message.set_content("Figures for today.\n" * 20)
    return message


async def bare_loop(port: int, mails: int) -> float:
    start = time.perf_counter()
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    await smtp.connect()
    for n in range(mails):
        await smtp.send_message(mail(n))
    await smtp.quit()
    return mails / (time.perf_counter() - start)


async def through_outbox(kernel, mails: int, chunk: int = 1) -> float:
    mailer = kernel.runtime.container.resolve(Mailer)
    sent, done = 0, asyncio.Event()

    async def count(event, envelope) -> None:
        nonlocal sent
        sent += 1
        if sent == mails:
            done.set()

    subscription = kernel.runtime.bus.subscribe(
        "mail.sent", count, owner="bench", queue_size=100_000
    )
    start = time.perf_counter()
    for first in range(0, mails, chunk):
        requests = [
            MailRequest([f"user{n}@example.org"], f"Report {n}", "Figures for today.\n" * 20)
            for n in range(first, min(first + chunk, mails))
        ]
        if chunk == 1:
            await mailer.send(requests[0].to, subject=requests[0].subject, text=requests[0].text)
        else:
            await mailer.send_many(requests)
    async with asyncio.timeout(120):
        await done.wait()
    elapsed = time.perf_counter() - start
    await subscription.cancel()
    return mails / elapsed


async def sink_ready(port: int, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return


async def main(rounds: int, mails: int) -> None:
    port = free_port()
    sink = subprocess.Popen(
        [PYTHON, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"]
    )
    try:
        await sink_ready(port)
        with tempfile.TemporaryDirectory() as folder:
            settings = {"mail": {"smtp_port": port, "sender": SENDER}}
            async with boot(["mail"], data_dir=Path(folder), settings=settings) as kernel:
                await through_outbox(kernel, 20)  # warm up both sides
                await through_outbox(kernel, 20, CHUNK)
                await bare_loop(port, 20)
                one, many, bare = [], [], []
                order = [
                    (lambda: through_outbox(kernel, mails), one),
                    (lambda: through_outbox(kernel, mails, CHUNK), many),
                    (lambda: bare_loop(port, mails), bare),
                ]
                for index in range(rounds):
                    for measure, results in order if index % 2 == 0 else order[::-1]:
                        results.append(await measure())
    finally:
        sink.terminate()
        sink.wait()
    print(f"machine: {machine_info()}")
    print(f"{'case':<48}{'mails/s':>10}")
    print(f"{'outbox, Mailer.send per mail (durable, SQLite)':<48}{statistics.median(one):>10,.0f}")
    print(
        f"{f'outbox, Mailer.send_many by {CHUNK} (durable)':<48}{statistics.median(many):>10,.0f}"
    )
    print(f"{'bare aiosmtplib, one connection':<48}{statistics.median(bare):>10,.0f}")
    for name, subject in (("send", one), ("send_many", many)):
        ratios = [s / b for s, b in zip(subject, bare, strict=True)]
        ratio = statistics.median(ratios)
        print(
            f"ratio {name}: {ratio:.2f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)}); "
            f"goal >= {GOAL}: {'met' if ratio >= GOAL else 'NOT met'}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 100 mails")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mails", type=int, default=500)
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.rounds, arguments.mails = 2, 100
    asyncio.run(main(arguments.rounds, arguments.mails))
