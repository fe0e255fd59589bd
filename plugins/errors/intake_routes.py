"""HTTP for the SDKs: `POST /api/errors/api/{project_id}/envelope/` and the legacy
`…/store/`, each answering CORS preflights, since browser SDKs post from other origins.

Both are lean endpoints (`ctx.endpoint`): the kernel serves them without the plugin's
Litestar app, whose per-request cost was most of an envelope's. Every answer, the kernel's
413 included, carries `Access-Control-Allow-Origin` and exposes the rate-limit headers, or a
browser SDK could neither post nor see that it must back off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mindframe.sdk import PluginContext
from mindframe.sdk.endpoints import Problem, Request, Response, json_response
from mindframe.sdk.http import MAX_ROW_ID

from .dsn import public_key_of
from .intake import NO_PROJECT, Intake
from .refusal import Refusal

EXPOSED = "x-sentry-error, x-sentry-rate-limits, retry-after"
ALLOWED_HEADERS = (
    "content-type, content-encoding, x-sentry-auth, authorization, sentry-trace, baggage"
)
METHODS = ["POST", "OPTIONS"]
NOT_DESCRIBED = {"description": "refused: problem details, with X-Sentry-Error"}


def cors_headers(request: Request) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": request.headers.get("origin") or "*",
        "Access-Control-Expose-Headers": EXPOSED,
        "Vary": "Origin",
    }


def ascii_only(refusal: Refusal) -> str:
    """The refusal in English for the `X-Sentry-Error` header (headers are not Unicode)."""
    return str(refusal)[:200].encode("ascii", "replace").decode("ascii")


def preflight(request: Request) -> Response:
    asked = request.headers.get("access-control-request-headers")
    return Response(
        status=204,
        headers={
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": asked or ALLOWED_HEADERS,
            "Access-Control-Max-Age": "86400",
        },
    )


def declare_intake(ctx: PluginContext, intake: Intake, max_body: int) -> None:
    """Serve the two intake endpoints, posting to `intake` (bodies up to `max_body` bytes)."""
    gettext = ctx.gettext

    def receiver(legacy_event: bool) -> Callable[[Request], Awaitable[Response]]:
        async def receive(request: Request) -> Response:
            if request.method == "OPTIONS":
                return preflight(request)
            project_id: int = request.path_params["project_id"]
            try:
                if not 0 < project_id <= MAX_ROW_ID:
                    raise Refusal(404, NO_PROJECT, project_id=project_id)
                query = request.query if request.query_string else {}  # parsed only if sent
                project = await intake.authenticate(
                    project_id, public_key_of(request.headers, query)
                )
                accepted = await intake.accept(
                    project,
                    request.body,
                    request.headers.get("content-encoding"),
                    legacy_event=legacy_event,
                )
            except Refusal as refusal:
                headers = {**refusal.headers, "X-Sentry-Error": ascii_only(refusal)}
                raise Problem(
                    refusal.status, refusal.detail(gettext), headers=headers, **refusal.where
                ) from None
            return json_response({"id": accepted.event_id})

        return receive

    for path, legacy_event, summary in (
        ("/api/{project_id:int}/envelope/", False, "Take an envelope from a Sentry SDK"),
        ("/api/{project_id:int}/store/", True, "Take one event from an older Sentry SDK"),
    ):
        described = {
            "summary": f"{summary}; durable before it answers",
            "description": "The body is what the SDK sends (application/x-sentry-envelope).",
            "responses": {
                "200": {"description": "accepted: the event id"},
                "4XX": NOT_DESCRIBED,
            },
        }
        ctx.endpoint(
            METHODS,
            path,
            receiver(legacy_event),
            max_body=max_body,
            openapi={"post": described},
            answer_headers=cors_headers,
        )
