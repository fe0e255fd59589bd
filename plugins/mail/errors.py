"""Why a message was refused before it was queued; each carries the HTTP status to answer.

All are `mindframe.sdk.mail.MailError`, which is what other plugins catch."""

from mindframe.sdk.mail import AttachmentTooLarge, MailError

__all__ = [
    "AttachmentTooLarge",
    "InvalidAddress",
    "MailError",
    "MissingTemplateVariable",
    "UnknownTemplate",
    "UnsafeCharacter",
]


class InvalidAddress(MailError):
    pass


class UnsafeCharacter(MailError):
    """A character the message could not carry there: a line break or other control
    character in a header (CR or LF would even let the caller add headers), or a lone
    surrogate anywhere."""


class UnknownTemplate(MailError):
    status = 422


class MissingTemplateVariable(MailError):
    status = 422
