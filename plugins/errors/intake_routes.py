"""HTTP for the SDKs: `POST /api/errors/api/{project_id}/envelope/` and the legacy
`…/store/`, each answering CORS preflights, since browser SDKs post from other origins.

Every answer, refusals included, carries `Access-Control-Allow-Origin` and exposes the
rate-limit headers, or a browser SDK could neither post nor see that it must back off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import HttpMethod, Request, Response, route
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from mindframe.sdk.http import RowId
from mindframe.sdk.i18n import N_

from .dsn import public_key_of
from .intake import Intake
from .refusal import Refusal

TOO_LARGE = N_("the body is {size} bytes; at most {limit} are accepted")
EXPOSED = "x-sentry-error, x-sentry-rate-limits, retry-after"
ALLOWED_HEADERS = (
    "content-type, content-encoding, x-sentry-auth, authorization, sentry-trace, baggage"
)


def cors_headers(request: Request) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": request.headers.get("origin") or "*",
        "Access-Control-Expose-Headers": EXPOSED,
        "Vary": "Origin",
    }


def ascii_only(refusal: Refusal) -> str:
    """The refusal in English for the `X-Sentry-Error` header (headers are not Unicode)."""
    return str(refusal)[:200].encode("ascii", "replace").decode("ascii")


def preflight(request: Request) -> Response[None]:
    asked = request.headers.get("access-control-request-headers")
    return Response(
        None,
        status_code=204,
        headers={
            **cors_headers(request),
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": asked or ALLOWED_HEADERS,
            "Access-Control-Max-Age": "86400",
        },
    )


def intake_routes(intake: Intake, max_body: int, gettext: Callable[[str], str]) -> list[Any]:
    """The two intake routes, posting to `intake` (bodies up to `max_body` bytes)."""

    async def receive(request: Request, project_id: int, legacy_event: bool) -> Response[Any]:
        if request.method == "OPTIONS":
            return preflight(request)
        headers = cors_headers(request)
        try:
            length = request.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > max_body:
                raise Refusal(413, TOO_LARGE, size=int(length), limit=max_body)
            try:
                body = await request.body()
            except HTTPException as error:  # over max_body without a Content-Length
                if error.status_code == 413:
                    raise Refusal(413, TOO_LARGE, size=f"> {max_body}", limit=max_body) from None
                raise
            project = await intake.authenticate(
                project_id, public_key_of(request.headers, request.query_params)
            )
            accepted = await intake.accept(
                project,
                body,
                request.headers.get("content-encoding"),
                legacy_event=legacy_event,
            )
        except Refusal as refusal:
            detail = refusal.detail(gettext)
            raise HTTPException(
                status_code=refusal.status,
                detail=detail,
                headers={**headers, **refusal.headers, "X-Sentry-Error": ascii_only(refusal)},
                extra=refusal.where or None,
            ) from None
        return Response({"id": accepted.event_id}, status_code=200, headers=headers)

    @route(
        "/api/{project_id:int}/envelope/",
        http_method=[HttpMethod.POST, HttpMethod.OPTIONS],
        status_code=200,
        request_max_body_size=max_body,
        summary="Take an envelope from a Sentry SDK; committed before it answers",
    )
    async def take_envelope(request: Request, project_id: FromPath[RowId]) -> Response[Any]:
        return await receive(request, project_id, legacy_event=False)

    @route(
        "/api/{project_id:int}/store/",
        http_method=[HttpMethod.POST, HttpMethod.OPTIONS],
        status_code=200,
        request_max_body_size=max_body,
        summary="Take one event from an older Sentry SDK (the legacy store endpoint)",
    )
    async def take_event(request: Request, project_id: FromPath[RowId]) -> Response[Any]:
        return await receive(request, project_id, legacy_event=True)

    return [take_envelope, take_event]
