"""Verified webhooks/s through the billing plugin vs a bare handler (HMAC check + one insert).

Why: issue 14 claims the plugin's webhook path (verify the Stripe-Signature, commit the raw
event under its id, apply it to the ledger exactly once, in the same transaction, and
publish what changed on the bus) keeps at least half the throughput of the least a
webhook receiver can do: check the HMAC and insert the body.

Subject: a kernel booted with the billing plugin (SQLite in a temp folder, in-process bus),
`POST /api/billing/webhooks/stripe` through the kernel's ASGI app (httpx's ASGITransport,
no sockets), each webhook a new `payment_intent.succeeded`, in two cases: for a
PaymentIntent we made (its payment row exists, made before the clock runs: the webhook
stores the event, moves the payment to succeeded, books the journal row, publishes
`billing.payment.succeeded`), and for one made at Stripe for a known customer (a renewal:
the webhook also creates the payment row). The goal is judged on the first, the common
case; both are printed. Anchor: a bare Litestar app, same transport, one route that
checks the same Stripe-Signature with `hmac` and inserts (event id, body) into a SQLite
table on the same pragmas (WAL, synchronous=NORMAL) through one worker-thread hop, as the
kernel's `ctx.transaction` does. Webhooks are sent one after another, as a provider's
delivery queue does. Rounds alternate subject and anchor; reported: median webhooks/s and
the median of per-round ratios (the goal), and beside them the CPU each webhook cost the
process (all threads, `time.process_time`), which other work on a shared machine disturbs
less than the clock.

    .venv/bin/python benchmarks/billing.py [--quick] [--rounds 5] [--webhooks 300]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import logging
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
from litestar import Litestar, Request, post
from litestar.exceptions import ClientException

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info

from mindframe.sdk.testing import boot

GOAL = 0.5
SECRET = "whsec_benchmark"
TOLERANCE = 300
_ids = itertools.count()


def signed(customer_id: str, payment_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    n = next(_ids)
    metadata = {"mindframe_customer_id": customer_id}
    if payment_id is not None:
        metadata["mindframe_payment_id"] = payment_id
    event = {
        "id": f"evt_bench_{n}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": f"pi_bench_{n}",
                "object": "payment_intent",
                "amount": 12500,
                "amount_received": 12500,
                "currency": "nok",
                "customer": None,
                "status": "succeeded",
                "metadata": metadata,
            }
        },
    }
    body = json.dumps(event).encode()
    t = int(time.time())
    signature = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={t},v1={signature}", "Content-Type": "application/json"}


def bare_app(database: Path) -> Litestar:
    """The anchor: check the signature, insert the event, answer."""
    connection = sqlite3.connect(database, check_same_thread=False, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE IF NOT EXISTS hooks (event_id TEXT PRIMARY KEY, body TEXT)")

    def insert(event_id: str, body: str) -> None:
        with connection:
            connection.execute("BEGIN")
            connection.execute("INSERT INTO hooks VALUES (?, ?)", (event_id, body))

    @post("/hook", status_code=200)
    async def hook(request: Request) -> dict[str, str]:
        body = await request.body()
        fields = dict(part.split("=", 1) for part in request.headers["stripe-signature"].split(","))
        t = int(fields["t"])
        expected = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["v1"]) or abs(time.time() - t) > TOLERANCE:
            raise ClientException("bad signature")
        event_id = json.loads(body)["id"]
        await anyio.to_thread.run_sync(insert, event_id, body.decode())
        return {"received": "stored"}

    return Litestar([hook])


def _add_payments(session: Any, rows: list[dict[str, Any]]) -> None:
    from mindframe_plugins.billing.models import payments
    from sqlalchemy import insert

    session.execute(insert(payments), rows)


async def made_by_us(service: Any, customer_id: str, count: int) -> list[str]:
    """`count` payments as `BillingService.payment_intent` leaves them, awaiting Stripe."""
    from mindframe_plugins.billing import ledger

    now = ledger.now()
    rows = [
        {"id": ledger.new_id(), "customer_id": customer_id, "invoice_id": None,
         "provider": "stripe", "provider_ref": None, "amount": 12500, "currency": "NOK",
         "state": "created", "authorized": 0, "redirect_url": None, "created_at": now,
         "updated_at": now}
        for _ in range(count)
    ]  # fmt: skip
    await service.transaction(_add_payments, rows)
    return [row["id"] for row in rows]


async def send(
    client: httpx.AsyncClient,
    path: str,
    count: int,
    customer_id: str,
    payments: list[str] | None = None,
    cpu: list[float] | None = None,
) -> float:
    """Send `count` signed webhooks one after another; webhooks/s (and, into `cpu`, the
    process's CPU ms per webhook)."""
    requests = [signed(customer_id, (payments or [None] * count)[n]) for n in range(count)]
    start, started = time.perf_counter(), time.process_time()
    for body, headers in requests:
        response = await client.post(path, content=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text}")
    if cpu is not None:
        cpu.append((time.process_time() - started) / count * 1000)
    return count / (time.perf_counter() - start)


async def main(rounds: int, webhooks: int) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    with tempfile.TemporaryDirectory() as folder:
        settings = {"billing": {"stripe_webhook_secret": SECRET, "reconcile_interval": 86400.0}}
        async with boot(["billing"], data_dir=Path(folder) / "data", settings=settings) as kernel:
            from mindframe_plugins.billing.service import BillingService

            service: Any = kernel.runtime.container.resolve(BillingService)
            customer = await service.create_customer(
                country="NO", currency="NOK", locale="nb", email=None, name="Bench",
                vat_number=None, is_business=False, user_id=None,
            )  # fmt: skip
            bare = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=bare_app(Path(folder) / "bare.db")),
                base_url="http://bare.test",
            )
            plugin = kernel.client
            path = "/api/billing/webhooks/stripe"
            await send(plugin, path, 30, customer["id"])  # warm up both sides
            await send(bare, "/hook", 30, customer["id"])
            ours, renewals, anchor = [], [], []
            cpu: dict[str, list[float]] = {"ours": [], "renewals": [], "anchor": []}
            for index in range(rounds):
                made = await made_by_us(service, customer["id"], webhooks)
                order = [
                    (
                        lambda made=made: send(
                            plugin, path, webhooks, customer["id"], made, cpu["ours"]
                        ),
                        ours,
                    ),
                    (
                        lambda: send(plugin, path, webhooks, customer["id"], None, cpu["renewals"]),
                        renewals,
                    ),
                    (
                        lambda: send(bare, "/hook", webhooks, customer["id"], None, cpu["anchor"]),
                        anchor,
                    ),
                ]
                for measure, results in order if index % 2 == 0 else order[::-1]:
                    results.append(await measure())
            await bare.aclose()
    print(f"machine: {machine_info()}")
    print(f"{'case':<64}{'webhooks/s':>12}{'CPU ms/webhook':>16}")
    cases = (
        ("billing plugin, a PaymentIntent we made (verify, store, apply once)", ours, "ours"),
        ("billing plugin, one made at Stripe (also creates the payment)", renewals, "renewals"),
        ("bare handler: HMAC check + one insert", anchor, "anchor"),
    )
    for name, results, key in cases:
        print(f"{name:<64}{statistics.median(results):>12,.0f}{statistics.median(cpu[key]):>16.3f}")
    for name, subject in (("made by us", ours), ("made at Stripe", renewals)):
        ratios = [s / a for s, a in zip(subject, anchor, strict=True)]
        ratio = statistics.median(ratios)
        verdict = f"; goal >= {GOAL}: {'met' if ratio >= GOAL else 'NOT met'}"
        print(
            f"ratio {name}: {ratio:.2f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
            + (verdict if subject is ours else "")
        )
    spent = [a / o for a, o in zip(cpu["anchor"], cpu["ours"], strict=True)]
    print(
        f"CPU ratio made by us (anchor's CPU per webhook / ours): {statistics.median(spent):.2f}"
        f" (rounds: {', '.join(f'{r:.2f}' for r in spent)})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 100 webhooks")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--webhooks", type=int, default=300)
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.rounds, arguments.webhooks = 2, 100
    asyncio.run(main(arguments.rounds, arguments.webhooks))
