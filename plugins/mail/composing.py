"""Checking addresses and headers, and building the MIME message that goes on the wire.

Everything here runs before a message is queued, so bad input is refused with nothing
stored; the outbox only ever holds messages that can be sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, formataddr, parseaddr

from .errors import HeaderInjection, InvalidAddress, MailError

_LOCAL = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
ADDR_SPEC = re.compile(rf"^{_LOCAL}@{_LABEL}(?:\.{_LABEL})*$")
NAMED = re.compile(r"^(?P<name>[^<>@,;]*)<(?P<address>[^<>]+)>$")
MAX_RECIPIENTS = 100


def refuse_line_breaks(field: str, value: str) -> None:
    """CR or LF in a header value would let the caller write headers of their own."""
    if "\r" in value or "\n" in value:
        raise HeaderInjection(f"{field} must not contain line breaks (CR or LF): {value!r}")


def check_address(value: str) -> str:
    """`ada@example.org` or `Ada Lovelace <ada@example.org>`, returned in canonical form."""
    refuse_line_breaks("address", value)
    named = NAMED.match(value.strip())
    name, address = (named["name"].strip().strip('"'), named["address"]) if named else ("", value)
    if not ADDR_SPEC.match(address) or address.startswith(".") or ".." in address:
        raise InvalidAddress(f"{value!r} is not a valid email address (like ada@example.org)")
    return formataddr((name, address)) if name else address


def check_recipients(values: list[str]) -> list[str]:
    if not values:
        raise InvalidAddress("'to' needs at least one address")
    if len(values) > MAX_RECIPIENTS:
        raise MailError(f"at most {MAX_RECIPIENTS} recipients per message, got {len(values)}")
    return [check_address(value) for value in values]


def bare_address(value: str) -> str:
    return parseaddr(value)[1]


def domain_of(value: str) -> str:
    return bare_address(value).rpartition("@")[2].lower()


@dataclass(frozen=True)
class Content:
    """What a message says, once templates (if any) are rendered."""

    subject: str
    text: str
    html: str | None = None

    def __post_init__(self) -> None:
        refuse_line_breaks("subject", self.subject)


def message_id(outbox_id: str, sender: str) -> str:
    """One Message-ID per outbox row, fixed when queued: a resend after a crash carries
    the same one, so the receiver (and the tests' sink) can see it is a duplicate."""
    return f"<{outbox_id}@{domain_of(sender) or 'mindframe.local'}>"


class _Headers(HeaderRegistry):
    """The standard header classes, each made once: the stock registry builds a new class
    (`type(...)`) for every header it parses, a large share of the CPU a message costs."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._classes.get(key)
        if made is None:
            made = self._classes[key] = super().__getitem__(name)
        return made


POLICY = default.clone(header_factory=_Headers())
"""`email.policy.default`, with the header classes cached (same headers, same output)."""


def build(
    *, sender: str, recipients: list[str], content: Content, message_id: str, date: datetime
) -> EmailMessage:
    message = EmailMessage(policy=POLICY)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = content.subject
    message["Date"] = format_datetime(date.replace(tzinfo=date.tzinfo or UTC).astimezone(UTC))
    message["Message-ID"] = message_id
    message.set_content(content.text)
    if content.html is not None:
        message.add_alternative(content.html, subtype="html")
    return message
