"""Live chat: the contract the chat plugin fulfils, and the seam for ranking canned replies.

A plugin (support, an agent, a bridge for another channel) puts `chat` in its manifest's
`requires` and asks for the `ChatService` (`ctx.resolve(ChatService)`, or a handler
parameter named `chat_service`)::

    chat = ctx.resolve(ChatService)
    conversation = await chat.open_conversation(
        "email", contact=Contact(email="ada@example.org", name="Ada"), external_ref=thread_id
    )
    await chat.post_message(conversation.id, "Hei!", author=Author.agent(user_id))
    await chat.assign(conversation.id, user_id, by=None)

Every message is stored before a call returns, gets the next sequence number of its
conversation (1, 2, 3 … with no gaps) and is delivered to everyone connected to it. The bus
hears about it as the events below; subscribe to them rather than polling::

    ctx.subscribe(MessageCreated.topic, on_message)  # "chat.message.created"

`MessageCreated` and `AgentPresenceChanged` are not written to the bus's durable log; the
`chat.conversation.*` events are. The chat tables are the record of messages: a subscriber
that must not miss one (the server was killed before it handled the event, or it was
disabled or reloading when the message came) keeps the last `seq` it handled per
conversation, and when it starts finds the conversations that moved on with
`ChatService.last_seqs(ids)` and reads what it missed with
`ChatService.messages(conversation_id, after=seq)`. The support plugin does so for every
ticket not closed (its `catch_up` job), handling each message once by its seq.

`ResponseRanker` orders canned responses for a conversation. The default, `MostUsed`, puts
the most used first; the support plugin uses whichever `ResponseRanker` service is
provided, so a learning engine can replace it without either plugin importing the other.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal

from mindframe.kernel.bus import Event

AuthorKind = Literal["visitor", "agent", "system"]
"""Who wrote a message: the person the conversation is with (a website visitor, or the
contact of an external channel such as e-mail), an agent (a signed-in user), or the system."""

ConversationStatus = Literal["open", "closed"]
PresenceStatus = Literal["online", "away", "offline"]
Channel = str
"""Where a conversation happens: "web" for the widget, "email", or another channel's name."""


class ChatError(ValueError):
    """A request the chat plugin refused; `status` is the HTTP status to answer with."""

    status = 400


class ConversationNotFound(ChatError):
    """No conversation has that id (or the caller may not see it)."""

    status = 404


# --- what is stored -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote a message. `id` is a visitor id for a visitor, a user id for an agent, and
    None for the system."""

    kind: AuthorKind
    id: str | None = None
    name: str | None = None

    @classmethod
    def agent(cls, user_id: str, name: str | None = None) -> Author:
        return cls("agent", user_id, name)

    @classmethod
    def visitor(cls, visitor_id: str, name: str | None = None) -> Author:
        return cls("visitor", visitor_id, name)

    @classmethod
    def system(cls) -> Author:
        return cls("system")


@dataclass(frozen=True, slots=True)
class Contact:
    """The person a conversation of an external channel is with, as that channel knows them
    (an e-mail address and a display name); the chat plugin keeps them as a visitor."""

    email: str | None = None
    name: str | None = None
    locale: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file uploaded to a conversation; `url` downloads it (for the conversation's
    participants only)."""

    id: str
    filename: str
    content_type: str
    size: int
    url: str


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One stored message. `seq` is its place in the conversation (1, 2, 3 …, no gaps);
    `client_id` is the id the sender gave it, so sending it again stores nothing new."""

    id: str
    conversation_id: str
    seq: int
    author: Author
    text: str
    created_at: datetime
    client_id: str | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation between one visitor (or contact) and the agents. `last_seq` is the
    sequence number of its newest message (0 when it has none)."""

    id: str
    channel: Channel
    status: ConversationStatus
    visitor_id: str
    assignee_id: str | None
    subject: str | None
    locale: str | None
    created_at: datetime
    last_seq: int = 0
    last_message_at: datetime | None = None
    closed_at: datetime | None = None
    external_ref: str | None = None


@dataclass(frozen=True, slots=True)
class AgentPresence:
    """Whether an agent is online (connected and active), away (connected but idle, or said
    so) or offline (no heartbeat within the timeout), and since when."""

    agent_id: str
    status: PresenceStatus
    since: datetime
    name: str | None = None


# --- the bus events ----------------------------------------------------------------------


class MessageCreated(Event):
    """A message was stored (and so is already visible to `ChatService.messages`)."""

    topic: ClassVar[str] = "chat.message.created"

    conversation_id: str
    message_id: str
    seq: int
    channel: Channel
    author_kind: AuthorKind
    author_id: str | None
    text: str
    created_at: datetime
    author_name: str | None = None
    client_id: str | None = None
    attachments: tuple[Attachment, ...] = ()


class ConversationCreated(Event):
    """A conversation was opened, by a visitor in the widget or for an external channel."""

    topic: ClassVar[str] = "chat.conversation.created"
    durable: ClassVar[bool] = True

    conversation_id: str
    channel: Channel
    visitor_id: str
    subject: str | None = None
    locale: str | None = None
    external_ref: str | None = None


class ConversationClosed(Event):
    """A conversation was closed; `closed_by` is the agent's user id (None: the system or
    the visitor)."""

    topic: ClassVar[str] = "chat.conversation.closed"
    durable: ClassVar[bool] = True

    conversation_id: str
    closed_by: str | None = None


class ConversationAssigned(Event):
    """A conversation's assignee changed; `agent_id` None means it was unassigned."""

    topic: ClassVar[str] = "chat.conversation.assigned"
    durable: ClassVar[bool] = True

    conversation_id: str
    agent_id: str | None
    previous_agent_id: str | None = None
    assigned_by: str | None = None


class AgentPresenceChanged(Event):
    """An agent went online, away or offline (a dropped agent: after the heartbeat timeout)."""

    topic: ClassVar[str] = "chat.agent.presence"

    agent_id: str
    status: PresenceStatus
    previous: PresenceStatus


# --- the service -------------------------------------------------------------------------


class ChatService(ABC):
    """The service the chat plugin provides (handlers: a parameter named `chat_service`)."""

    @abstractmethod
    async def open_conversation(
        self,
        channel: Channel,
        *,
        contact: Contact,
        subject: str | None = None,
        external_ref: str | None = None,
    ) -> Conversation:
        """Open a conversation for an external channel (e-mail, …) with `contact`, stored
        before it returns. With `external_ref` (a mail thread's first Message-ID) the call
        is idempotent: the open conversation already carrying it is returned instead."""

    @abstractmethod
    async def conversation(self, conversation_id: str) -> Conversation | None:
        """The conversation, or None when there is none."""

    @abstractmethod
    async def conversations(
        self,
        *,
        status: ConversationStatus | None = None,
        assignee_id: str | None = None,
        channel: Channel | None = None,
        limit: int = 50,
    ) -> list[Conversation]:
        """Conversations, the most recently active first, filtered as asked."""

    @abstractmethod
    async def messages(
        self, conversation_id: str, *, after: int = 0, limit: int = 100
    ) -> list[ChatMessage]:
        """The conversation's messages with `seq` greater than `after`, oldest first.
        Raises `ConversationNotFound`."""

    @abstractmethod
    async def last_seqs(self, conversation_ids: Sequence[str]) -> dict[str, int]:
        """The `last_seq` of each of `conversation_ids` that exists (0: no message yet), in
        one read: how a subscriber back from an absence finds the conversations with
        messages it has not handled, without reading each one."""

    @abstractmethod
    async def post_message(
        self,
        conversation_id: str,
        text: str,
        *,
        author: Author,
        client_id: str | None = None,
    ) -> ChatMessage:
        """Store `text` in the conversation, then deliver it to everyone connected and
        publish `MessageCreated`. With a `client_id` the author already used, the stored
        message is returned and nothing new is stored. Raises `ChatError` for an empty or
        too long text or a closed conversation, `ConversationNotFound`."""

    @abstractmethod
    async def assign(
        self, conversation_id: str, agent_id: str | None, *, by: str | None = None
    ) -> Conversation:
        """Make `agent_id` (a user id; None: nobody) the conversation's assignee, and
        publish `ConversationAssigned` if it changed. `by` is the user doing it."""

    @abstractmethod
    async def close(self, conversation_id: str, *, by: str | None = None) -> Conversation:
        """Close the conversation (no new messages) and publish `ConversationClosed`."""

    @abstractmethod
    async def agents_present(self) -> list[AgentPresence]:
        """Every agent who is online or away, the longest-present first."""


# --- ranking canned responses -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CannedResponse:
    """A prepared answer an agent can insert: `shortcut` is what they type to find it
    (`/refund`), `uses` how often it was sent."""

    id: str
    shortcut: str
    text: str
    locale: str | None = None
    uses: int = 0


class ResponseRanker(ABC):
    """Orders canned responses for a conversation, the best suggestion first."""

    @abstractmethod
    async def rank(
        self,
        conversation: Conversation,
        recent: Sequence[ChatMessage],
        candidates: Sequence[CannedResponse],
    ) -> list[CannedResponse]:
        """`candidates` reordered (and possibly cut) for `conversation`, given its `recent`
        messages, oldest first."""

    async def chosen(self, conversation: Conversation, response: CannedResponse) -> None:
        """Hear that an agent sent `response` in `conversation`: a ranker that learns takes
        it as its reward. The default ignores it."""
        return None


class MostUsed(ResponseRanker):
    """The default ranker: the most used first; those in the conversation's language before
    the others; then by shortcut, so the order is stable."""

    async def rank(
        self,
        conversation: Conversation,
        recent: Sequence[ChatMessage],
        candidates: Sequence[CannedResponse],
    ) -> list[CannedResponse]:
        language = (conversation.locale or "").split("_")[0]

        def key(response: CannedResponse) -> tuple[bool, int, str]:
            other_language = bool(
                language and response.locale and response.locale.split("_")[0] != language
            )
            return (other_language, -response.uses, response.shortcut)

        return sorted(candidates, key=key)


__all__ = [
    "AgentPresence",
    "AgentPresenceChanged",
    "Attachment",
    "Author",
    "AuthorKind",
    "CannedResponse",
    "Channel",
    "ChatError",
    "ChatMessage",
    "ChatService",
    "Contact",
    "Conversation",
    "ConversationAssigned",
    "ConversationClosed",
    "ConversationCreated",
    "ConversationNotFound",
    "ConversationStatus",
    "MessageCreated",
    "MostUsed",
    "PresenceStatus",
    "ResponseRanker",
]
