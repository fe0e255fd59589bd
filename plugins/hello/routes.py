"""HTTP: `/api/hello/greetings`."""

from __future__ import annotations

import msgspec
from litestar import get, post
from litestar.di import NamedDependency
from litestar.exceptions import ClientException
from litestar.params import FromPath, JSONBody

from .service import GreetingService


class GreetingRequest(msgspec.Struct):
    name: str


class Greeting(msgspec.Struct):
    text: str
    count: int


@post("/greetings", status_code=201, summary="Greet someone and remember it")
async def create_greeting(
    data: JSONBody[GreetingRequest], greeting_service: NamedDependency[GreetingService]
) -> Greeting:
    try:
        text = await greeting_service.greet(data.name)
    except ValueError as error:
        raise ClientException(str(error)) from None
    return Greeting(text=text, count=await greeting_service.count(data.name))


@get("/greetings/{name:str}", summary="How often someone was greeted")
async def show_greeting(
    name: FromPath[str], greeting_service: NamedDependency[GreetingService]
) -> Greeting:
    return Greeting(text=greeting_service.compose(name), count=await greeting_service.count(name))


@get("/names", summary="Everyone greeted so far")
async def list_names(greeting_service: NamedDependency[GreetingService]) -> list[str]:
    return await greeting_service.names()
