"""Why a request was refused: an HTTP status, a message to translate, where it went wrong.

Raised deep down (reading a body, an envelope) and turned into an RFC 9457 problem by the
route, which translates `template` into the request's locale and fills in `params`;
`where` becomes extra members of the problem (`item`, `part`, …) for programs to read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Refusal(Exception):
    def __init__(
        self,
        status: int,
        template: str,
        *,
        where: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(template.format(**params))
        self.status = status
        self.template = template
        self.params = params
        self.where = where or {}
        self.headers = headers or {}

    def detail(self, gettext: Callable[[str], str]) -> str:
        return gettext(self.template).format(**self.params)
