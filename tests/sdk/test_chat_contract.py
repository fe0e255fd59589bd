"""The chat contract (`mindframe.sdk.chat`) that support and the learning engine build on."""

from datetime import UTC, datetime

import msgspec
import pytest

from mindframe.kernel.bus import event_type
from mindframe.sdk.chat import (
    AgentPresenceChanged,
    Attachment,
    CannedResponse,
    Conversation,
    ConversationAssigned,
    ConversationClosed,
    ConversationCreated,
    MessageCreated,
    MostUsed,
)

pytestmark = pytest.mark.anyio


def test_the_chat_events_have_their_fixed_topics():
    topics = {
        MessageCreated: "chat.message.created",
        ConversationCreated: "chat.conversation.created",
        ConversationClosed: "chat.conversation.closed",
        ConversationAssigned: "chat.conversation.assigned",
        AgentPresenceChanged: "chat.agent.presence",
    }
    for cls, topic in topics.items():
        assert cls.topic == topic
        assert event_type(topic) is cls
    created = MessageCreated(
        conversation_id="c",
        message_id="m",
        seq=1,
        channel="web",
        author_kind="visitor",
        author_id="v",
        text="hi",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        attachments=(Attachment("a", "cv.pdf", "application/pdf", 10, "/api/chat/attachments/a"),),
    )
    assert msgspec.json.decode(msgspec.json.encode(created), type=MessageCreated) == created


def conversation(locale: str | None) -> Conversation:
    return Conversation(
        id="c",
        channel="web",
        status="open",
        visitor_id="v",
        assignee_id=None,
        subject=None,
        locale=locale,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


async def test_most_used_ranks_by_uses_then_the_conversations_language_first():
    rare = CannedResponse("1", "/hi", "Hello", "en_GB", uses=1)
    common = CannedResponse("2", "/bye", "Bye", "en_US", uses=9)
    norwegian = CannedResponse("3", "/hei", "Hei", "nb", uses=2)
    unlabelled = CannedResponse("4", "/ok", "OK", None, uses=5)
    ranked = await MostUsed().rank(conversation("nb"), [], [rare, common, norwegian, unlabelled])
    assert [r.id for r in ranked] == ["4", "3", "2", "1"]
    ranked = await MostUsed().rank(conversation(None), [], [rare, common, norwegian, unlabelled])
    assert [r.id for r in ranked] == ["2", "4", "3", "1"]
