"""Serving one request of a lean endpoint (`ctx.endpoint`) straight from the dispatcher.

The kernel does what a plugin's Litestar app would have done around the handler: refuses
an unknown method (405 with `Allow`) and a body over the limit (413, by `Content-Length`
before reading and by counting while reading), waits out a reload that began while the body
arrived (the next version's handler then answers), sets the request for `ctx.gettext`, and
turns a `Problem` (or a Litestar `HTTPException`, as an authenticator raises) into RFC 9457
problem details and any other exception into a 500 that is logged and reported through
`capture_exception`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec
from litestar.exceptions import HTTPException

from .current_request import REQUEST_SCOPE
from .endpoint_messages import Problem, Request, Response
from .endpoint_routes import Endpoint, EndpointPath, EndpointRegistry
from .problems import PROBLEM_MEDIA_TYPE, problem_body

log = logging.getLogger("mindframe.http")
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
UNEXPECTED = "The server hit an unexpected error; it has been recorded."
_encode = msgspec.json.Encoder().encode


class _Disconnected(Exception):
    """The client went away before its body was read: there is no one to answer."""


async def serve_endpoint(
    scope: dict[str, Any],
    receive: Receive,
    send: Send,
    *,
    served: EndpointPath,
    path_params: dict[str, Any],
    registry: EndpointRegistry,
    holds: dict[str, Any],
    wait_for_hold: Callable[[str], Awaitable[bool]],
) -> None:
    method: str = scope["method"]
    endpoint = served.by_method.get(method)
    if endpoint is None:
        detail = f"{method} is not served at {scope['path']}; use {served.allow}"
        allow = [(b"allow", served.allow.encode())]
        await send_answer(send, problem_answer(Problem(405, detail)), allow)
        return
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    request = Request(scope, headers, path_params, b"")
    extra = _answer_headers(endpoint, request)
    try:
        request.body = await read_body(receive, headers.get("content-length"), endpoint.max_body)
    except Problem as problem:
        await send_answer(send, problem_answer(problem), extra)
        return
    except _Disconnected:
        return
    if served.plugin in holds:  # a reload began while the body arrived: wait for the next version
        endpoint = await _after_hold(served, method, path_params, scope, registry, wait_for_hold)
        if endpoint is None:
            detail = f"plugin '{served.plugin}' no longer serves {method} {scope['path']}"
            await send_answer(send, problem_answer(Problem(503, detail, plugin=served.plugin)))
            return
        extra = _answer_headers(endpoint, request)
    await send_answer(send, await answer(endpoint, request), extra)


def _answer_headers(endpoint: Endpoint, request: Request) -> list[tuple[bytes, bytes]] | None:
    """The endpoint's headers for every answer to `request` (CORS), encoded for ASGI."""
    if endpoint.answer_headers is None:
        return None
    return _encoded(endpoint.answer_headers(request))


async def answer(endpoint: Endpoint, request: Request) -> Response:
    """The handler's response, or the problem it raised, or a 500 for anything else."""
    token = REQUEST_SCOPE.set(request.scope)  # ctx.gettext answers in the request's locale
    try:
        response = await endpoint.handler(request)
        if not isinstance(response, Response):
            raise TypeError(f"an endpoint handler returns a Response, not {type(response)!r}")
        return response
    except Problem as problem:
        return problem_answer(problem)
    except HTTPException as error:  # from Litestar-based code: an authenticator's 401 or 403
        return problem_answer(from_http_exception(error))
    except Exception as error:
        log.exception(
            "plugin %s: unhandled error on %s %s", endpoint.plugin, request.method, request.path
        )
        endpoint.report(error, method=request.method, path=request.path)
        return problem_answer(Problem(500, UNEXPECTED))
    finally:
        REQUEST_SCOPE.reset(token)


async def read_body(receive: Receive, length: str | None, limit: int) -> bytes:
    """The whole body, refused with 413 once it is known to exceed `limit` bytes."""
    if length is not None and length.isdigit() and int(length) > limit:
        raise Problem(413, f"the body is {length} bytes; at most {limit} are accepted")
    message = await receive()
    if message["type"] == "http.disconnect":
        raise _Disconnected
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise Problem(413, f"the body is over {limit} bytes; at most {limit} are accepted")
        return body
    chunks, size = [body], len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Problem(413, f"the body is over {limit} bytes; at most {limit} are accepted")
        chunks.append(chunk)
    return b"".join(chunks)


async def _after_hold(
    served: EndpointPath,
    method: str,
    path_params: dict[str, Any],
    scope: dict[str, Any],
    registry: EndpointRegistry,
    wait_for_hold: Callable[[str], Awaitable[bool]],
) -> Endpoint | None:
    if not await wait_for_hold(served.plugin):
        return None
    found = registry.find(served.plugin, scope["path"])
    if found is None:
        return None
    path_params.update(found[1])
    return found[0].by_method.get(method)


def from_http_exception(error: HTTPException) -> Problem:
    extra = error.extra if isinstance(error.extra, dict) else {"errors": error.extra}
    return Problem(
        error.status_code, error.detail, headers=error.headers, **(extra if error.extra else {})
    )


def problem_answer(problem: Problem) -> Response:
    body = _encode(problem_body(problem.status, problem.detail, **problem.extra))
    return Response(
        body, status=problem.status, headers=problem.headers, media_type=PROBLEM_MEDIA_TYPE
    )


async def send_answer(
    send: Send, response: Response, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = _encoded(response.headers) if response.headers else []
    if response.status not in (204, 304):
        headers.append((b"content-length", str(len(response.body)).encode()))
        if response.media_type is not None:
            headers.append((b"content-type", response.media_type.encode()))
    if extra:
        headers += extra
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def _encoded(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
