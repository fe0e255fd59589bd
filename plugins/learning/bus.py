"""The bus side: decisions on request (`learning.decide`), rewards as events
(`learning.reward`, from the bus's durable log, so a published reward is never lost)."""

from __future__ import annotations

from typing import Any

from mindframe.sdk import PluginContext
from mindframe.sdk.learning import DecideRequest, LearningError, RewardDelivered

from .engine import Engine


def subscribe(ctx: PluginContext, engine: Engine) -> None:
    async def decide(request: DecideRequest) -> dict[str, Any]:
        try:
            decision = await engine.decide(
                request.policy, request.context, request.actions, agent=request.agent
            )
        except LearningError as error:
            return {"error": error.detail(ctx.gettext), "status": error.status}
        return {
            "decision_id": decision.id,
            "action": decision.action,
            "propensity": decision.propensity,
        }

    async def reward(event: RewardDelivered) -> dict[str, Any]:
        """Counts it (once); a refusal is answered, not retried: it would be refused again."""
        try:
            receipt = await engine.reward(event.decision_id, event.reward, done=event.done)
        except LearningError as error:
            ctx.log.warning("reward for %s refused: %s", event.decision_id, error)
            return {"error": error.detail(ctx.gettext), "status": error.status}
        return {"decision_id": receipt.decision_id, "counted": receipt.counted}

    ctx.subscribe(DecideRequest.topic, decide, concurrency=8, queue_size=10_000)
    ctx.subscribe(RewardDelivered.topic, reward, durable=True, queue_size=10_000)
