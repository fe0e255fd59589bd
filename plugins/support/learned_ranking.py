"""A `ResponseRanker` backed by the learning engine (`mindframe.sdk.learning`), used when a
learning plugin runs: it learns which built-in response agents send in which situation
(the conversation's language and channel, and whether an agent has answered yet) and puts
that one first; the rest keep the default order.

Each ranking is a decision of the policy `support-canned-responses` (linear Thompson
sampling over the built-in responses). When the agent sends a canned response, the
decision is rewarded 1 if they sent the one it put first and 0 if not; the one they sent
instead is logged as a decision of its own (among that one response, so its propensity is
1) rewarded 1, so the policy learns from every choice, not only from its own guesses.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence

from mindframe.sdk.chat import CannedResponse, ChatMessage, Conversation, ResponseRanker
from mindframe.sdk.learning import Decision, LearningEngine, LearningError, PolicyExists

from .canned import BUILTINS

log = logging.getLogger("mindframe.plugins.support")
POLICY = "support-canned-responses"
KIND = "lin_thompson"
ACTIONS = [builtin.id for builtin in BUILTINS]
OPEN_DECISIONS = 10_000
"""Rankings remembered until their conversation's agent sends a response (oldest dropped)."""


def situation(
    conversation: Conversation, recent: Sequence[ChatMessage], language: str | None
) -> dict[str, object]:
    """What the policy decides in: words only (a linear learner takes them one-hot).
    `language` is the one the responses are offered in (the conversation's, unless the
    agent asked for another)."""
    return {
        "language": (language or conversation.locale or "unknown").split("_")[0],
        "channel": conversation.channel,
        "answered": any(m.author.kind == "agent" for m in recent),
    }


def allowed_locale(candidates: Sequence[CannedResponse]) -> str | None:
    """The language the built-in candidates are in."""
    return next((c.locale for c in candidates if c.id in ACTIONS), None)


class LearnedRanker(ResponseRanker):
    def __init__(self, engine: LearningEngine, fallback: ResponseRanker) -> None:
        self.engine = engine
        self._fallback = fallback
        self._ready = False
        self._open: OrderedDict[str, tuple[Decision, dict[str, object]]] = OrderedDict()

    async def _policy(self) -> bool:
        """Whether the policy is there (made on first use); False if the engine refuses."""
        if self._ready:
            return True
        try:
            await self.engine.create_policy(POLICY, KIND, ACTIONS)
        except PolicyExists:
            if (await self.engine.info(POLICY)).actions != ACTIONS:
                log.warning("support: policy %s has other actions; ranking by use", POLICY)
                return False
        except LearningError as error:
            log.warning("support: no learned ranking: %s", error)
            return False
        self._ready = True
        return True

    async def rank(
        self,
        conversation: Conversation,
        recent: Sequence[ChatMessage],
        candidates: Sequence[CannedResponse],
    ) -> list[CannedResponse]:
        ordered = await self._fallback.rank(conversation, recent, candidates)
        allowed = [c.id for c in ordered if c.id in ACTIONS]
        if not allowed or not await self._policy():
            return ordered
        context = situation(conversation, recent, allowed_locale(ordered))
        decision = await self.engine.decide(
            POLICY, context, allowed, subject=conversation.visitor_id
        )
        self._open[conversation.id] = (decision, context)
        while len(self._open) > OPEN_DECISIONS:
            self._open.popitem(last=False)
        return sorted(ordered, key=lambda c: c.id != decision.action)

    async def chosen(self, conversation: Conversation, response: CannedResponse) -> None:
        opened = self._open.pop(conversation.id, None)
        if opened is None:
            return
        decision, context = opened
        try:
            await self.engine.reward(decision.id, float(response.id == decision.action))
            if response.id != decision.action and response.id in ACTIONS:
                sent = await self.engine.decide(
                    POLICY, context, [response.id], subject=conversation.visitor_id
                )
                await self.engine.reward(sent.id, 1.0)
        except LearningError as error:  # too late, or rewarded already: nothing to learn
            log.info("support: reward for %s not counted: %s", decision.id, error)
