"""Child process of test_invoice_mail_crash.py: billing and mail served on the test's data
folder, mailing through the test's SMTP server.

`serve WORKDIR PORT SMTP_PORT [--hold STATEMENT]`: boot; on the first boot draft an invoice
for a customer with an email address, write its id to WORKDIR/invoice and finalise it
through the API; serve on 127.0.0.1:PORT. With --hold, the first statement starting with
STATEMENT writes WORKDIR/held and then blocks, its transaction rolled back as the crash will, until
the test SIGKILLs the process: the crash lands exactly there.
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

PENDING: list[asyncio.Future[Any]] = []


def hold(workdir: Path, prefix: str) -> None:
    def before(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith(prefix):
            # the crash loses this uncommitted transaction: end it here, so the write lock
            # it holds from its BEGIN IMMEDIATE does not stop the other plugins' writes
            # the test waits for before it kills us
            cursor.connection.rollback()
            os.close(os.open(workdir / "held", os.O_WRONLY | os.O_CREAT))
            time.sleep(120)  # the test kills us long before this ends

    event.listen(Engine, "before_cursor_execute", before)


async def main(workdir: Path, port: int, smtp_port: int) -> None:
    settings = {
        "billing": {"stripe_api_key": "sk_test_fake", "reconcile_interval": 86400.0},
        "mail": {"smtp_port": smtp_port, "sender": "billing@mindframe.test", "poll_interval": 0.1},
    }
    async with boot(["billing", "auth"], data_dir=workdir / "data", settings=settings) as kernel:
        marker = workdir / "invoice"
        if not marker.exists():
            operator = await kernel.as_user(["billing.*"], username="operator")
            body = {"country": "NO", "currency": "NOK", "locale": "nb", "name": "Kari Nordmann"}
            customer = await operator.post(
                "/api/billing/customers", json={**body, "email": "kari@example.org"}
            )
            draft = await operator.post(
                f"/api/billing/customers/{customer.json()['id']}/invoices",
                json={"lines": [{"description": "Lisens", "unit_amount": 10000}]},
            )
            invoice_id = draft.json()["id"]
            marker.write_text(invoice_id)
            # as an operator would; with --hold the answer may never come
            finalising = operator.post(f"/api/billing/invoices/{invoice_id}/finalise")
            PENDING.append(asyncio.ensure_future(finalising))
        config = uvicorn.Config(
            kernel.runtime.asgi, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        await uvicorn.Server(config).serve()


if __name__ == "__main__":
    _, _serve, workdir, port, smtp_port, *flags = sys.argv
    if flags[:1] == ["--hold"]:
        hold(Path(workdir), flags[1])
    asyncio.run(main(Path(workdir), int(port), int(smtp_port)))
