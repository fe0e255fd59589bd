"""`Refusal`: what auth says when it will not do something, in the reader's language."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException

from mindframe.sdk import PluginContext
from mindframe.sdk.i18n import AS_WRITTEN, Localizer, request_localizer


class Refusal(ValueError):
    """Something auth will not do, and why: `message` is marked for translation and formatted
    with `params` (and `{when}`, the wait `retry_after` asks for) in the reader's locale;
    `str()` is the text as written, for the command line."""

    def __init__(
        self, message: str, status: int = 400, *, retry_after: int | None = None, **params: Any
    ) -> None:
        self.message, self.status, self.retry_after, self.params = (
            message,
            status,
            retry_after,
            params,
        )
        super().__init__(self.text(AS_WRITTEN))

    def text(self, l10n: Localizer) -> str:
        when = timedelta(seconds=self.retry_after or 0)
        return l10n.gettext(self.message).format(**self.params, when=l10n.format_relative(when))

    def http(self, connection: ASGIConnection, ctx: PluginContext) -> HTTPException:
        """The refusal as an HTTP error in the request's locale."""
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after else None
        detail = self.text(request_localizer(connection, ctx))
        kind = {401: NotAuthorizedException, 403: PermissionDeniedException}.get(self.status)
        if kind is not None:
            return kind(detail=detail, headers=headers)
        return HTTPException(status_code=self.status, detail=detail, headers=headers)
