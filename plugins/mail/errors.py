"""Why a message was refused before it was queued; each carries the HTTP status to answer.

All are `mindframe.sdk.mail.MailError`, which is what other plugins catch."""

from mindframe.sdk.mail import MailError

__all__ = [
    "HeaderInjection",
    "InvalidAddress",
    "MailError",
    "MissingTemplateVariable",
    "UnknownTemplate",
]


class InvalidAddress(MailError):
    pass


class HeaderInjection(MailError):
    pass


class UnknownTemplate(MailError):
    status = 422


class MissingTemplateVariable(MailError):
    status = 422
