"""The inbound listener: internal mail is stored and announced; the rest gets a clear 5xx."""

from __future__ import annotations

import socket
from email.message import EmailMessage

import aiosmtplib
import pytest

from mindframe.sdk import Subject
from mindframe.sdk.mail import Mailer

pytestmark = pytest.mark.anyio


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def inbound_port() -> int:
    return free_port()


def mail(sender: str = "kari@customer.test", body: str = "My order is late") -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@mindframe.test"
    message["Subject"] = "Order 42"
    message["Message-ID"] = "<abc@customer.test>"
    message.set_content(body)
    return message


@pytest.fixture
def inbound_kernel(mail_kernel, inbound_port):
    return lambda: mail_kernel(
        inbound_port=inbound_port, inbound_domains=["mindframe.test"], inbound_max_size=2000
    )


async def test_internal_mail_is_stored_and_announced(inbound_kernel, inbound_port):
    async with inbound_kernel() as kernel:
        refused, reply = await aiosmtplib.send(mail(), hostname="127.0.0.1", port=inbound_port)
        received = await kernel.bus_probe.next("mail.received")
        service = kernel.runtime.container.resolve(Mailer)
        exported = await service.personal_data(Subject("u9", email="kari@customer.test"))
    assert refused == {} and reply.startswith("2.0.0")
    assert (received.sender, received.to, received.subject) == (
        "kari@customer.test",
        ["support@mindframe.test"],
        "Order 42",
    )
    assert received.text.strip() == "My order is late"
    assert received.message_id == "<abc@customer.test>"
    assert [row["subject"] for row in exported["inbox"]] == ["Order 42"]


async def test_oversized_mail_is_refused_with_552(inbound_kernel, inbound_port):
    async with inbound_kernel():
        with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
            await aiosmtplib.send(mail(body="x" * 5000), hostname="127.0.0.1", port=inbound_port)
    assert refused.value.code == 552


@pytest.mark.parametrize(
    "raw",
    [
        b"just some words, no headers at all\r\n",
        b"From: not an address\r\nSubject: x\r\n\r\nbody\r\n",
    ],
)
async def test_malformed_mail_is_refused_with_550_5_6_0(inbound_kernel, inbound_port, raw):
    async with inbound_kernel() as kernel:
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await aiosmtplib.send(
                raw,
                sender="kari@customer.test",
                recipients=["support@mindframe.test"],
                hostname="127.0.0.1",
                port=inbound_port,
            )
        assert "mail.received" not in kernel.bus_probe.topics()
    assert refused.value.code == 550
    assert refused.value.message.startswith("5.6.0 Malformed message")


async def test_mail_for_outside_addresses_is_refused_with_550_5_1_1(inbound_kernel, inbound_port):
    async with inbound_kernel():
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await aiosmtplib.send(
                mail(),
                recipients=["someone@elsewhere.test"],
                hostname="127.0.0.1",
                port=inbound_port,
            )
    [recipient] = refused.value.recipients
    assert (recipient.code, recipient.message.split()[0]) == (550, "5.1.1")


async def test_the_listener_is_off_by_default(mail_kernel, inbound_port):
    async with mail_kernel():
        with pytest.raises(aiosmtplib.SMTPConnectError):
            await aiosmtplib.send(mail(), hostname="127.0.0.1", port=inbound_port, timeout=2)
