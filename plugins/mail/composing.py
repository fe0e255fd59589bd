"""Checking addresses and headers, and building the MIME message that goes on the wire.

The checks run before a message is queued, so bad input is refused with nothing stored
and the outbox holds only messages that can be built. `build` runs when a message is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, formataddr, parseaddr

from mindframe.sdk.mail import Attachment

from .errors import AttachmentTooLarge, InvalidAddress, MailError, UnsafeCharacter

_LOCAL = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
ADDR_SPEC = re.compile(rf"^{_LOCAL}@{_LABEL}(?:\.{_LABEL})*$")
NAMED = re.compile(r"^(?P<name>[^<>@,;]*)<(?P<address>[^<>]+)>$")
MAX_RECIPIENTS = 100
MAX_ATTACHMENTS = 100
MAX_FILENAME = 255
_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
CONTENT_TYPE = re.compile(rf"^{_NAME}/{_NAME}$")
"""`type/subtype` as RFC 6838 section 4.2 names them, without parameters."""
NOT_AS_ATTACHMENT = ("multipart", "message")
"""Types that are MIME structure rather than a file: the message builds those itself."""

_NOT_IN_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
"""Control characters but tab, the Unicode line and paragraph separators, lone surrogates."""
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def check_header(field: str, value: str) -> None:
    """Refuse a character a header cannot carry. CR or LF would let the caller write headers
    of their own; the other characters Python's email package takes for line boundaries
    (VT, FF, FS, GS, RS, NEL, U+2028, U+2029) make the message impossible to build; no
    other control character belongs in a header either, nor a lone surrogate (not UTF-8)."""
    found = _NOT_IN_HEADER.search(value)
    if found is not None:
        raise UnsafeCharacter(
            f"{field} must not contain line breaks or other control characters: "
            f"{_named(found)} in {value!r}; remove it or write a space instead"
        )


def _named(found: re.Match[str]) -> str:
    return f"U+{ord(found.group()):04X} at position {found.start()}"


def check_address(value: str) -> str:
    """`ada@example.org` or `Ada Lovelace <ada@example.org>`, returned in canonical form."""
    check_header("address", value)
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
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    """The thread a reply belongs to: the Message-ID it answers and the thread's ids."""
    attachments: tuple[Attachment, ...] = ()
    """Files sent after the text and HTML, in this order."""


MESSAGE_ID = re.compile(r"^<[^<>\s]+@[^<>\s]+>$")


def check_content(content: Content) -> None:
    """Refuse content that could not be built into a message (see `check_header`);
    the body may hold any character that UTF-8 can encode."""
    check_header("subject", content.subject)
    threading = [("in_reply_to", content.in_reply_to)] if content.in_reply_to else []
    threading += [("references", reference) for reference in content.references]
    for field, value in threading:
        check_header(field, value)
        if not MESSAGE_ID.match(value):
            raise MailError(f"{field} must be Message-IDs like <id@example.org>, not {value!r}")
    for field, body in (("text", content.text), ("html", content.html or "")):
        found = _LONE_SURROGATE.search(body)
        if found is not None:
            raise UnsafeCharacter(
                f"{field} is not valid Unicode text: {_named(found)} is a lone surrogate, "
                "which UTF-8 cannot encode; send the text as decoded UTF-8"
            )


def check_attachments(attachments: list[Attachment], max_size: int) -> None:
    """Refuse an attachment the message could not carry as a file (no name, a path, a
    control character in the name, a content type that is not `type/subtype` or is MIME
    structure, content that is not bytes), more than `MAX_ATTACHMENTS`, or more than
    `max_size` bytes of them in all (`AttachmentTooLarge`)."""
    if len(attachments) > MAX_ATTACHMENTS:
        raise MailError(
            f"at most {MAX_ATTACHMENTS} attachments per message, got {len(attachments)}"
        )
    total = 0
    for index, attachment in enumerate(attachments):
        where = f"attachments[{index}]"
        if not isinstance(attachment, Attachment):
            raise MailError(
                f"{where} must be a mindframe.sdk.mail.Attachment, not {type(attachment).__name__}"
            )
        name = attachment.filename
        check_header(f"{where}.filename", name)
        if not name.strip() or len(name) > MAX_FILENAME or "/" in name or "\\" in name:
            raise MailError(
                f"{where}.filename must be a file name of 1 to {MAX_FILENAME} characters "
                f"without '/' or '\\' (a name, not a path), not {name!r}"
            )
        kind = attachment.content_type
        if not CONTENT_TYPE.match(kind) or kind.split("/")[0].lower() in NOT_AS_ATTACHMENT:
            raise MailError(
                f"{where}.content_type must be a MIME type like application/pdf (no parameters,"
                f" not multipart/* or message/*), not {kind!r}"
            )
        if not isinstance(attachment.content, bytes):
            raise MailError(
                f"{where}.content must be bytes, not {type(attachment.content).__name__}"
            )
        total += len(attachment.content)
    if total > max_size:
        raise AttachmentTooLarge(
            f"the attachments are {total:,} bytes in all; a message may carry at most "
            f"{max_size:,} (the mail plugin's max_attachment_size): send a link to the file "
            "instead, or raise [mail] max_attachment_size"
        )


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
    if content.in_reply_to:
        message["In-Reply-To"] = content.in_reply_to
    if content.references:
        message["References"] = " ".join(content.references)
    message.set_content(content.text)
    if content.html is not None:
        message.add_alternative(content.html, subtype="html")
    for attachment in content.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message
