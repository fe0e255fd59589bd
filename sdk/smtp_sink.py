"""A real SMTP server (aiosmtpd) for tests of anything that sends mail: it keeps every message
it receives and answers with the failures a test scripts for a recipient.

    async with smtp_sink() as sink:
        async with boot_kernel(["mail", ...], settings={"mail": mail_settings(sink)}):
            ...
        await sink.wait_for(1)
        assert sink.subjects() == ["Welcome"]

With `tls` it requires STARTTLS (or, with `implicit_tls`, speaks TLS from the first byte).
One sink serves the mail plugin's own tests and every plugin whose tests look at its mail.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

PARSER = BytesParser(policy=policy.default)


@dataclass
class Sink:
    """Every completed SMTP transaction, in order; `replies[address]` is a list of replies
    to give (one per transaction) before accepting mail for that address."""

    port: int = 0
    received: list[EmailMessage] = field(default_factory=list)
    replies: dict[str, list[str]] = field(default_factory=dict)
    connections: int = 0
    tls_used: bool = False
    delay: float = 0.0  # seconds each DATA takes, so several senders overlap
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: Any
    ) -> Any:
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.tls_used |= encrypted or session.ssl is not None
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.delay)
        for address in envelope.rcpt_tos:
            scripted = self.replies.get(address)
            if scripted:
                return scripted.pop(0)
        self.received.append(PARSER.parsebytes(envelope.original_content or b""))
        self.arrived.set()
        return "250 2.0.0 OK queued"

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.received]

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.received]

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


@asynccontextmanager
async def smtp_sink(
    tls: ssl.SSLContext | None = None, *, implicit_tls: bool = False
) -> AsyncIterator[Sink]:
    """An SMTP server on a free port: plain; with `tls`, one that requires STARTTLS; with
    `tls` and `implicit_tls`, one that speaks TLS from the first byte (port 465 style)."""
    sink = Sink()
    starttls = None if implicit_tls else tls

    def protocol() -> SMTP:
        sink.connections += 1
        return SMTP(
            sink, tls_context=starttls, require_starttls=starttls is not None, hostname="sink"
        )

    server = await asyncio.get_running_loop().create_server(
        protocol, "127.0.0.1", 0, ssl=tls if implicit_tls else None
    )
    sink.port = server.sockets[0].getsockname()[1]
    try:
        yield sink
    finally:
        server.close()


def mail_settings(sink: Sink, **overrides: Any) -> dict[str, Any]:
    """Settings pointing the built-in mail plugin at `sink`, quick to retry, for tests."""
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": sink.port,
        "sender": "Mindframe <noreply@mindframe.test>",
        "retry_delay": 0.05,
        "max_retry_delay": 0.2,
        "poll_interval": 0.2,
        **overrides,
    }
