"""HTTP API for the bus, mounted by the kernel's Litestar app at ``/api/kernel/bus``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import msgspec
from litestar import Router, get, post
from litestar.exceptions import NotFoundException, ServiceUnavailableException
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Stream

from ..http.params import MAX_ROW_ID, Limit, Offset
from .bus import Bus
from .dead_letters import DeadLetter
from .errors import BusNotStarted, DeadLetterNotFound
from .events import Envelope, Event
from .topics import validate_pattern

_TAIL_BUFFER = 1000
LetterId = Annotated[int, Parameter(ge=1, le=MAX_ROW_ID, description="a dead letter's id")]


class TailLine(msgspec.Struct):
    """One line of ``GET /tail`` (JSON lines): the envelope and the event's fields."""

    envelope: Envelope
    event: dict[str, Any]
    dropped: int = 0  # events this client missed because it read too slowly


def bus_router(get_bus: Callable[[], Bus]) -> Router:
    """Routes over whatever bus ``get_bus`` returns at request time (it may be replaced)."""

    @get("/", sync_to_thread=False)
    def stats() -> dict[str, Any]:
        return get_bus().stats()

    @get("/dead-letters")
    async def list_dead_letters(
        limit: FromQuery[Limit] = 100,
        offset: FromQuery[Offset] = 0,
        include_redriven: FromQuery[bool] = False,
    ) -> list[DeadLetter]:
        return await get_bus().dead_letters.list(
            limit=limit, offset=offset, include_redriven=include_redriven
        )

    @get("/dead-letters/{letter_id:int}")
    async def get_dead_letter(letter_id: FromPath[LetterId]) -> DeadLetter:
        try:
            return await get_bus().dead_letters.get(letter_id)
        except DeadLetterNotFound as exc:
            raise NotFoundException(str(exc)) from exc

    @post("/dead-letters/{letter_id:int}/redrive", status_code=202)
    async def redrive(letter_id: FromPath[LetterId]) -> DeadLetter:
        try:
            return await get_bus().dead_letters.redrive(letter_id)
        except DeadLetterNotFound as exc:
            raise NotFoundException(str(exc)) from exc
        except BusNotStarted as exc:
            raise ServiceUnavailableException(str(exc)) from exc

    @get("/tail")
    async def tail(
        pattern: FromQuery[str] = ">",
        limit: FromQuery[Annotated[int | None, Parameter(ge=1, description="stop after")]] = None,
    ) -> Stream:
        """Stream matching events as JSON lines until the client goes away (or ``limit``)."""
        try:
            validate_pattern(pattern)
        except ValueError as exc:
            from litestar.exceptions import ValidationException

            raise ValidationException(str(exc)) from exc
        bus = get_bus()
        lines: asyncio.Queue[bytes] = asyncio.Queue(_TAIL_BUFFER)
        dropped = 0

        async def forward(event: Event, envelope: Envelope) -> None:
            # A slow HTTP client must never back-pressure publishers: drop and count.
            nonlocal dropped
            line = msgspec.json.encode(TailLine(envelope, msgspec.to_builtins(event), dropped))
            try:
                lines.put_nowait(line + b"\n")
                dropped = 0
            except asyncio.QueueFull:
                dropped += 1

        sub = bus.subscribe(
            pattern,
            forward,
            owner="kernel.bus.tail",
            name=f"tail:{pattern}:{id(lines)}",
            max_retries=0,
        )
        await sub.ready.wait()

        async def body() -> AsyncIterator[bytes]:
            try:
                sent = 0
                yield b""  # send headers now so clients see the stream has started
                while limit is None or sent < limit:
                    yield await lines.get()
                    sent += 1
            finally:
                await sub.cancel()

        return Stream(body(), media_type="application/x-ndjson")

    return Router(
        path="/api/kernel/bus",
        route_handlers=[stats, list_dead_letters, get_dead_letter, redrive, tail],
        tags=["bus"],
    )
