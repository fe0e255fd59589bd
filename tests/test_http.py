"""HTTP: plugin routes under /api/<plugin>/, services injected by Litestar, problem details
for every error, one merged OpenAPI document."""

import pytest

pytestmark = pytest.mark.anyio

PROVIDER = """
from mindframe.sdk import PluginContext, hookimpl

class Clock:
    def now(self) -> str:
        return "12:00"

@hookimpl
def register_services(ctx: PluginContext) -> None:
    ctx.provide(Clock, Clock())
    ctx.provide(Clock, lambda: Clock(), name="fresh_clock", lifetime="request")
"""

CONSUMER = """
from typing import Any
from litestar import get
from litestar.di import NamedDependency
from mindframe_plugins.provider import Clock
from mindframe.sdk import PluginContext, hookimpl

@get("/time")
async def time(clock: NamedDependency[Clock], fresh_clock: NamedDependency[Clock]) -> dict:
    return {"now": clock.now(), "same": clock is fresh_clock}

@get("/boom")
async def boom() -> None:
    raise KeyError("secret internals")

@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    assert ctx.resolve(Clock).now() == "12:00"
    return [time, boom]
"""

TRACKER = """
from mindframe.sdk import hookimpl

caught = []

@hookimpl
def capture_exception(error, context):
    caught.append((repr(error), dict(context)))
"""


async def test_handler_gets_another_plugins_service_by_parameter_name(boot_kernel, plugin_factory):
    plugin_factory.make("provider", PROVIDER)
    plugin_factory.make("consumer", CONSUMER, requires=["provider"])
    async with boot_kernel(["consumer"], builtin=False) as kernel:
        response = await kernel.client.get("/api/consumer/time")
        assert response.status_code == 200
        assert response.json() == {"now": "12:00", "same": False}


async def test_unhandled_error_is_a_500_problem_and_reaches_capture_exception(
    boot_kernel, plugin_factory
):
    plugin_factory.make("provider", PROVIDER)
    plugin_factory.make("consumer", CONSUMER, requires=["provider"])
    plugin_factory.make("tracker", TRACKER)
    async with boot_kernel(["consumer", "tracker"], builtin=False) as kernel:
        response = await kernel.client.get("/api/consumer/boom")
        assert response.status_code == 500
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["status"] == 500 and body["title"] == "Internal Server Error"
        assert "secret internals" not in response.text
        caught = kernel.runtime.plugin("tracker").code.module.caught
        assert caught == [
            (
                "KeyError('secret internals')",
                {"plugin": "consumer", "method": "GET", "path": "/api/consumer/boom"},
            )
        ]


async def test_validation_error_is_a_400_problem_listing_the_field(kernel_with_hello):
    response = await kernel_with_hello.client.post("/api/hello/greetings", json={"nam": "Ada"})
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "Bad Request"
    assert body["errors"][0]["key"] == "data"
    assert "name" in body["errors"][0]["message"]


async def test_unknown_path_is_a_404_problem(kernel_with_hello):
    response = await kernel_with_hello.client.get("/api/nobody/here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "nothing is served at GET /api/nobody/here"
    inside = await kernel_with_hello.client.get("/api/hello/nothing-here")
    assert inside.json()["detail"] == "nothing is served at GET /api/hello/nothing-here"


async def test_merged_openapi_has_kernel_and_plugin_paths_tagged(kernel_with_hello):
    response = await kernel_with_hello.client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert {"/health", "/api/kernel/plugins", "/api/hello/greetings"} <= set(schema["paths"])
    assert schema["paths"]["/api/hello/greetings"]["post"]["tags"] == ["hello"]
    assert "GreetingRequest" in schema["components"]["schemas"]
    assert "hello" in {tag["name"] for tag in schema["tags"]}


async def test_openapi_follows_plugins_being_disabled(kernel_with_hello):
    client = kernel_with_hello.client
    assert "/api/hello/names" in (await client.get("/schema/openapi.json")).json()["paths"]
    await client.post("/api/kernel/plugins/hello/disable")
    assert "/api/hello/names" not in (await client.get("/schema/openapi.json")).json()["paths"]


async def test_docs_page_is_served_under_schema(kernel_with_hello):
    response = await kernel_with_hello.client.get("/schema")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/api/hello/greetings" in response.text  # the merged document, embedded


async def test_health_aggregates_each_plugins_health_hook(boot_kernel, plugin_factory):
    plugin_factory.make(
        "sick",
        "from mindframe.sdk import hookimpl\n\n@hookimpl\ndef health(ctx):\n"
        "    return {'ok': False, 'queue': 'stuck'}\n",
    )
    plugin_factory.make(
        "crashy",
        "from mindframe.sdk import hookimpl\n\n@hookimpl\nasync def health(ctx):\n"
        "    raise ConnectionError('smtp down')\n",
    )
    plugin_factory.make(
        "fine",
        "from mindframe.sdk import hookimpl\n\n@hookimpl\ndef health(ctx):\n    return True\n",
    )
    async with boot_kernel(None, builtin=False) as kernel:
        body = (await kernel.client.get("/health")).json()
    assert body["status"] == "degraded"
    assert sorted(body["failing"]) == ["crashy", "sick"]
    assert body["plugins"]["sick"] == {"state": "active", "ok": False, "queue": "stuck"}
    assert body["plugins"]["crashy"]["error"] == "ConnectionError: smtp down"
    assert body["plugins"]["fine"] == {"state": "active", "ok": True}


@pytest.fixture
async def kernel_with_hello(boot_kernel):
    async with boot_kernel(["hello"]) as kernel:
        yield kernel


FORMS = """
from typing import Annotated, Any
from litestar import post
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody
from mindframe.sdk import hookimpl

@post("/form")
async def form(data: Annotated[dict, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> dict:
    return data

@post("/json")
async def json_body(data: JSONBody[dict]) -> dict:
    return data

@hookimpl
def register_routes(ctx) -> list[Any]:
    return [form, json_body]
"""


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_json_route_refuses_a_body_not_sent_as_json(kernel_with_hello, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = await kernel_with_hello.client.post(
        "/api/hello/greetings", content=b'{"name": "Ada"}', headers=headers
    )
    assert response.status_code == 415, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail = response.json()["detail"]
    assert "POST /api/hello/greetings takes a JSON body" in detail
    assert "application/json" in detail


async def test_json_route_takes_json_and_structured_json_media_types(boot_kernel, plugin_factory):
    plugin_factory.make("forms", FORMS)
    async with boot_kernel(["forms"], builtin=False) as kernel:
        for media_type in (
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
        ):
            response = await kernel.client.post(
                "/api/forms/json", content=b'{"a": 1}', headers={"Content-Type": media_type}
            )
            assert (response.status_code, response.json()) == (201, {"a": 1}), media_type


async def test_form_route_is_not_held_to_json(boot_kernel, plugin_factory):
    plugin_factory.make("forms", FORMS)
    async with boot_kernel(["forms"], builtin=False) as kernel:
        response = await kernel.client.post("/api/forms/form", data={"a": "1"})
        assert (response.status_code, response.json()) == (201, {"a": "1"})


async def test_login_refuses_credentials_sent_as_text_plain(boot_kernel):
    async with boot_kernel(["auth"]) as kernel:
        response = await kernel.client.post(
            "/api/auth/login",
            content=b'{"username": "root", "password": "correct horse battery"}',
            headers={"Content-Type": "text/plain"},
        )
        assert response.status_code == 415


async def test_a_body_nested_too_deep_is_a_400_on_any_json_route(boot_kernel, plugin_factory):
    plugin_factory.make("forms", FORMS)
    async with boot_kernel(["forms"], builtin=False) as kernel:
        body = b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}"
        response = await kernel.client.post(
            "/api/forms/json", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert "too deeply" in response.json()["detail"]
