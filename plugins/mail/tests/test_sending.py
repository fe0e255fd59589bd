"""Sending through a real SMTP server: the outbox, its states, retries, priorities, schedule."""

from __future__ import annotations

import ssl
import sys
from datetime import UTC, datetime, timedelta

import anyio
import pytest
import trustme

from mindframe.sdk.mail import Mailer, MailRequest
from mindframe.sdk.smtp_sink import Sink, smtp_sink

pytestmark = pytest.mark.anyio


async def wait_until(kernel, message_id: str, check, timeout: float = 5.0) -> dict:
    """The message as `GET /api/mail/messages/{id}` shows it, once `check(message)` holds."""
    with anyio.fail_after(timeout):
        while True:
            found = (await kernel.client.get(f"/api/mail/messages/{message_id}")).json()
            if check(found):
                return found
            await anyio.sleep(0.02)


async def wait_state(kernel, message_id: str, state: str) -> dict:
    return await wait_until(kernel, message_id, lambda m: m["state"] == state)


def tried(message: dict) -> bool:
    return message["reply"] is not None


async def test_posted_message_is_stored_then_sent_with_its_message_id(mail_kernel, sink: Sink):
    async with mail_kernel() as kernel:
        response = await kernel.client.post(
            "/api/mail/messages",
            json={
                "to": ["Ada <ada@example.org>"],
                "subject": "Hi",
                "text": "Plain",
                "html": "<p>Rich</p>",
            },
        )
        assert response.status_code == 202
        accepted = response.json()
        assert accepted["state"] == "queued"
        queued = await kernel.bus_probe.next("mail.queued")
        assert queued.id == accepted["id"]
        sent = await kernel.bus_probe.next("mail.sent")
        assert sent.message_id == accepted["message_id"]
        shown = await wait_state(kernel, accepted["id"], "sent")
        assert shown["attempts"] == 1
        assert shown["reply"].startswith("2.0.0 OK") or "OK" in shown["reply"]
    [mail] = sink.received
    assert mail["Message-ID"] == accepted["message_id"]
    assert mail["To"] == "Ada <ada@example.org>"
    assert mail["From"] == "Mindframe <noreply@mindframe.test>"
    assert mail.get_body(("plain",)).get_content().strip() == "Plain"
    assert mail.get_body(("html",)).get_content().strip() == "<p>Rich</p>"


async def test_a_batch_reuses_one_connection(mail_kernel, sink: Sink):
    async with mail_kernel(per_domain_concurrency=1, poll_interval=0.3) as kernel:
        service = kernel.runtime.container.resolve(Mailer)
        later = datetime.now(UTC) + timedelta(seconds=0.3)
        for n in range(10):
            await service.send(["ops@example.org"], subject=f"m{n}", text="x", send_at=later)
        await sink.wait_for(10)
    assert sink.connections == 1


async def test_starttls_with_a_ca_from_settings(mail_kernel, certificate_authority):
    ca, ca_file = certificate_authority
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_tls)
    async with smtp_sink(tls=server_tls) as sink:
        settings = {"smtp_port": sink.port, "smtp_tls": "starttls", "smtp_ca_file": str(ca_file)}
        async with mail_kernel(**settings) as kernel:
            await kernel.client.post(
                "/api/mail/messages", json={"to": ["a@example.org"], "subject": "s", "text": "t"}
            )
            await sink.wait_for(1)
            assert (await kernel.client.get("/health")).json()["plugins"]["mail"]["ok"] is True
    assert sink.tls_used


async def test_starttls_refuses_a_server_whose_certificate_is_not_trusted(mail_kernel):
    untrusted = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(untrusted)
    async with smtp_sink(tls=untrusted) as sink:
        settings = {"smtp_port": sink.port, "smtp_tls": "starttls", "retry_delay": 5.0}
        async with mail_kernel(**settings) as kernel:
            response = await kernel.client.post(
                "/api/mail/messages", json={"to": ["a@example.org"], "subject": "s", "text": "t"}
            )
            shown = await wait_until(kernel, response.json()["id"], tried)
            assert shown["state"] == "queued"
            assert "CERTIFICATE_VERIFY_FAILED" in shown["reply"]
    assert sink.received == []


async def test_implicit_tls_speaks_tls_from_the_first_byte(mail_kernel, certificate_authority):
    ca, ca_file = certificate_authority
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_tls)
    async with smtp_sink(tls=server_tls, implicit_tls=True) as sink:
        settings = {"smtp_port": sink.port, "smtp_tls": "tls", "smtp_ca_file": str(ca_file)}
        async with mail_kernel(**settings) as kernel:
            mailer = kernel.runtime.container.resolve(Mailer)
            queued = await mailer.send(["a@example.org"], subject="over TLS", text="t")
            await sink.wait_for(1)
            shown = await wait_state(kernel, queued.id, "sent")
            health = (await kernel.client.get("/health")).json()["plugins"]["mail"]
    assert sink.tls_used
    assert sink.subjects() == ["over TLS"]
    assert shown["attempts"] == 1
    assert health["smtp_reachable"] is True


async def test_implicit_tls_refuses_a_server_whose_certificate_is_not_trusted(mail_kernel):
    untrusted = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(untrusted)
    async with smtp_sink(tls=untrusted, implicit_tls=True) as sink:
        settings = {"smtp_port": sink.port, "smtp_tls": "tls", "retry_delay": 5.0}
        async with mail_kernel(**settings) as kernel:
            response = await kernel.client.post(
                "/api/mail/messages", json={"to": ["a@example.org"], "subject": "s", "text": "t"}
            )
            shown = await wait_until(kernel, response.json()["id"], tried)
    assert shown["state"] == "queued"
    assert "CERTIFICATE_VERIFY_FAILED" in shown["reply"]
    assert sink.received == []


async def test_temporary_failure_is_retried_until_it_is_sent(mail_kernel, sink: Sink):
    sink.replies["slow@example.org"] = ["451 4.7.1 Greylisted, try later"] * 2
    async with mail_kernel() as kernel:
        response = await kernel.client.post(
            "/api/mail/messages", json={"to": ["slow@example.org"], "subject": "s", "text": "t"}
        )
        shown = await wait_state(kernel, response.json()["id"], "sent")
    assert shown["attempts"] == 3
    assert len(sink.received) == 1


async def test_temporary_failures_become_final_after_max_attempts(mail_kernel, sink: Sink):
    sink.replies["slow@example.org"] = ["421 4.3.2 Down for maintenance"] * 5
    async with mail_kernel(max_attempts=2) as kernel:
        response = await kernel.client.post(
            "/api/mail/messages", json={"to": ["slow@example.org"], "subject": "s", "text": "t"}
        )
        failed = await kernel.bus_probe.next("mail.failed")
        shown = await wait_state(kernel, response.json()["id"], "failed")
    assert failed.attempts == shown["attempts"] == 2
    assert shown["reply"] == "421 4.3.2 Down for maintenance"
    assert sink.received == []


async def test_permanent_failure_is_not_retried(mail_kernel, sink: Sink):
    sink.replies["gone@example.org"] = ["550 5.1.1 No such user"]
    async with mail_kernel() as kernel:
        response = await kernel.client.post(
            "/api/mail/messages", json={"to": ["gone@example.org"], "subject": "s", "text": "t"}
        )
        shown = await wait_state(kernel, response.json()["id"], "failed")
        await anyio.sleep(0.3)
        assert (await kernel.client.get(f"/api/mail/messages/{shown['id']}")).json()[
            "attempts"
        ] == 1
    assert shown["reply"] == "550 5.1.1 No such user"


async def test_unreachable_server_is_a_temporary_failure_and_unhealthy(mail_kernel):
    async with mail_kernel(smtp_port=1, retry_delay=10.0) as kernel:
        response = await kernel.client.post(
            "/api/mail/messages", json={"to": ["a@example.org"], "subject": "s", "text": "t"}
        )
        shown = await wait_until(kernel, response.json()["id"], tried)
        assert shown["state"] == "queued"
        health = (await kernel.client.get("/health")).json()["plugins"]["mail"]
    assert health["ok"] is False
    assert health["outbox_depth"] == 1
    assert health["oldest_queued_seconds"] is not None


async def test_unreachable_server_with_nothing_waiting_is_shown_but_healthy(mail_kernel):
    async with mail_kernel(smtp_port=1) as kernel:
        health = (await kernel.client.get("/health")).json()["plugins"]["mail"]
    assert health["ok"] is True
    assert health["outbox_depth"] == 0
    assert "SMTPConnectError" in health["smtp_reachable"]


async def test_an_alert_overtakes_daily_reports(mail_kernel, sink: Sink):
    async with mail_kernel(per_domain_concurrency=1) as kernel:
        service = kernel.runtime.container.resolve(Mailer)
        due = datetime.now(UTC) + timedelta(seconds=2)  # all six queued before any is due
        for n in range(5):
            await service.send(
                ["ops@example.org"],
                template="daily_report",
                context={"date": f"d{n}", "figures": {}},
                send_at=due,
            )
        await service.send(
            ["ops@example.org"],
            template="system_alert",
            context={"level": "critical", "title": "Disk full", "message": "/var is full"},
            send_at=due,
        )
        assert datetime.now(UTC) < due, "the machine took 2 s to queue six mails: nothing tested"
        await sink.wait_for(6, timeout=30)
    assert sink.subjects()[0] == "[CRITICAL] Disk full"


async def test_scheduled_message_waits_for_send_at(mail_kernel, sink: Sink):
    async with mail_kernel() as kernel:
        send_at = datetime.now(UTC) + timedelta(seconds=0.6)
        response = await kernel.client.post(
            "/api/mail/messages",
            json={
                "to": ["a@example.org"],
                "subject": "later",
                "text": "t",
                "send_at": send_at.isoformat(),
            },
        )
        await kernel.client.post(
            "/api/mail/messages", json={"to": ["a@example.org"], "subject": "now", "text": "t"}
        )
        await sink.wait_for(1)
        await anyio.sleep(0.2)
        assert sink.subjects() == ["now"]
        assert (await kernel.client.get(f"/api/mail/messages/{response.json()['id']}")).json()[
            "state"
        ] == "queued"
        await sink.wait_for(2)
    assert datetime.now(UTC) >= send_at
    assert sink.subjects() == ["now", "later"]


async def test_list_filters_by_state_and_recipient(mail_kernel, sink: Sink):
    sink.replies["gone@example.org"] = ["550 5.1.1 No such user"]
    async with mail_kernel() as kernel:
        for to in ("a@example.org", "gone@example.org", "b@example.org"):
            await kernel.client.post(
                "/api/mail/messages", json={"to": [to], "subject": "s", "text": "t"}
            )
        await kernel.bus_probe.next("mail.failed")
        await kernel.bus_probe.next("mail.sent")
        await kernel.bus_probe.next("mail.sent")
        failed = (await kernel.client.get("/api/mail/messages", params={"state": "failed"})).json()
        to_b = (
            await kernel.client.get("/api/mail/messages", params={"to": "B@example.org"})
        ).json()
        everything = (await kernel.client.get("/api/mail/messages")).json()
    assert [m["to"] for m in failed] == [["gone@example.org"]]
    assert [m["to"] for m in to_b] == [["b@example.org"]]
    assert len(everything) == 3


async def test_unknown_message_id_is_a_404(mail_kernel):
    async with mail_kernel() as kernel:
        response = await kernel.client.get("/api/mail/messages/nope")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


async def test_another_plugin_asks_for_mail_by_event(mail_kernel, sink: Sink):
    async with mail_kernel() as kernel:
        send_mail = sys.modules["mindframe_plugins.mail.events"].SendMail
        await kernel.runtime.bus.publish(
            send_mail(
                to=["ops@example.org"],
                template="error_alert",
                context={"service": "billing", "error": "boom"},
            )
        )
        sent = await kernel.bus_probe.next("mail.sent")
    assert sent.to == ["ops@example.org"]
    assert sink.subjects() == ["[billing] Error: boom"]


async def test_sending_needs_the_mail_send_permission(mail_kernel, sink: Sink):
    body = {"to": ["a@example.org"], "subject": "s", "text": "t"}
    async with mail_kernel(permissions="mail.read") as kernel:
        refused = await kernel.client.post("/api/mail/messages", json=body)
        listed = await kernel.client.get("/api/mail/messages")
        del kernel.client.headers["x-test-permissions"]
        signed_out = await kernel.client.post("/api/mail/messages", json=body)
    assert refused.status_code == 403
    assert "mail.send" in refused.json()["detail"]
    assert signed_out.status_code == 401
    assert listed.json() == []


async def test_without_an_auth_plugin_the_api_refuses_everyone(kernel):
    body = {"to": ["a@example.org"], "subject": "s", "text": "t"}
    response = await kernel.client.post("/api/mail/messages", json=body)
    assert response.status_code == 401
    assert "no auth plugin is active" in response.json()["detail"]
    assert "mail.queued" not in kernel.bus_probe.topics()


def stored_row(service, subject: str, **values) -> dict:
    """An outbox row written as is, past the checks `Mailer.send` makes."""
    content = sys.modules["mindframe_plugins.mail.composing"].Content(subject, "t")
    row = service.outbox.row(
        sender="noreply@mindframe.test", recipients=["a@example.org"], content=content
    )
    return {**row, **values}


async def test_a_row_that_cannot_be_built_fails_after_max_attempts_with_the_reason(
    mail_kernel, sink: Sink
):
    async with mail_kernel(max_attempts=3) as kernel:
        service = kernel.runtime.container.resolve(Mailer)
        # written by hand, or by an older version that checked less: it cannot be built
        poison = stored_row(service, "Hi\x0bthere")
        await service.outbox.add([poison])
        await service.send(["b@example.org"], subject="fine", text="t")
        failed = await kernel.bus_probe.next("mail.failed")
        shown = await wait_state(kernel, poison["id"], "failed")
        await sink.wait_for(1)
    assert failed.id == poison["id"]
    assert failed.attempts == shown["attempts"] == 3
    assert shown["reply"].startswith("could not build the message: ValueError")
    assert sink.subjects() == ["fine"]


async def test_a_row_whose_last_attempt_died_mid_send_is_failed_not_tried_again(
    mail_kernel, sink: Sink
):
    async with mail_kernel(max_attempts=2) as kernel:
        service = kernel.runtime.container.resolve(Mailer)
        # as a process leaves it when it dies sending the last allowed attempt
        crashed = stored_row(
            service, "crashes the sender", state="sending", attempts=2, lease_until=0.0
        )
        await service.outbox.add([crashed])
        service.dispatcher.wake()
        failed = await kernel.bus_probe.next("mail.failed")
        shown = await wait_state(kernel, crashed["id"], "failed")
    assert failed.id == crashed["id"]
    assert failed.attempts == shown["attempts"] == 2
    assert shown["reply"].startswith("no outcome was recorded for the last allowed attempt")
    assert sink.received == []


async def test_an_idempotency_key_used_again_queues_nothing_and_answers_the_first(
    mail_kernel, sink: Sink
):
    async with mail_kernel() as kernel:
        mailer = kernel.runtime.container.resolve(Mailer)
        first = await mailer.send(
            ["ada@example.org"], subject="Invoice 1", text="one", idempotency_key="test:invoice:1"
        )
        await wait_state(kernel, first.id, "sent")
        again = await mailer.send(
            ["ada@example.org"], subject="Invoice 1", text="one", idempotency_key="test:invoice:1"
        )
        [batched, twice] = await mailer.send_many(
            [
                MailRequest(["ada@example.org"], subject="2", text="two", idempotency_key="k:2"),
                MailRequest(["ada@example.org"], subject="2", text="two", idempotency_key="k:2"),
            ]
        )
        other = await mailer.send(["ada@example.org"], subject="Plain", text="no key")
        await wait_state(kernel, other.id, "sent")
        await wait_state(kernel, batched.id, "sent")
    assert (again.id, again.message_id, again.state) == (first.id, first.message_id, "sent")
    assert twice.id == batched.id
    assert sorted(str(mail["Subject"]) for mail in sink.received) == ["2", "Invoice 1", "Plain"]
