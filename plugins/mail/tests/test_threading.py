"""Threads: inbound mail is announced with the headers a reply is threaded by, and a reply
goes out with In-Reply-To and References, so a customer's mail program files it in place."""

from __future__ import annotations

import sqlite3
from email.message import EmailMessage

import aiosmtplib
import pytest

from mindframe.sdk.browser import free_port
from mindframe.sdk.mail import Mailer, MailError
from mindframe.sdk.smtp_sink import Sink

pytestmark = pytest.mark.anyio


@pytest.fixture
def inbound_port() -> int:
    return free_port()


async def test_inbound_mail_is_announced_with_its_thread_and_the_senders_name(
    mail_kernel, inbound_port
):
    message = EmailMessage()
    message["From"] = "Kari Nordmann <kari@customer.test>"
    message["To"] = "support@mindframe.test"
    message["Subject"] = "Re: Order 42"
    message["Message-ID"] = "<second@customer.test>"
    message["In-Reply-To"] = "<answer@mindframe.test>"
    message["References"] = "<first@customer.test> <answer@mindframe.test>"
    message.set_content("Still late")
    settings = {"inbound_port": inbound_port, "inbound_domains": ["mindframe.test"]}
    async with mail_kernel(**settings) as kernel:
        await aiosmtplib.send(message, hostname="127.0.0.1", port=inbound_port)
        received = await kernel.bus_probe.next("mail.received")
    assert (received.sender, received.sender_name) == ("kari@customer.test", "Kari Nordmann")
    assert received.message_id == "<second@customer.test>"
    assert received.in_reply_to == "<answer@mindframe.test>"
    assert received.references == ["<first@customer.test>", "<answer@mindframe.test>"]


async def test_mail_without_thread_headers_is_announced_as_a_thread_of_its_own(
    mail_kernel, inbound_port
):
    message = EmailMessage()
    message["From"] = "kari@customer.test"
    message["To"] = "support@mindframe.test"
    message["Subject"] = "Order 42"
    message.set_content("Late")
    settings = {"inbound_port": inbound_port, "inbound_domains": ["mindframe.test"]}
    async with mail_kernel(**settings) as kernel:
        await aiosmtplib.send(message, hostname="127.0.0.1", port=inbound_port)
        received = await kernel.bus_probe.next("mail.received")
    assert (received.in_reply_to, received.references, received.sender_name) == (None, [], "")


async def test_a_reply_goes_out_with_in_reply_to_and_references(mail_kernel, sink: Sink):
    async with mail_kernel() as kernel:
        mailer = kernel.runtime.container.resolve(Mailer)
        queued = await mailer.send(
            ["kari@customer.test"],
            subject="Re: Order 42",
            text="It ships today.",
            in_reply_to="<second@customer.test>",
            references=["<first@customer.test>", "<second@customer.test>"],
        )
        await sink.wait_for(1)
    [reply] = sink.received
    assert reply["Message-ID"] == queued.message_id
    assert reply["In-Reply-To"] == "<second@customer.test>"
    assert reply["References"].split() == ["<first@customer.test>", "<second@customer.test>"]


async def test_mail_that_starts_a_thread_has_no_thread_headers(mail_kernel, sink: Sink):
    async with mail_kernel() as kernel:
        await kernel.runtime.container.resolve(Mailer).send(["a@b.test"], subject="s", text="t")
        await sink.wait_for(1)
    [mail] = sink.received
    assert (mail["In-Reply-To"], mail["References"]) == (None, None)


@pytest.mark.parametrize(
    "thread",
    [
        {"in_reply_to": "not an id"},
        {"in_reply_to": "<a@b.test>\r\nBcc: x@y.test"},
        {"references": ["<a@b.test>", "<oops>"]},
    ],
)
async def test_a_thread_header_that_is_not_message_ids_is_refused_and_nothing_queued(
    mail_kernel, thread
):
    async with mail_kernel() as kernel:
        mailer = kernel.runtime.container.resolve(Mailer)
        with pytest.raises(MailError):
            await mailer.send(["a@b.test"], subject="s", text="t", **thread)
        assert await mailer.messages() == []


async def test_a_database_made_before_threading_gains_the_columns_at_start(
    mail_kernel, sink: Sink, tmp_path
):
    async with mail_kernel():
        pass
    database = sqlite3.connect(tmp_path / "data" / "mindframe.db")
    with database:  # the outbox as the version before threading (and attachments) left it
        database.execute("ALTER TABLE mail_outbox DROP COLUMN in_reply_to")
        database.execute("ALTER TABLE mail_outbox DROP COLUMN reference_ids")
        database.execute("ALTER TABLE mail_outbox DROP COLUMN attachments")
        database.execute("DROP TABLE mail_attachments")
        database.execute("DROP TABLE IF EXISTS mail_alembic_version")
        database.execute("DELETE FROM kernel_schemas WHERE plugin = 'mail'")
    database.close()
    async with mail_kernel() as kernel:
        await kernel.runtime.container.resolve(Mailer).send(
            ["a@b.test"], subject="s", text="t", in_reply_to="<x@y.test>"
        )
        await sink.wait_for(1)
    assert sink.received[0]["In-Reply-To"] == "<x@y.test>"
