"""A refused call as an RFC 9457 problem, its detail in the request's locale."""

from __future__ import annotations

from litestar.exceptions import HTTPException

from mindframe.sdk import PluginContext
from mindframe.sdk.learning import LearningError


def problem(ctx: PluginContext, error: LearningError) -> HTTPException:
    return HTTPException(
        status_code=error.status,
        detail=error.detail(ctx.gettext),
        extra={key: value for key, value in error.params.items() if key != "error"},
    )
