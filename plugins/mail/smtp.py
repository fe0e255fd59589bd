"""Talking SMTP with aiosmtplib: one connection per lane, each transaction classified.

`Outcome.kind` decides what the outbox does: `sent`; `temporary` (4xx, a dropped
connection, a timeout) is retried with backoff; `permanent` (5xx) is final.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

import aiosmtplib

from .settings import MailSettings

Kind = Literal["sent", "temporary", "permanent"]


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    reply: str


def tls_context(settings: MailSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=settings.smtp_ca_file or None)


def client(settings: MailSettings, timeout: float | None = None) -> aiosmtplib.SMTP:
    mode = settings.smtp_tls
    return aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=mode == "tls",
        start_tls=mode == "starttls",
        validate_certs=mode != "none",
        tls_context=tls_context(settings) if mode != "none" else None,
        timeout=timeout or settings.smtp_timeout,
    )


class Connection:
    """An SMTP session opened on first use and reopened after the server drops it."""

    def __init__(self, settings: MailSettings) -> None:
        self._settings = settings
        self._client: aiosmtplib.SMTP | None = None

    async def open(self) -> aiosmtplib.SMTP:
        if self._client is None or not self._client.is_connected:
            smtp = client(self._settings)
            await smtp.connect()
            if self._settings.smtp_username:
                await smtp.login(self._settings.smtp_username, self._settings.smtp_password)
            self._client = smtp
        return self._client

    async def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> Outcome:
        try:
            reused = self._client is not None and self._client.is_connected
            smtp = await self.open()
            try:
                refused, reply = await smtp.send_message(
                    message, sender=sender, recipients=recipients
                )
            except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                if not reused:
                    raise
                self._client = None  # the server closed a kept connection: once more, anew
                smtp = await self.open()
                refused, reply = await smtp.send_message(
                    message, sender=sender, recipients=recipients
                )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [r.code for r in error.recipients]
            text = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in error.recipients)
            return Outcome("permanent" if all(c >= 500 for c in codes) else "temporary", text)
        except aiosmtplib.SMTPResponseException as error:
            if error.code < 400:  # a server that answers with nonsense
                self._client = None
            kind: Kind = "permanent" if error.code >= 500 else "temporary"
            return Outcome(kind, f"{error.code} {error.message}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            self._client = None
            return Outcome("temporary", f"{type(error).__name__}: {error}")
        if refused:
            listed = "; ".join(f"{r}: {code} {text}" for r, (code, text) in refused.items())
            return Outcome("sent", f"{reply} (refused: {listed})")
        return Outcome("sent", reply)

    async def close(self) -> None:
        smtp, self._client = self._client, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                smtp.close()


async def reachable(settings: MailSettings, timeout: float = 1.5) -> bool | str:
    """Whether the SMTP server answers a connection (with TLS and login, as configured)."""
    connection = Connection(settings.model_copy(update={"smtp_timeout": timeout}))
    try:
        await connection.open()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        return f"{type(error).__name__}: {error}"
    finally:
        await connection.close()
    return True
