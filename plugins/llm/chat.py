"""`ChatCompletions`: a `LanguageModel` speaking the OpenAI-compatible chat-completions API
(`POST {base_url}/chat/completions`)."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from mindframe.sdk.llm import LanguageModel, LanguageModelError, Message

from .settings import LlmSettings


class ChatCompletions(LanguageModel):
    def __init__(self, settings: LlmSettings) -> None:
        self.settings = settings
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self.http = httpx.AsyncClient(
            base_url=settings.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=settings.timeout,
        )
        self.completions = 0
        self.failures = 0

    async def complete(self, messages: Sequence[Message], *, max_tokens: int | None = None) -> str:
        body = {
            "model": self.settings.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens or self.settings.max_tokens,
        }
        try:
            response = await self.http.post("chat/completions", json=body)
            response.raise_for_status()
            text = response.json()["choices"][0]["message"]["content"]
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as error:
            self.failures += 1
            raise LanguageModelError(
                f"no completion from {self.settings.base_url}: {error}"
            ) from None
        if not isinstance(text, str) or not text.strip():
            self.failures += 1
            raise LanguageModelError(f"{self.settings.base_url} answered without text")
        self.completions += 1
        return text.strip()

    async def close(self) -> None:
        await self.http.aclose()
