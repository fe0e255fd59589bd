"""Why a message was refused before it was queued; each carries the HTTP status to answer."""


class MailError(ValueError):
    """Bad input: nothing is queued. `status` is the HTTP status the API answers with."""

    status = 400


class InvalidAddress(MailError):
    pass


class HeaderInjection(MailError):
    pass


class UnknownTemplate(MailError):
    status = 422


class MissingTemplateVariable(MailError):
    status = 422
