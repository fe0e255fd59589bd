"""Every error as RFC 9457 problem details, in the kernel's app and in every plugin's app."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)

log = logging.getLogger("mindframe.http")
PROBLEM_MEDIA_TYPE = "application/problem+json"

ErrorReporter = Callable[[BaseException, dict[str, Any]], None]


def problem_body(status: int, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }


def _from_http_exception(exc: HTTPException) -> ProblemDetailsException:
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationException) and exc.extra:
        extra["errors"] = exc.extra
    elif isinstance(exc.extra, dict):
        extra.update(exc.extra)
    elif exc.extra:
        extra["errors"] = exc.extra
    return ProblemDetailsException(
        status_code=exc.status_code,
        title=HTTPStatus(exc.status_code).phrase,
        detail=exc.detail,
        type_="about:blank",
        headers=exc.headers,
        extra=extra or None,
    )


def problem_details_plugin() -> ProblemDetailsPlugin:
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            enable_for_all_http_exceptions=True,
            exception_to_problem_detail_map={HTTPException: _from_http_exception},
        )
    )


def exception_handlers(report: ErrorReporter, plugin: str) -> dict[type, Callable]:
    """The handlers every app (the kernel's and each plugin's) uses besides the
    problem-details plugin: a 404 that says what was asked for, and a 500 that tells the
    client nothing private and the error trackers everything."""

    def not_found(request: Request, exc: NotFoundException) -> Response:
        detail = exc.detail
        if detail == HTTPStatus.NOT_FOUND.phrase:
            detail = f"nothing is served at {request.method} {request.url.path}"
        return Response(problem_body(404, detail), status_code=404, media_type=PROBLEM_MEDIA_TYPE)

    def unhandled(request: Request, exc: Exception) -> Response:
        log.exception(
            "plugin %s: unhandled error on %s %s", plugin, request.method, request.url.path
        )
        report(exc, {"plugin": plugin, "method": request.method, "path": request.url.path})
        return Response(
            problem_body(500, "The server hit an unexpected error; it has been recorded."),
            status_code=500,
            media_type=PROBLEM_MEDIA_TYPE,
        )

    return {NotFoundException: not_found, Exception: unhandled}
