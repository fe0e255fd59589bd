"""Lean endpoints (`ctx.endpoint`): HTTP the kernel serves itself, straight from the dispatcher,
with the limits, problems, reload holds, unloading and OpenAPI a plugin's Litestar routes get."""

import sys
import types
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

pytestmark = pytest.mark.anyio
TIMEOUT = 10

LEAN = """
from litestar import get

from mindframe.sdk import hookimpl
from mindframe.sdk.endpoints import Problem, Response, json_response

VERSION = "{version}"


async def item(request):
    if request.path_params["item_id"] == 0:
        raise Problem(409, "item 0 is taken", headers={{"X-Why": "zero"}}, item=0)
    return json_response({{
        "version": VERSION,
        "method": request.method,
        "params": request.path_params,
        "q": request.query.get("q"),
        "header": request.headers.get("x-test"),
        "body": request.body.decode(),
    }})


async def echo(request):
    return Response(request.body, media_type="text/plain", headers={{"X-Version": VERSION}})


def origin(request):
    return {{"X-Origin": request.headers.get("origin", "-")}}


async def boom(request):
    raise RuntimeError("an endpoint bug")


@hookimpl
def capture_exception(error, context):
    import endpoint_test_gate
    endpoint_test_gate.reported.append((str(error), context))


@get("/plain")
async def plain() -> dict:
    return {{"version": VERSION}}


@hookimpl
def register_routes(ctx):
    return [plain]  # a Litestar route beside the endpoints


@hookimpl
async def startup(ctx):
    {startup}
"""
DECLARE = """ctx.endpoint(
        ["GET", "POST"],
        "/items/{item_id:int}/{name}",
        item,
        openapi={"get": {"summary": "One item", "responses": {"200": {"description": "it"}}}},
    )
    ctx.endpoint("POST", "/echo", echo, max_body=100, answer_headers=origin)
    ctx.endpoint(["GET"], "/boom", boom)"""


def lean(version: str, startup: str = DECLARE) -> str:
    return LEAN.format(version=version, startup=startup)


@pytest.fixture
def gate():
    """Events and records the plugin's code reaches by module name, whatever its version."""
    module = types.ModuleType("endpoint_test_gate")
    module.starting, module.proceed = anyio.Event(), anyio.Event()
    module.reported = []
    sys.modules["endpoint_test_gate"] = module
    yield module
    del sys.modules["endpoint_test_gate"]


@pytest.fixture
async def kernel(boot_kernel, plugin_factory, gate):
    folder = plugin_factory.make("lean", lean("1"))
    async with boot_kernel(["lean"], builtin=False) as kernel:
        kernel.folder = folder
        yield kernel


async def reload(kernel) -> dict:
    response = await kernel.client.post("/api/kernel/plugins/lean/reload")
    assert response.status_code == 200, response.text
    return response.json()


async def test_path_parameters_are_converted_and_a_non_integer_is_not_found(kernel):
    response = await kernel.client.post(
        "/api/lean/items/7/seven?q=x", content=b"hello", headers={"X-Test": "yes"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "version": "1",
        "method": "POST",
        "params": {"item_id": 7, "name": "seven"},
        "q": "x",
        "header": "yes",
        "body": "hello",
    }
    with_slash = await kernel.client.get("/api/lean/items/8/eight/")
    assert with_slash.json()["params"] == {"item_id": 8, "name": "eight"}
    assert (await kernel.client.get("/api/lean/items/seven/seven")).status_code == 404
    assert (await kernel.client.get("/api/lean/items/7")).status_code == 404
    echoed = await kernel.client.post("/api/lean/echo/", content=b"x")
    assert (echoed.status_code, echoed.text, echoed.headers["x-version"]) == (200, "x", "1")
    assert (await kernel.client.get("/api/lean/plain")).json() == {"version": "1"}


async def test_a_body_over_the_limit_is_413_by_its_length_before_it_is_read(kernel):
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/lean/echo",
        "raw_path": b"/api/lean/echo",
        "query_string": b"",
        "headers": [(b"content-length", b"101")],
        "client": ("127.0.0.1", 1),
        "server": ("mindframe.test", 80),
        "scheme": "http",
        "http_version": "1.1",
        "root_path": "",
    }

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read although its length is over the limit")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await kernel.runtime.asgi(scope, receive, send)
    assert sent[0]["status"] == 413
    assert (b"content-type", b"application/problem+json") in sent[0]["headers"]
    assert (b"x-origin", b"-") in sent[0]["headers"]  # the endpoint's headers for every answer
    assert b"at most 100" in sent[1]["body"]


async def test_a_body_sent_without_a_length_is_counted_while_read(kernel):
    async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    origin = {"Origin": "http://shop.example"}
    too_big = await kernel.client.post(
        "/api/lean/echo", content=chunks(b"a" * 60, b"b" * 60), headers=origin
    )
    assert "content-length" not in too_big.request.headers
    assert too_big.status_code == 413, too_big.text
    assert too_big.json()["status"] == 413
    assert too_big.headers["x-origin"] == "http://shop.example"
    fits = await kernel.client.post(
        "/api/lean/echo", content=chunks(b"a" * 50, b"b" * 50), headers=origin
    )
    assert (fits.status_code, fits.text) == (200, "a" * 50 + "b" * 50)
    assert fits.headers["x-origin"] == "http://shop.example"


async def test_a_problem_is_answered_as_problem_details_with_its_status_headers_and_extra(kernel):
    response = await kernel.client.get("/api/lean/items/0/zero")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-why"] == "zero"
    assert response.json() == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "item 0 is taken",
        "item": 0,
    }


async def test_an_unexpected_error_is_a_reported_500_and_the_next_request_is_served(kernel, gate):
    response = await kernel.client.get("/api/lean/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "an endpoint bug" not in response.text
    [(error, context)] = gate.reported
    assert error == "an endpoint bug"
    assert context == {"plugin": "lean", "method": "GET", "path": "/api/lean/boom"}
    assert (await kernel.client.get("/api/lean/items/1/one")).status_code == 200


async def test_a_method_the_path_does_not_serve_is_405_with_allow(kernel):
    response = await kernel.client.delete("/api/lean/items/1/one")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json()["status"] == 405


async def test_a_request_held_by_a_reload_reaches_the_new_versions_handler(kernel, gate):
    slow_start = (
        "import endpoint_test_gate\n    endpoint_test_gate.starting.set()\n"
        "    await endpoint_test_gate.proceed.wait()\n    " + DECLARE
    )
    answers: list[Any] = []

    async def get() -> None:
        answers.append(await kernel.client.get("/api/lean/items/2/two"))

    (kernel.folder / "__init__.py").write_text(lean("2", slow_start))
    async with anyio.create_task_group() as group:
        group.start_soon(reload, kernel)
        with anyio.fail_after(TIMEOUT):
            await gate.starting.wait()  # the old version is stopped, the new one starting
        group.start_soon(get)
        group.start_soon(get)
        hold = kernel.runtime.dispatcher.holds["lean"]
        with anyio.fail_after(TIMEOUT):
            while hold.statistics().tasks_waiting < 2:  # both requests wait on the hold
                await anyio.sleep(0.01)
        gate.proceed.set()
    assert [(a.status_code, a.json()["version"]) for a in answers] == [(200, "2"), (200, "2")]


async def test_a_request_whose_body_was_arriving_when_a_reload_began_reaches_the_new_version(
    kernel, gate
):
    slow_start = (
        "import endpoint_test_gate\n    endpoint_test_gate.starting.set()\n"
        "    await endpoint_test_gate.proceed.wait()\n    " + DECLARE
    )
    answers: list[Any] = []

    async def body() -> AsyncIterator[bytes]:
        yield b"first "
        await gate.starting.wait()  # matched by the old version; the rest comes mid-reload
        gate.proceed.set()
        yield b"second"

    async def post() -> None:
        answers.append(await kernel.client.post("/api/lean/items/3/three", content=body()))

    (kernel.folder / "__init__.py").write_text(lean("2", slow_start))
    async with anyio.create_task_group() as group:
        group.start_soon(post)
        await anyio.sleep(0.05)
        group.start_soon(reload, kernel)
    [answer] = answers
    assert answer.status_code == 200, answer.text
    assert (answer.json()["version"], answer.json()["body"]) == ("2", "first second")


async def test_unloading_or_not_declaring_removes_the_endpoint(kernel):
    (kernel.folder / "__init__.py").write_text(lean("2", 'ctx.endpoint("GET", "/other", echo)'))
    assert (await reload(kernel))["ok"] is True
    assert (await kernel.client.get("/api/lean/items/1/one")).status_code == 404
    assert (await kernel.client.get("/api/lean/other")).status_code == 200
    response = await kernel.client.post("/api/kernel/plugins/lean/disable")
    assert response.status_code == 200, response.text
    assert (await kernel.client.get("/api/lean/other")).status_code == 503
    assert kernel.runtime.dispatcher.endpoints.paths == {}


async def test_the_openapi_document_lists_the_endpoints(kernel):
    schema = (await kernel.client.get("/schema/openapi.json")).json()
    item = schema["paths"]["/api/lean/items/{item_id}/{name}"]
    assert set(item) == {"get"}  # POST was left out of the `openapi` the plugin gave
    assert item["get"]["summary"] == "One item"
    assert item["get"]["tags"] == ["lean"]
    parameters = {p["name"]: p["schema"]["type"] for p in item["get"]["parameters"]}
    assert parameters == {"item_id": "integer", "name": "string"}
    assert set(schema["paths"]["/api/lean/echo"]) == {"post"}
    assert "lean" in [tag["name"] for tag in schema["tags"]]
    (kernel.folder / "__init__.py").write_text(lean("2", 'ctx.endpoint("GET", "/other", echo)'))
    assert (await reload(kernel))["ok"] is True
    paths = (await kernel.client.get("/schema/openapi.json")).json()["paths"]
    assert "/api/lean/other" in paths and "/api/lean/echo" not in paths


SIGNED_IN = """
from litestar.connection import ASGIConnection

from mindframe.sdk import hookimpl
from mindframe.sdk.auth import authenticator_of, current_identity, declare_permissions
from mindframe.sdk.endpoints import json_response


async def whoami(request):
    connection = ASGIConnection(request.scope)
    await authenticator_of(connection).authorize(connection, "lean.read")
    return json_response({"username": (await current_identity(connection)).username})


@hookimpl
def register_services(ctx):
    declare_permissions(ctx, {"lean.read": "Read"})


@hookimpl
def register_routes(ctx):
    ctx.endpoint("GET", "/whoami", whoami)
    return []
"""


async def test_a_handler_authenticates_through_the_runtimes_authenticator(
    boot_kernel, plugin_factory
):
    plugin_factory.make("lean", SIGNED_IN, requires=["auth"])
    async with boot_kernel(["lean"]) as kernel:
        reader = await kernel.as_user(["lean.read"], username="reader")
        answer = await reader.get("/api/lean/whoami")
        assert (answer.status_code, answer.json()) == (200, {"username": "reader"})
        stranger = await kernel.as_user([])
        refused = await stranger.get("/api/lean/whoami")
        assert refused.status_code == 403, refused.text  # the authenticator's, as a problem
        assert refused.headers["content-type"] == "application/problem+json"
        anonymous = await kernel.client.get("/api/lean/whoami")
        assert anonymous.status_code == 401


ONLY_ENDPOINTS = """
from mindframe.sdk import hookimpl
from mindframe.sdk.endpoints import json_response

VERSION = "{version}"


async def ping(request):
    return json_response({{"version": VERSION}})


@hookimpl
async def startup(ctx):
    ctx.endpoint("GET", "/ping", ping)
"""


async def test_a_plugin_with_only_endpoints_answers_404_not_503_for_other_paths_after_reload(
    boot_kernel, plugin_factory
):
    """Nothing of it is unavailable once the new version is active (its Litestar app, had it
    one, would have cleared the reason the reload left)."""
    folder = plugin_factory.make("bare", ONLY_ENDPOINTS.format(version="1"))
    async with boot_kernel(["bare"], builtin=False) as kernel:
        assert (await kernel.client.get("/api/bare/nothing")).status_code == 404
        (folder / "__init__.py").write_text(ONLY_ENDPOINTS.format(version="2"))
        response = await kernel.client.post("/api/kernel/plugins/bare/reload")
        assert response.status_code == 200, response.text
        assert (await kernel.client.get("/api/bare/ping")).json() == {"version": "2"}
        other = await kernel.client.get("/api/bare/nothing")
        assert other.status_code == 404, other.text
