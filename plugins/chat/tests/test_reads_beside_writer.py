"""Reads marked `read_only` take a snapshot beside SQLite's one writer instead of queueing
for its write lock: a visitor reading their messages is not held up by a slow write."""

from __future__ import annotations

import threading
import time

import anyio
import pytest
from sqlalchemy import update

from mindframe.sdk.chat import Author, ChatService

pytestmark = pytest.mark.anyio

PROMPT = 2.0
"""Seconds the read may take; queued behind the writer it takes until the writer ends (or
busy_timeout, 5 s, gives up on it)."""


async def test_reading_messages_does_not_wait_for_a_transaction_holding_the_write_lock(chat):
    from mindframe_plugins.chat.models import conversations

    kernel = chat.kernel
    server = kernel.runtime.container.resolve(ChatService)
    token = await chat.visitor_token()
    opened = await kernel.client.post("/api/chat/conversations", headers={"X-Visitor-Token": token})
    assert opened.status_code == 201, opened.text
    conversation = opened.json()
    await server.post_message(
        conversation["id"], "Hei", author=Author.visitor(conversation["visitor_id"])
    )
    holding, release = threading.Event(), threading.Event()

    def slow_write(session) -> None:
        session.execute(
            update(conversations)
            .where(conversations.c.id == conversation["id"])
            .values(subject="held")
        )
        holding.set()  # the write lock is ours (BEGIN IMMEDIATE) until we return
        release.wait(30)

    answered: list[float] = []

    async def read() -> None:
        started = time.monotonic()
        response = await kernel.client.get(
            f"/api/chat/conversations/{conversation['id']}/messages",
            headers={"X-Visitor-Token": token},
        )
        assert response.status_code == 200, response.text
        assert [m["text"] for m in response.json()] == ["Hei"]
        answered.append(time.monotonic() - started)

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(server.ctx.transaction, slow_write)
            assert await anyio.to_thread.run_sync(holding.wait, 10)
            tasks.start_soon(read)
            with anyio.move_on_after(PROMPT):
                while not answered:
                    await anyio.sleep(0.01)
            prompt = bool(answered)
            release.set()
    finally:
        release.set()
    assert prompt, f"the read waited for the writer: {answered}"
    assert answered[0] < PROMPT
