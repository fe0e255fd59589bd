"""The personal-data hooks: a user's mail records are exported, then erased for good."""

from __future__ import annotations

import base64
import sqlite3

import pytest

from mindframe.sdk import PluginHooks, Subject
from mindframe.sdk.mail import Attachment, Mailer
from mindframe.sdk.smtp_sink import Sink

pytestmark = pytest.mark.anyio


async def test_export_then_erase_a_users_mail(mail_kernel, sink: Sink):
    async with mail_kernel() as kernel:
        service = kernel.runtime.container.resolve(Mailer)
        await service.send(["Ada <ADA@example.org>"], subject="to her", text="t")
        await service.send(["ops@example.org"], subject="for her", text="t", user_id="u1")
        await service.send(["adam@example.org"], subject="not her", text="t")
        await sink.wait_for(3)
        ada = Subject("u1", username="ada", email="ada@example.org")
        hooks = kernel.runtime.container.resolve(PluginHooks)
        [exported] = await hooks.call_each("export_personal_data", subject=ada)
        await hooks.call_each("erase_personal_data", subject=ada)
        [erased] = await hooks.call_each("erase_personal_data", subject=ada)  # safe to repeat
        [after] = await hooks.call_each("export_personal_data", subject=ada)
        left = [m["subject"] for m in (await kernel.client.get("/api/mail/messages")).json()]
    assert exported.plugin == "mail"
    assert sorted(row["subject"] for row in exported.result["outbox"]) == ["for her", "to her"]
    assert erased.error is None
    assert after.result == {"outbox": [], "inbox": []}
    assert left == ["not her"]


async def test_attachments_are_exported_with_their_mail_and_erased_with_it(
    mail_kernel, sink: Sink, tmp_path
):
    pdf = Attachment("invoice.pdf", "application/pdf", b"%PDF-1.7 her invoice")
    async with mail_kernel() as kernel:
        service = kernel.runtime.container.resolve(Mailer)
        await service.send(["ada@example.org"], subject="s", text="t", attachments=[pdf])
        await service.send(["adam@example.org"], subject="s", text="t", attachments=[pdf])
        await sink.wait_for(2)
        ada = Subject("u1", username="ada", email="ada@example.org")
        hooks = kernel.runtime.container.resolve(PluginHooks)
        [exported] = await hooks.call_each("export_personal_data", subject=ada)
        await hooks.call_each("erase_personal_data", subject=ada)
    [row] = exported.result["outbox"]
    assert row["attachments"] == [
        {
            "filename": "invoice.pdf",
            "content_type": "application/pdf",
            "size": len(pdf.content),
            "content_base64": base64.b64encode(pdf.content).decode(),
        }
    ]
    with sqlite3.connect(tmp_path / "data" / "mindframe.db") as database:
        left = database.execute(
            "SELECT o.recipients FROM mail_attachments a JOIN mail_outbox o ON o.id = a.outbox_id"
        ).fetchall()
        orphans = database.execute(
            "SELECT count(*) FROM mail_attachments WHERE outbox_id NOT IN "
            "(SELECT id FROM mail_outbox)"
        ).fetchone()
    assert left == [('["adam@example.org"]',)] and orphans == (0,)
