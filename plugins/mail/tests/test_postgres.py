"""The outbox on PostgreSQL: states and retries, and two senders sharing one outbox
(`FOR UPDATE SKIP LOCKED`) never send the same message. Skipped when PostgreSQL is not
reachable at 127.0.0.1:5432 (database `test`, user postgres).

Each test runs in a database of its own on that server, dropped when it ends: xdist runs
tests on two workers at once, and when they shared `test`'s tables one test's cleanup
dropped them under the other ("relation mail_outbox does not exist")."""

from __future__ import annotations

from collections import Counter

import anyio
import pytest

from mindframe.sdk.mail import Mailer, MailRequest
from mindframe.sdk.smtp_sink import Sink, mail_settings

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


async def test_outbox_on_postgresql_records_sent_retried_and_failed(
    boot_kernel, sink: Sink, postgres_url: str
):
    sink.replies["slow@example.org"] = ["451 4.7.1 Greylisted, try later"]
    sink.replies["gone@example.org"] = ["550 5.1.1 No such user"]
    settings = {"mail": mail_settings(sink)}
    async with boot_kernel(["mail"], settings=settings, database_url=postgres_url) as kernel:
        mailer = kernel.runtime.container.resolve(Mailer)
        queued = await mailer.send_many(
            [
                MailRequest([to], subject=to, text="t")
                for to in ("ok@example.org", "slow@example.org", "gone@example.org")
            ]
        )
        with anyio.fail_after(5):
            while True:
                ok, slow, gone = [await mailer.status(q.id) for q in queued]
                if {ok.state, slow.state, gone.state} <= {"sent", "failed"}:
                    break
                await anyio.sleep(0.02)
    assert (ok.state, ok.attempts, ok.sent_at is not None) == ("sent", 1, True)
    assert (slow.state, slow.attempts) == ("sent", 2)
    assert (gone.state, gone.attempts, gone.reply) == ("failed", 1, "550 5.1.1 No such user")
    assert sorted(sink.subjects()) == ["ok@example.org", "slow@example.org"]


def sent(kernel) -> list[str]:
    """The outbox ids of the `mail.sent` events `kernel`'s sender published."""
    return [event.id for envelope, event in kernel.bus_probe.seen if envelope.topic == "mail.sent"]


async def test_two_senders_sharing_one_outbox_never_send_the_same_message(
    boot_kernel, tmp_path, sink: Sink, postgres_url: str
):
    sink.delay = 0.01  # so both senders are claiming while the other one sends
    count = 60
    settings = {"mail": mail_settings(sink, batch_size=4, poll_interval=0.05)}
    async with (
        boot_kernel(["mail"], settings=settings, database_url=postgres_url) as first,
        boot_kernel(
            ["mail"], settings=settings, database_url=postgres_url, data_dir=tmp_path / "second"
        ) as second,
    ):
        mailer = first.runtime.container.resolve(Mailer)
        queued = await mailer.send_many(
            [MailRequest([f"u{n}@example.org"], subject=f"m{n}", text="t") for n in range(count)]
        )
        await sink.wait_for(count, timeout=15)
        with anyio.fail_after(5):  # each sender announces what it sent once it is recorded
            while len(sent(first)) + len(sent(second)) < count:
                await anyio.sleep(0.02)
        sent_by = [sent(first), sent(second)]
    delivered = Counter(sink.message_ids())
    assert set(delivered) == {q.message_id for q in queued}
    assert max(delivered.values()) == 1, "a message was sent by both senders"
    assert all(sent_by), "one sender sent nothing, so nothing was shared"
    assert sorted(sent_by[0] + sent_by[1]) == sorted(q.id for q in queued)
