"""The inbound listener: internal mail is stored and announced; the rest gets a clear 5xx."""

from __future__ import annotations

import gc
import smtplib
import socket
from email.message import EmailMessage

import aiosmtplib
import anyio
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
    def start(**overrides):
        settings = {"inbound_domains": ["mindframe.test"], "inbound_max_size": 2000, **overrides}
        return mail_kernel(inbound_port=inbound_port, **settings)

    return start


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


HEAD = b"From: kari@customer.test\r\nTo: support@mindframe.test\r\nMIME-Version: 1.0\r\n"


def many_parts(count: int) -> bytes:
    """A message of `count` small text parts (and itself: `count + 1` MIME parts)."""
    part = b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    return (
        HEAD + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + part * count + b"--b--\r\n"
    )


def nested(depth: int) -> bytes:
    """A message whose text part is nested `depth` deep in multiparts."""
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n)
        for n in range(depth)
    )
    closing = b"".join(b"\r\n--b%d--\r\n" % n for n in reversed(range(depth)))
    return HEAD + opening + b"Content-Type: text/plain\r\n\r\nx" + closing


def send_with_smtplib(port: int, raw: bytes) -> tuple[int, str]:
    """The reply to DATA, as a blocking client sees it (run it in a thread)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        try:
            client.sendmail("kari@customer.test", ["support@mindframe.test"], raw)
        except smtplib.SMTPDataError as refused:
            return refused.smtp_code, refused.smtp_error.decode()
    return 250, ""


@pytest.mark.parametrize(
    ("raw", "limit"),
    [
        (many_parts(15_000), "more than 1000 MIME parts (the limit inbound_max_parts)"),
        (nested(900), "nested more than 50 deep (the limit inbound_max_depth)"),
    ],
    ids=["15000 parts", "900 deep"],
)
async def test_mail_over_the_part_limits_is_refused_with_554_naming_the_limit(
    inbound_kernel, inbound_port, raw, limit
):
    async with inbound_kernel(inbound_max_size=1_000_000) as kernel:
        code, reply = await anyio.to_thread.run_sync(send_with_smtplib, inbound_port, raw)
        assert "mail.received" not in kernel.bus_probe.topics()
    assert code == 554
    assert reply.startswith("5.6.0 Message refused:") and reply.endswith(limit)


async def test_mail_at_the_part_limits_is_taken_and_one_more_is_refused(
    inbound_kernel, inbound_port
):
    async with inbound_kernel(
        inbound_max_size=100_000, inbound_max_parts=1001, inbound_max_depth=40
    ) as kernel:
        for raw in (many_parts(1000), nested(40)):
            assert await anyio.to_thread.run_sync(send_with_smtplib, inbound_port, raw) == (250, "")
            assert (await kernel.bus_probe.next("mail.received")).text.strip() == "x"
        for raw in (many_parts(1001), nested(41)):
            code, _ = await anyio.to_thread.run_sync(send_with_smtplib, inbound_port, raw)
            assert code == 554


async def stalls_while(work) -> tuple[float, float]:
    """How long `work()` took, and the longest the event loop took meanwhile to come back to
    a task that sleeps 5 ms at a time."""
    gaps = [0.0]

    async def tick() -> None:
        last = anyio.current_time()
        while True:
            await anyio.sleep(0.005)
            gaps.append(anyio.current_time() - last)
            last = anyio.current_time()

    async with anyio.create_task_group() as group:
        group.start_soon(tick)
        started = anyio.current_time()
        await work()
        took = anyio.current_time() - started
        group.cancel_scope.cancel()
    return took, max(gaps)


async def test_the_event_loop_keeps_serving_while_a_big_message_is_parsed(
    inbound_kernel, inbound_port
):
    raw = many_parts(3000)  # parsing it takes about half a second or more
    async with inbound_kernel(inbound_max_size=1_000_000, inbound_max_parts=3001) as kernel:
        # the cyclic GC off while measured: its full collection of a long-lived test worker's
        # heap stops every thread at once (once 1.5 s in a clean-clone run), which says
        # nothing about where the parse runs (measured here: receiving holds the loop for
        # 30-50 ms, the parse on its thread leaves gaps of 20-35 ms beside two CPU hogs)
        gc.disable()
        try:
            took, stall = await stalls_while(
                lambda: anyio.to_thread.run_sync(send_with_smtplib, inbound_port, raw)
            )
        finally:
            gc.enable()
        received = await kernel.bus_probe.next("mail.received")
    assert received.sender == "kari@customer.test"
    # on the loop, the parse stalls it for nearly all of `took`; generous under load
    assert stall < took / 3, f"the loop stalled {stall:.3f} s of {took:.3f} s"
