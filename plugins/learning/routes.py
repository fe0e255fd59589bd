"""HTTP under `/api/learning/`: policies, decisions and rewards, versions and candidates,
and A/B experiments. A refused call is a problem detail in the caller's language.
Every route needs a signed-in user (a session, or an API token whose scopes reach the
permission) holding the permission `access.py` names for it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any, TypeVar

import msgspec
from litestar import get, post
from litestar.params import FromPath, FromQuery, JSONBody

from mindframe.sdk import PluginContext
from mindframe.sdk.http import Limit, TypedJSONRequest
from mindframe.sdk.learning import LearningError

from . import experiments
from . import messages as m
from .access import MANAGE, READ, USE
from .engine import Engine
from .problems import problem

T = TypeVar("T")


class DecideBody(msgspec.Struct, forbid_unknown_fields=True):
    context: dict[str, Any] | None = None
    actions: list[str] | None = None
    agent: str | None = None
    subject: str | None = None


class RewardBody(msgspec.Struct, forbid_unknown_fields=True):
    reward: float
    done: bool = False


class RollbackBody(msgspec.Struct, forbid_unknown_fields=True):
    version: int


class UnitBody(msgspec.Struct, forbid_unknown_fields=True):
    unit: str
    context: dict[str, Any] | None = None


def build(ctx: PluginContext, engine: Engine) -> list[Any]:
    async def refusing(call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except LearningError as error:
            raise problem(ctx, error) from None

    def split(body: dict[str, Any], *fields: str) -> tuple[list[Any], dict[str, Any]]:
        if not isinstance(body, dict) or any(f not in body for f in fields):
            raise problem(ctx, LearningError(m.BAD_BODY, fields=", ".join(fields)))
        return [body[f] for f in fields], {k: v for k, v in body.items() if k not in fields}

    @post("/policies", status_code=201, guards=[MANAGE], summary="Create a policy")
    async def create_policy(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        (name, kind, actions), options = split(data, "name", "kind", "actions")
        if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
            raise problem(ctx, LearningError(m.BAD_ACTIONS))
        info = await refusing(
            lambda: engine.create_policy(str(name), str(kind), actions, **options)
        )
        return asdict(info)

    @get("/policies", guards=[READ], summary="Every policy: kind, version and counts")
    async def list_policies() -> list[dict[str, Any]]:
        return [
            {
                "name": live.name,
                "kind": live.kind,
                "version": live.version,
                "decisions": live.decisions,
                "rewards": live.rewards,
                "mean_reward": live.reward_sum / live.rewards if live.rewards else None,
            }
            for live in engine.live.values()
        ]

    @get(
        "/policies/{name:str}",
        guards=[READ],
        summary="A policy: kind, version, counts and reward curves",
    )
    async def show_policy(name: FromPath[str], points: FromQuery[Limit] = 20) -> dict[str, Any]:
        return asdict(await refusing(lambda: engine.info(name, max(1, min(points, 500)))))

    @post(
        "/policies/{name:str}/decide",
        status_code=200,
        guards=[USE],
        request_class=TypedJSONRequest,
        summary="Choose an action; logged durably before the answer",
    )
    async def decide(name: FromPath[str], data: JSONBody[DecideBody]) -> dict[str, Any]:
        decision = await refusing(
            lambda: engine.decide(
                name,
                data.context,
                data.actions,
                agent=data.agent,
                subject=data.subject,
                durable=True,
            )
        )
        return {
            "decision_id": decision.id,
            "action": decision.action,
            "propensity": decision.propensity,
            "version": decision.version,
        }

    @post(
        "/decisions/{decision_id:str}/reward",
        status_code=200,
        guards=[USE],
        request_class=TypedJSONRequest,
        summary="Reward a decision; counted once, committed before the answer",
    )
    async def reward(decision_id: FromPath[str], data: JSONBody[RewardBody]) -> dict[str, Any]:
        receipt = await refusing(lambda: engine.reward(decision_id, data.reward, done=data.done))
        return asdict(receipt)

    @get("/policies/{name:str}/versions", guards=[READ], summary="Every kept version of a policy")
    async def list_versions(name: FromPath[str]) -> list[dict[str, Any]]:
        rows = await refusing(lambda: engine.versions(name))
        live = engine.get(name).version
        return [
            {
                "version": row.version,
                "kind": row.kind,
                "options": row.options,
                "live": row.version == live,
                "reason": row.reason,
                "created_at": row.created_at,
                "evaluation": row.evaluation,
            }
            for row in rows
        ]

    @post(
        "/policies/{name:str}/rollback",
        status_code=200,
        guards=[MANAGE],
        summary="Make a kept version live",
    )
    async def rollback(name: FromPath[str], data: JSONBody[RollbackBody]) -> dict[str, Any]:
        version = await refusing(lambda: engine.rollback(name, data.version))
        return {"name": name, "version": version}

    @post(
        "/policies/{name:str}/evaluate",
        status_code=200,
        guards=[READ],
        summary="Off-policy estimates of a candidate on the logged decisions",
    )
    async def evaluate(name: FromPath[str], data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        (kind,), options = split(data, "kind")
        from . import candidates  # numpy and the learners: imported at the first evaluation

        evaluation, _ = await refusing(
            lambda: candidates.evaluate(engine, name, str(kind), options)
        )
        return evaluation

    @post(
        "/policies/{name:str}/candidates",
        status_code=200,
        guards=[MANAGE],
        summary="Promote a candidate if it beats the live version with confidence",
    )
    async def propose(name: FromPath[str], data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        (kind,), options = split(data, "kind")
        from . import candidates

        return await refusing(lambda: candidates.propose(engine, name, str(kind), options))

    @post(
        "/experiments",
        status_code=201,
        guards=[MANAGE],
        summary="Start an A/B split between policies",
    )
    async def create_experiment(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        experiment = await refusing(lambda: experiments.create(engine, data))
        return asdict(experiment)

    @post(
        "/experiments/{name:str}/decide",
        status_code=200,
        guards=[USE],
        request_class=TypedJSONRequest,
        summary="Decide for a unit with its arm's policy",
    )
    async def decide_in_experiment(name: FromPath[str], data: JSONBody[UnitBody]) -> dict[str, Any]:
        async def call() -> tuple[str, Any]:
            experiment = await experiments.load(engine, name)
            return await experiments.decide(engine, experiment, data.unit, data.context, True)

        arm, decision = await refusing(call)
        return {
            "arm": arm,
            "decision_id": decision.id,
            "action": decision.action,
            "propensity": decision.propensity,
        }

    @get(
        "/experiments/{name:str}",
        guards=[READ],
        summary="An experiment's arms, tests and verdict",
    )
    async def show_experiment(name: FromPath[str]) -> dict[str, Any]:
        async def call() -> dict[str, Any]:
            return await experiments.results(engine, await experiments.load(engine, name))

        return await refusing(call)

    return [
        create_policy,
        list_policies,
        show_policy,
        decide,
        reward,
        list_versions,
        rollback,
        evaluate,
        propose,
        create_experiment,
        decide_in_experiment,
        show_experiment,
    ]
