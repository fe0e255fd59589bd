"""llm: an OpenAI-compatible chat-completions model as the `LanguageModel` service, when a
base URL is configured; nothing otherwise, and nothing depends on it."""

from __future__ import annotations

from typing import Any

from mindframe.sdk import PluginContext, hookimpl
from mindframe.sdk.llm import LanguageModel

from .chat import ChatCompletions
from .settings import LlmSettings


@hookimpl
def settings_model() -> type[LlmSettings]:
    return LlmSettings


@hookimpl
def register_services(ctx: PluginContext) -> None:
    settings: LlmSettings = ctx.settings
    if not settings.base_url:
        ctx.log.info("no [llm] base_url: agents keep their own wording")
        return
    model = ChatCompletions(settings)
    ctx.provide(LanguageModel, model)
    ctx.on_unload(model.close, "chat-completions client")


@hookimpl
def health(ctx: PluginContext) -> dict[str, Any]:
    registration = ctx.registration("language_model")
    if registration is None or registration.owner != ctx.name:
        return {"ok": True, "configured": False}
    model: ChatCompletions = registration.get()
    return {
        "ok": True,
        "configured": True,
        "model": model.settings.model,
        "completions": model.completions,
        "failures": model.failures,
    }
