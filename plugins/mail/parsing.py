"""Reading inbound mail within limits, in a worker thread so the event loop keeps serving.

The email package's parser costs time linear in a message's MIME parts and quadratic in
their nesting, all of it holding the thread that runs it: on the event loop, a 527 KB
message of 15,000 parts stalled every request for 11 s. So `read` runs in a worker thread
(`inbound.py`), and the message factory it gives the parser counts the parts as they are
made and stops the parse at the first one over `inbound_max_parts` or nested deeper than
`inbound_max_depth`: a hostile message costs what the limits allow, not what it asks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import Policy

from .composing import ADDR_SPEC, POLICY

MESSAGE_ID = re.compile(r"<[^<>\s]+>")


class Refused(Exception):
    """Mail not taken; `reply` is the SMTP reply that tells the sender why."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


@dataclass(frozen=True)
class Received:
    """What an accepted message says, for `mail_inbox` and `mail.received`."""

    message_id: str | None
    sender: str
    subject: str
    text: str
    sender_name: str = ""
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()


class PartCounter:
    """The parser's message factory for one message: makes every part, so it can refuse
    the one over `max_parts` (the message itself counts) or deeper than `max_depth` (the
    message's own parts are at depth 1) before the parser reads further."""

    def __init__(self, max_parts: int, max_depth: int) -> None:
        self._max_parts, self._max_depth = max_parts, max_depth
        self._made = 0
        self._root: EmailMessage | None = None

    def __call__(self, policy: Policy) -> EmailMessage:
        self.check_newest()
        self._made += 1
        if self._made > self._max_parts:
            raise Refused(
                f"554 5.6.0 Message refused: more than {self._max_parts} MIME parts "
                "(the limit inbound_max_parts)"
            )
        part = EmailMessage(policy=policy)
        if self._root is None:
            self._root = part
        return part

    def check_newest(self) -> None:
        """Refuse the part made last if it lies too deep. It ends the chain of last
        children from the root (anything attached after it would be newer), so following
        that chain finds its depth, in at most `max_depth` steps."""
        depth, part = 0, self._root
        while part is not None and part.is_multipart() and (children := part.get_payload()):
            part, depth = children[-1], depth + 1
            if depth > self._max_depth:
                raise Refused(
                    f"554 5.6.0 Message refused: MIME parts nested more than "
                    f"{self._max_depth} deep (the limit inbound_max_depth)"
                )


def read(raw: bytes, max_parts: int, max_depth: int) -> Received:
    """Parse and check one inbound message; `Refused` when it is over a limit or is not
    mail that can be filed. CPU-bound: call it from a worker thread."""
    counter = PartCounter(max_parts, max_depth)
    parser = BytesParser(policy=POLICY.clone(message_factory=counter))
    try:
        message = parser.parsebytes(raw)
        counter.check_newest()
        problem = problem_with(message)  # type: ignore[arg-type]
        text = plain_text(message) if problem is None else ""  # type: ignore[arg-type]
    except (ValueError, LookupError, UnicodeError) as error:
        problem = f"{type(error).__name__}: {error}"
    if problem is not None:
        raise Refused(f"550 5.6.0 Malformed message: {problem}")
    author = message["From"].addresses[0]
    return Received(
        message_id=str(message["Message-ID"]) if message["Message-ID"] else None,
        sender=author.addr_spec,
        subject=str(message.get("Subject", "")),
        text=text,
        sender_name=author.display_name,
        in_reply_to=next(iter(message_ids(message.get("In-Reply-To"))), None),
        references=message_ids(message.get("References")),
    )


def message_ids(header: object) -> tuple[str, ...]:
    """The `<id@host>` tokens of an In-Reply-To or References header, in order."""
    return tuple(MESSAGE_ID.findall(str(header))) if header else ()


def problem_with(message: EmailMessage) -> str | None:
    """Why `message` is not mail we can file, or None."""
    if message.defects:
        return type(message.defects[0]).__name__
    sender = message.get("From")
    if not sender or not sender.addresses or not ADDR_SPEC.match(sender.addresses[0].addr_spec):
        return "no valid From header"
    for part in message.walk():
        if part.defects:
            return type(part.defects[0]).__name__
    return None


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    return body.get_content() if body is not None else ""
