"""Language models: the contract the `llm` plugin fulfils, for agents that phrase their
output as prose.

Nothing depends on a model being there: `Run.phrase` returns None without one, and an agent
keeps its own plain wording. A plugin asks for the `LanguageModel` service
(`ctx.registration("language_model")`, or a handler parameter named `language_model`)::

    text = await model.complete([Message("system", "Be brief."), Message("user", "Hi")])
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message: who says it and what."""

    role: Literal["system", "user", "assistant"]
    content: str


class LanguageModelError(RuntimeError):
    """The model could not answer (unreachable, refused, or an answer without text)."""


class LanguageModel(ABC):
    """A chat-completions model."""

    @abstractmethod
    async def complete(self, messages: Sequence[Message], *, max_tokens: int | None = None) -> str:
        """The model's reply to `messages`; raises `LanguageModelError` when there is none."""

    async def phrase(self, instructions: str, facts: Any, *, locale: str) -> str:
        """`facts` (plain data) written as prose following `instructions`, in `locale`'s
        language."""
        import json

        system = (
            f"{instructions}\nWrite in the language of the locale {locale}. Use only the "
            "facts given; do not add advice of your own."
        )
        content = json.dumps(facts, ensure_ascii=False, default=str)
        return await self.complete([Message("system", system), Message("user", content)])


__all__ = ["LanguageModel", "LanguageModelError", "Message"]
