"""The llm plugin against a local fake speaking the chat-completions wire format (the real
API is across the internet): an agent's output gains prose when a model is configured, keeps
its own wording when the model fails, and nothing changes when none is configured."""

import json
from contextlib import asynccontextmanager

import anyio
import pytest
import uvicorn
from litestar import Litestar, Request, post

from mindframe.sdk.browser import free_port

pytestmark = pytest.mark.anyio

AGENT = "demo-refill"
DUE = {"patient_id": "p-1001", "medication": "atorvastatin", "days_left": 3}
PROSE = "Your atorvastatin refill is being ordered today."


@asynccontextmanager
async def fake_chat_api(status: int = 200):
    """A chat-completions endpoint on a loopback port that records what it was sent."""
    seen: list[dict] = []

    @post("/v1/chat/completions", status_code=status)
    async def complete(request: Request) -> dict:
        seen.append({"body": await request.json(), "auth": request.headers.get("authorization")})
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "fake-model",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": PROSE},
                    "finish_reason": "stop",
                }
            ],
        }

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(Litestar([complete]), host="127.0.0.1", port=port, log_level="warning")
    )
    async with anyio.create_task_group() as group:
        group.start_soon(server.serve)
        with anyio.fail_after(10):
            while not server.started:
                await anyio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}/v1", seen
        finally:
            server.should_exit = True


def configured(base_url: str) -> dict:
    return {"llm": {"base_url": base_url, "api_key": "sk-test", "model": "fake-model"}}


async def test_an_agent_phrases_its_output_through_the_configured_model(boot_kernel):
    async with fake_chat_api() as (base_url, seen):
        plugins = [AGENT, "llm", "auth", "i18n"]
        async with boot_kernel(plugins, settings=configured(base_url)) as kernel:
            nurse = await kernel.as_user([f"{AGENT}.run"], locale="nb")
            run = (await nurse.post(f"/api/{AGENT}/run", json=DUE)).json()
            assert run["output"]["prose"] == PROSE
            assert run["output"]["explanation"] == "3 dager igjen: forny resepten nå."
            trace = (await nurse.get(f"/api/agents/runs/{run['run_id']}/trace")).json()
            assert ("llm", "phrase", "ok") in [(e["kind"], e["name"], e["status"]) for e in trace]
            health = (await kernel.client.get("/health")).json()["plugins"]["llm"]
            assert (health["configured"], health["completions"]) == (True, 1)
    assert len(seen) == 1
    sent = seen[0]
    assert sent["auth"] == "Bearer sk-test"
    assert sent["body"]["model"] == "fake-model" and sent["body"]["max_tokens"] == 400
    system, user = sent["body"]["messages"]
    assert system["role"] == "system" and "locale nb" in system["content"]
    assert json.loads(user["content"]) == {
        "medication": "atorvastatin",
        "days_left": 3,
        "refill": True,
    }


async def test_a_failing_model_leaves_the_agents_own_wording(boot_kernel):
    async with fake_chat_api(status=500) as (base_url, seen):
        plugins = [AGENT, "llm", "auth"]
        async with boot_kernel(plugins, settings=configured(base_url)) as kernel:
            nurse = await kernel.as_user([f"{AGENT}.run"])
            response = await nurse.post(f"/api/{AGENT}/run", json=DUE)
            assert response.status_code == 200
            run = response.json()
            assert run["output"]["prose"] is None
            assert run["output"]["explanation"] == "3 days left: order the refill now."
            trace = (await nurse.get(f"/api/agents/runs/{run['run_id']}/trace")).json()
            failed = [e for e in trace if e["kind"] == "llm"]
            assert [(e["status"], e["detail"]) for e in failed] == [("error", "LanguageModelError")]
    assert len(seen) == 1


async def test_without_a_base_url_the_plugin_runs_and_provides_no_model(boot_kernel):
    async with boot_kernel(["llm"]) as kernel:
        assert kernel.state("llm") == "active"
        assert kernel.runtime.container.by_key("language_model") is None
        health = (await kernel.client.get("/health")).json()["plugins"]["llm"]
        assert health == {"state": "active", "ok": True, "configured": False}
