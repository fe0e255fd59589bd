"""Who may do what over HTTP: nobody signed in gets 401; deciding and rewarding need
`learning.use`, reading `learning.read`, creating, promoting and rolling back
`learning.manage` (403 without); an API token reaches only what its scopes name. And the
`learning.reward` event: once for each reward counted, never for a redelivery."""

from __future__ import annotations

import pytest

from mindframe.sdk.auth import Authenticator
from mindframe.sdk.learning import LearningEngine

pytestmark = pytest.mark.anyio


async def routes(kernel) -> dict[str, tuple[str, str, dict | None]]:
    """One route of each permission, with a body it would accept."""
    engine = kernel.runtime.container.resolve(LearningEngine)
    await engine.create_policy("p", "ucb1", ["a", "b"])
    decision = await engine.decide("p")
    return {
        "decide": ("POST", "/api/learning/policies/p/decide", {}),
        "reward": ("POST", f"/api/learning/decisions/{decision.id}/reward", {"reward": 1.0}),
        "list": ("GET", "/api/learning/policies", None),
        "show": ("GET", "/api/learning/policies/p", None),
        "versions": ("GET", "/api/learning/policies/p/versions", None),
        "create": (
            "POST",
            "/api/learning/policies",
            {"name": "q", "kind": "ucb1", "actions": ["a"]},
        ),
        "rollback": ("POST", "/api/learning/policies/p/rollback", {"version": 1}),
        "candidates": ("POST", "/api/learning/policies/p/candidates", {"kind": "ucb1"}),
        "experiment": (
            "POST",
            "/api/learning/experiments",
            {"name": "e", "arms": {"a": "p", "b": "p"}},
        ),
    }


NEEDS = {
    "decide": "learning.use",
    "reward": "learning.use",
    "list": "learning.read",
    "show": "learning.read",
    "versions": "learning.read",
    "create": "learning.manage",
    "rollback": "learning.manage",
    "candidates": "learning.manage",
    "experiment": "learning.manage",
}


async def status(client, route: tuple[str, str, dict | None]) -> int:
    method, path, body = route
    return (await client.request(method, path, json=body)).status_code


async def test_every_route_is_401_to_nobody_and_403_without_its_permission(kernel):
    table = await routes(kernel)
    for name, route in table.items():
        assert await status(kernel.client, route) == 401, name
    nobody = await kernel.as_user([], username="nobody")
    for name, route in table.items():
        assert await status(nobody, route) == 403, name
    for permission in ("learning.use", "learning.read", "learning.manage"):
        holder = await kernel.as_user([permission])
        for name, route in table.items():
            code = await status(holder, route)
            if NEEDS[name] == permission:
                assert code not in (401, 403), (permission, name, code)
            else:
                assert code == 403, (permission, name, code)


async def test_an_api_token_reaches_only_its_scopes(kernel):
    table = await routes(kernel)
    auth = kernel.runtime.container.resolve(Authenticator)
    await auth.set_role("service", ["learning.use", "learning.manage"])
    user = await auth.create_user("service", "a long enough password", roles_=["service"])
    _, secret = await auth.create_token(user["id"], "decides", ["learning.use"])
    kernel.client.headers["Authorization"] = f"Bearer {secret}"
    assert await status(kernel.client, table["decide"]) == 200
    assert await status(kernel.client, table["reward"]) == 200
    # the user may manage, the token may not; nor read, which neither holds
    assert await status(kernel.client, table["create"]) == 403
    assert await status(kernel.client, table["list"]) == 403
    kernel.client.headers["Authorization"] = "Bearer mf_not-a-token"
    assert await status(kernel.client, table["decide"]) == 401


async def test_the_permissions_are_declared_for_administrators_to_grant(kernel):
    admin = await kernel.as_user(admin=True)
    declared = (await admin.get("/api/auth/permissions")).json()
    assert {p for p in declared if p.startswith("learning.")} == set(NEEDS.values())


async def test_a_reward_counted_is_announced_once_as_learning_reward(kernel, client):
    engine = kernel.runtime.container.resolve(LearningEngine)
    await engine.create_policy("p", "ucb1", ["a", "b"])
    decision = await engine.decide("p", agent="bot")
    url = f"/api/learning/decisions/{decision.id}/reward"
    assert (await client.post(url, json={"reward": 0.5})).json()["counted"]
    event = await kernel.bus_probe.next("learning.reward", timeout=5)
    assert (event.decision_id, event.policy, event.version) == (decision.id, "p", 1)
    assert (event.action, event.reward, event.agent, event.late) == (
        decision.action,
        0.5,
        "bot",
        False,
    )
    assert not (await client.post(url, json={"reward": 0.5})).json()["counted"]  # redelivered
    other = await engine.decide("p")
    await engine.reward(other.id, 1.0, durable=False)
    following = await kernel.bus_probe.next("learning.reward", timeout=5)
    assert following.decision_id == other.id  # the next one, not the redelivery
