"""Child process of test_crash.py: the billing plugin served over HTTP on the test's data
folder, pointed at the test's fake Stripe.

`serve WORKDIR PORT STRIPE_URL [--hold]`: boot, write the id of a customer to
WORKDIR/customer (made once), serve on 127.0.0.1:PORT. With --hold, the first INSERT into
billing_webhooks writes WORKDIR/received and then blocks, inside its uncommitted
transaction, until the test SIGKILLs the process: a crash between receiving a webhook and
committing it.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import event
from sqlalchemy.engine import Engine

from mindframe.sdk.testing import boot

sys.path.insert(0, str(Path(__file__).parent))

from billing_testlib import STRIPE_SECRET


def hold_webhook_inserts(workdir: Path) -> None:
    """Through SQLite's own trace hook, which sees every statement however it is sent: a
    SQLAlchemy `before_cursor_execute` listener would send the webhook's statements the
    usual way (`direct_sql` steps aside for listeners), not the way they run in service."""

    def traced(statement: str) -> None:
        if statement.startswith("INSERT INTO billing_webhooks"):
            fd = os.open(workdir / "received", os.O_WRONLY | os.O_CREAT)
            os.close(fd)
            time.sleep(120)  # the test kills us long before this ends

    def connected(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):  # aiosqlite's are wrapped
            dbapi_connection.set_trace_callback(traced)

    event.listen(Engine, "connect", connected)


async def main(workdir: Path, port: int, stripe_url: str) -> None:
    settings = {
        "billing": {
            "stripe_api_key": "sk_test_fake",
            "stripe_api_base": stripe_url,
            "stripe_webhook_secret": STRIPE_SECRET,
            "reconcile_interval": 86400.0,
        }
    }
    async with boot(["billing"], data_dir=workdir / "data", settings=settings) as kernel:
        from mindframe_plugins.billing.service import BillingService

        marker = workdir / "customer"
        if not marker.exists():
            service = kernel.runtime.container.resolve(BillingService)
            customer = await service.create_customer(
                country="NO",
                currency="NOK",
                locale="nb",
                email=None,
                name="Crash Test",
                vat_number=None,
                is_business=False,
                user_id=None,
            )
            marker.write_text(customer["id"])
        config = uvicorn.Config(
            kernel.runtime.asgi, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        await uvicorn.Server(config).serve()


if __name__ == "__main__":
    _, _serve, workdir, port, stripe_url, *flags = sys.argv
    if "--hold" in flags:
        hold_webhook_inserts(Path(workdir))
    asyncio.run(main(Path(workdir), int(port), stripe_url))
