"""Lean HTTP endpoints: a hot path the kernel serves itself, with no Litestar app in between.

Declare one with `ctx.endpoint(methods, path, handler, *, max_body=None, openapi=None,
answer_headers=None)` (in `register_routes` or `startup`); it serves `/api/<plugin><path>`
for as long as the version that declared it is loaded::

    async def take(request: Request) -> Response:
        if request.headers.get("x-token") != SECRET:
            raise Problem(401, "send the token in X-Token")
        run = await runs.start(request.path_params["agent_id"], request.body)
        return json_response({"id": run.id}, status=201)

    @hookimpl
    def register_routes(ctx):
        ctx.endpoint(["POST"], "/agents/{agent_id:int}/runs", take, max_body=1_000_000,
                     openapi={"post": {"summary": "Start a run"}})
        return [...]  # the plugin's Litestar routes, as before

Use one where a request is frequent and needs nothing Litestar adds: an SDK's intake, a
webhook, a run trigger. Routes that want injected services, typed bodies, guards or
per-route middleware stay Litestar routes (they are cheap enough for everything else).

`path` may hold `{name}` (a string) and `{name:int}` segments (a non-integer is then a 404);
a trailing slash is optional. The handler gets a `Request` (`method`, `path`,
`path_params`, `headers` with lower-case names, `query_string`, `query`, `body`, `client`
and the ASGI `scope`: `ASGIConnection(request.scope)` is what an authenticator takes) and
returns a `Response` (`json_response(value)` encodes with msgspec).

What the kernel still does:

- a method the path does not serve is a 405 with `Allow`; a body over `max_body` bytes
  (default 10 MB, as for Litestar routes) is a 413, by `Content-Length` before reading and
  by counting while reading a body sent without one;
- `raise Problem(status, detail, headers=..., **extra)` answers RFC 9457
  `application/problem+json`, and so does a Litestar `HTTPException` (what an
  authenticator's `authorize` raises: 401, 403); any other exception is a 500 problem
  that tells the client nothing private, logged and reported through `capture_exception`
  with the plugin, method and path (the server goes on serving);
- a reload holds requests as it holds the plugin's Litestar routes: they wait, then reach
  the new version's handler (a version that no longer declares the path: 404 from its
  routes); an unloaded or failed plugin's endpoints are gone with it;
- `answer_headers(request) -> dict` (optional) adds headers to every answer of the
  endpoint, the kernel's own 413s and 500s included: CORS for browsers, which must see
  every refusal (the request's `body` is still empty when it is called);
- `ctx.gettext` answers in the request's locale;
- the plugin's OpenAPI document lists the endpoint: `openapi` maps a method to its OpenAPI
  operation object (without it every method but OPTIONS and HEAD is listed with the
  handler's first docstring line as summary); the kernel adds the plugin's tag, the path's
  parameters and a default response.

What it does not do: no dependency injection, no CORS policy, no guards, no signed-in user: read
what you need from `headers` (or `scope`) yourself.
"""

from mindframe.kernel.http.endpoint_messages import Problem, Request, Response, json_response
from mindframe.kernel.http.endpoint_routes import (
    DEFAULT_MAX_BODY,
    AnswerHeaders,
    Endpoint,
    Handler,
)

__all__ = [
    "DEFAULT_MAX_BODY",
    "AnswerHeaders",
    "Endpoint",
    "Handler",
    "Problem",
    "Request",
    "Response",
    "json_response",
]
