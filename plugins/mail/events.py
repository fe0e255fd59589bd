"""What the plugin tells the runtime (`mail.queued`, `mail.sent`, `mail.failed`,
`mail.received`) and what it listens for (`mail.send`: any plugin asking for mail)."""

from typing import Any, ClassVar

from mindframe.sdk import Event
from mindframe.sdk.mail import MailReceived

__all__ = ["MailFailed", "MailQueued", "MailReceived", "MailSent", "SendMail"]


class MailQueued(Event):
    topic: ClassVar[str] = "mail.queued"

    id: str
    message_id: str
    to: list[str]
    subject: str


class MailSent(Event):
    topic: ClassVar[str] = "mail.sent"

    id: str
    message_id: str
    to: list[str]
    reply: str
    attempts: int


class MailFailed(Event):
    topic: ClassVar[str] = "mail.failed"

    id: str
    message_id: str
    to: list[str]
    reply: str
    attempts: int


class SendMail(Event):
    """Ask for mail by event: either `subject` with `text`/`html`, or a `template`."""

    topic: ClassVar[str] = "mail.send"

    to: list[str]
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    template: str | None = None
    context: dict[str, Any] = {}
    locale: str | None = None
    priority: str = "normal"
    user_id: str | None = None
