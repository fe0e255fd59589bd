"""Helpers of the support tests: booting support with chat, visitors talking over the chat
plugin's HTTP routes, agents signed in through the auth plugin and present through a real
WebSocket on a loopback port, and waiting on conditions with a bound."""

from __future__ import annotations

import json
import smtplib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, TypeVar

import anyio
import httpx
import websockets

T = TypeVar("T")
AGENT = ["support.agent", "chat.agent"]
MANAGER = ["support.manage", "support.agent", "chat.agent"]


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 5.0) -> T:
    """The first truthy answer of `check`, asked again until `timeout` seconds pass."""
    with anyio.fail_after(timeout):
        while True:
            answer = await check()
            if answer:
                return answer
            await anyio.sleep(0.02)


@dataclass
class Visitor:
    token: str
    visitor_id: str
    client: httpx.AsyncClient

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Visitor-Token": self.token}

    async def start(self, text: str) -> str:
        """Open a conversation and write its first message; the conversation's id."""
        opened = await self.client.post("/api/chat/conversations", headers=self.headers)
        assert opened.status_code == 201, opened.text
        conversation_id = opened.json()["id"]
        await self.say(conversation_id, text)
        return conversation_id

    async def say(self, conversation_id: str, text: str) -> dict[str, Any]:
        sent = await self.client.post(
            f"/api/chat/conversations/{conversation_id}/messages",
            json={"text": text},
            headers=self.headers,
        )
        assert sent.status_code == 201, sent.text
        return sent.json()

    async def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        found = await self.client.get(
            f"/api/chat/conversations/{conversation_id}/messages", headers=self.headers
        )
        return found.json()


async def visitor(kernel: Any, name: str | None = None, locale: str | None = None) -> Visitor:
    made = await kernel.client.post("/api/chat/visitors", json={"name": name, "locale": locale})
    assert made.status_code == 201, made.text
    return Visitor(made.json()["token"], made.json()["visitor_id"], kernel.client)


async def ticket_of(kernel: Any, agent: httpx.AsyncClient, conversation_id: str) -> dict[str, Any]:
    """The ticket of the conversation, once the support plugin has opened it."""

    async def find() -> dict[str, Any] | None:
        tickets = (await agent.get("/api/support/tickets", params={"limit": 500})).json()
        return next((t for t in tickets if t["conversation_id"] == conversation_id), None)

    return await eventually(find)


async def user_id(client: httpx.AsyncClient) -> str:
    """The signed-in user's id."""
    return (await client.get("/api/auth/me")).json()["id"]


@dataclass
class AgentSocket:
    """An agent's chat socket: present (online) while it is open."""

    socket: Any
    frames: list[dict[str, Any]]

    async def send(self, frame: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(frame))

    async def next(self, wanted: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict:
        """The first frame (seen or coming) that `wanted` accepts; consumed."""
        with anyio.fail_after(timeout):
            while True:
                for index, frame in enumerate(self.frames):
                    if wanted(frame):
                        return self.frames.pop(index)
                self.frames.append(json.loads(await self.socket.recv()))


@asynccontextmanager
async def agent_socket(base_url: str, agent: httpx.AsyncClient) -> AsyncIterator[AgentSocket]:
    """The agent's chat socket on the served runtime, signed in with their session cookie."""
    cookies = "; ".join(f"{name}={value}" for name, value in agent.cookies.items())
    url = base_url.replace("http://", "ws://") + "/api/chat/ws"
    async with websockets.connect(url, additional_headers={"Cookie": cookies}) as socket:
        connected = AgentSocket(socket, [])
        await connected.next(lambda f: f.get("type") == "welcome")
        yield connected


def over_http(base_url: str, signed_in: httpx.AsyncClient) -> httpx.AsyncClient:
    """A client of the served runtime (real HTTP on loopback) as `signed_in`'s user: their
    session cookie and CSRF header."""
    cookies = "; ".join(f"{name}={value}" for name, value in signed_in.cookies.items())
    headers = {"Cookie": cookies, "X-CSRF-Token": signed_in.headers["X-CSRF-Token"]}
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10)


async def open_tickets(kernel: Any, agent: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    """`count` visitors each open a conversation; their tickets, in that order."""
    found = []
    for number in range(count):
        conversation_id = await (await visitor(kernel, f"Visitor {number}")).start("Help")
        found.append(await ticket_of(kernel, agent, conversation_id))
    return found


async def job_rounds(kernel: Any, name: str, rounds: int) -> None:
    """Wait until the support job `name` ("assignment" or "sla") has finished `rounds` more
    runs, waking it so that takes milliseconds."""
    from mindframe_plugins.support.service import SupportService

    service = kernel.runtime.container.resolve(SupportService)
    job = service.assignment_job if name == "assignment" else service.sla_job
    target = job.runs + rounds

    async def done() -> bool:
        job.wake()
        return job.runs >= target

    await eventually(done)


def events(kernel: Any, topic: str) -> list[Any]:
    """Every event on `topic` the kernel's bus probe heard so far."""
    return [event for envelope, event in kernel.bus_probe.seen if envelope.topic == topic]


async def send_mail(
    port: int,
    *,
    message_id: str,
    text: str,
    subject: str = "Order 42 has not arrived",
    to: str = "support@mindframe.test",
    in_reply_to: str | None = None,
    references: list[str] = (),
) -> None:
    """Send like a customer's mail program: smtplib to the inbound listener."""
    mail = EmailMessage()
    mail["From"] = "Kari Nordmann <kari@customer.test>"
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = message_id
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = " ".join(references)
    mail.set_content(text)

    def deliver() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            client.send_message(mail)

    await anyio.to_thread.run_sync(deliver)


async def email_tickets(agent) -> list[dict]:
    return (await agent.get("/api/support/tickets", params={"channel": "email"})).json()


async def one_more_ticket(agent, before: int) -> dict:
    """The e-mail ticket after the first `before`, once its mail is in its conversation
    (filed completely, as an agent would first read it)."""

    async def arrived() -> dict | None:
        found = sorted(await email_tickets(agent), key=lambda t: t["id"])
        if len(found) <= before or not await conversation_texts(agent, found[-1]):
            return None
        return found[-1]

    return await eventually(arrived)


async def conversation_texts(agent, ticket: dict) -> list[str]:
    found = await agent.get(f"/api/chat/conversations/{ticket['conversation_id']}/messages")
    return [message["text"].strip() for message in found.json()]
