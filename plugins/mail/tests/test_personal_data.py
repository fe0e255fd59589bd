"""The personal-data hooks: a user's mail records are exported, then erased for good."""

from __future__ import annotations

import pytest
from mail_testlib import Sink

from mindframe.sdk import PluginHooks, Subject
from mindframe.sdk.mail import Mailer

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
