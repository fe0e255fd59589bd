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
    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO billing_webhooks"):
            fd = os.open(workdir / "received", os.O_WRONLY | os.O_CREAT)
            os.close(fd)
            time.sleep(120)  # the test kills us long before this ends

    event.listen(Engine, "before_cursor_execute", before)


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
