"""`TypedJSONRequest`: a JSON body is read straight into the handler's struct, and a body
nested too deep to read is a 400 problem, never a 500."""

import pytest

pytestmark = pytest.mark.anyio

NOTES = """
from typing import Annotated

import msgspec
from litestar import post
from litestar.params import JSONBody

from mindframe.sdk import hookimpl
from mindframe.sdk.http import TypedJSONRequest


class Note(msgspec.Struct):
    title: Annotated[str, msgspec.Meta(max_length=10)]
    tags: list[Annotated[str, msgspec.Meta(max_length=3)]] = []


@hookimpl
def register_routes(ctx):
    @post("/notes", request_class=TypedJSONRequest)
    async def add(data: JSONBody[Note]) -> dict:
        return {"title": data.title, "tags": data.tags}

    @post("/anything", request_class=TypedJSONRequest)
    async def anything(data: JSONBody[dict]) -> dict:
        return {"keys": sorted(data)}

    return [add, anything]
"""
DEEP = "[" * 990 + "]" * 990


@pytest.fixture
async def kernel(boot_kernel, plugin_factory):
    plugin_factory.make("notes", NOTES)
    async with boot_kernel(["notes"]) as booted:
        yield booted


async def post_json(kernel, path, text):
    return await kernel.client.post(
        path, content=text, headers={"Content-Type": "application/json"}
    )


async def test_a_struct_body_is_read_with_its_constraints(kernel):
    made = await post_json(kernel, "/api/notes/notes", '{"title": "milk", "tags": ["buy"]}')
    assert (made.status_code, made.json()) == (201, {"title": "milk", "tags": ["buy"]})
    long_tag = await post_json(kernel, "/api/notes/notes", '{"title": "milk", "tags": ["shop"]}')
    assert long_tag.status_code == 400 and "$.tags[0]" in long_tag.json()["detail"]


async def test_a_deeply_nested_value_where_a_string_belongs_is_a_400_naming_the_field(kernel):
    refused = await post_json(kernel, "/api/notes/notes", '{"title": ' + DEEP + "}")
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["detail"] == "Expected `str`, got `array` - at `$.title`"


async def test_a_body_nested_too_deep_to_read_is_a_400_saying_so(kernel):
    for path, text in [
        ("/api/notes/anything", '{"a": ' + DEEP + "}"),
        ("/api/notes/notes", '{"title": "milk", "unknown": ' + DEEP + "}"),
    ]:
        refused = await post_json(kernel, path, text)
        assert refused.status_code == 400, path
        assert "nests arrays or objects too deeply" in refused.json()["detail"]
    fine = await post_json(kernel, "/api/notes/anything", '{"b": [[1]], "a": {}}')
    assert fine.json() == {"keys": ["a", "b"]}
