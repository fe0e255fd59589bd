"""The agents as MCP tools, through the official `mcp` client over streamable HTTP on a real
loopback port: it lists the tools, calls an agent and gets its result, is refused without a
token holding `mcp.use`, and hears `tools/list_changed` when an agent reloads."""

from contextlib import asynccontextmanager

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mindframe.sdk.browser import serving

pytestmark = pytest.mark.anyio

AGENT = "demo-refill"
DUE = {"patient_id": "p-1001", "medication": "atorvastatin", "days_left": 3}
TOOL_USER = ["mcp.use", f"{AGENT}.run", "auth.tokens.create"]


@pytest.fixture
async def served(boot_kernel):
    async with (
        boot_kernel(["mcp", AGENT, "auth", "i18n"]) as kernel,
        serving(kernel.runtime) as url,
    ):
        yield kernel, url


async def token(kernel, permissions: list[str], scopes: list[str]) -> str:
    """An API token of a new user holding `permissions`, limited to `scopes`."""
    user = await kernel.as_user(permissions)
    response = await user.post("/api/auth/tokens", json={"name": "mcp", "scopes": scopes})
    assert response.status_code == 201, response.text
    return response.json()["secret"]


@asynccontextmanager
async def mcp_client(url: str, secret: str | None, **options):
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(f"{url}/api/mcp/", http_client=http)
        async with Client(transport, **options) as client:
            yield client


async def test_the_official_client_lists_the_agents_and_calls_one(served):
    kernel, url = served
    from mindframe_plugins.mcp.service import McpService

    service = kernel.runtime.container.resolve(McpService)
    assert service.sessions is None  # the mcp SDK is not even imported until it is asked
    secret = await token(kernel, TOOL_USER, ["mcp.use", f"{AGENT}.run"])
    async with mcp_client(url, secret) as client:
        listed = await client.list_tools()
        tools = {tool.name: tool for tool in listed.tools}
        assert list(tools) == [AGENT]
        tool = tools[AGENT]
        assert tool.title == "Medication refill check"
        assert tool.input_schema["required"] == ["patient_id", "medication", "days_left"]
        assert tool.input_schema["properties"]["days_left"]["minimum"] == 0
        result = await client.call_tool(AGENT, DUE)
        assert result.is_error is False
        run = result.structured_content
        assert run["status"] == "completed"
        assert run["output"]["urgency"] == "now" and run["output"]["refill"] is True
        assert '"urgency": "now"' in result.content[0].text
        bad = await client.call_tool(AGENT, {**DUE, "days_left": "soon"})
        assert bad.is_error is True and "days_left" in bad.content[0].text
    history = await kernel.as_user(["agents.read"])
    rows = (await history.get(f"/api/agents/{AGENT}/runs")).json()
    assert rows[0]["run_id"] == run["run_id"] and rows[0]["requested_by"].startswith("user")


DISCOVER = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {}}


async def test_the_endpoint_needs_a_token_holding_mcp_use(served):
    kernel, url = served
    async with httpx2.AsyncClient(timeout=10) as http:
        anonymous = await http.post(f"{url}/api/mcp/", json=DISCOVER)
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        other = await token(kernel, ["auth.tokens.create", f"{AGENT}.run"], [f"{AGENT}.run"])
        bearer = {"Authorization": f"Bearer {other}"}
        refused = await http.post(f"{url}/api/mcp/", json=DISCOVER, headers=bearer)
        assert refused.status_code == 403
        assert refused.json()["detail"] == "this needs the permission 'mcp.use'"


async def test_a_caller_sees_and_calls_only_the_agents_they_may_run(served):
    kernel, url = served
    no_agent = await token(kernel, ["mcp.use", "auth.tokens.create"], ["mcp.use"])
    async with mcp_client(url, no_agent) as client:
        assert (await client.list_tools()).tools == []
        result = await client.call_tool(AGENT, DUE)
        assert result.is_error is True
        assert result.content[0].text == f"this needs the permission '{AGENT}.run'"
        unknown = await client.call_tool("no-such-agent", {})
        assert unknown.content[0].text == "no tool named no-such-agent"


async def test_a_reload_of_an_agent_announces_that_the_tool_list_changed(served):
    kernel, url = served
    secret = await token(kernel, TOOL_USER, ["mcp.use", f"{AGENT}.run"])
    async with mcp_client(url, secret) as client:
        async with client.listen(tools_list_changed=True) as subscription:
            admin = await kernel.as_user(admin=True)
            reloaded = await admin.post(f"/api/kernel/plugins/{AGENT}/reload")
            assert reloaded.status_code == 200
            with anyio.fail_after(10):
                event = await subscription.__anext__()
            assert type(event).__name__ == "ToolsListChanged"
        assert [tool.name for tool in (await client.list_tools()).tools] == [AGENT]


async def test_a_handshake_era_client_hears_the_change_on_its_session(served):
    kernel, url = served
    secret = await token(kernel, TOOL_USER, ["mcp.use", f"{AGENT}.run"])
    heard = anyio.Event()

    async def on_message(message) -> None:
        root = getattr(message, "root", message)
        if getattr(root, "method", None) == "notifications/tools/list_changed":
            heard.set()

    async with mcp_client(url, secret, mode="legacy", message_handler=on_message) as client:
        assert [tool.name for tool in (await client.list_tools()).tools] == [AGENT]
        admin = await kernel.as_user(admin=True)
        disabled = await admin.post(f"/api/kernel/plugins/{AGENT}/disable")
        assert disabled.status_code == 200
        with anyio.fail_after(10):
            await heard.wait()
        assert (await client.list_tools()).tools == []


async def test_arguments_that_do_not_fit_are_refused_as_the_run_route_refuses_them(served):
    kernel, url = served
    user = await kernel.as_user(TOOL_USER, locale="de")
    created = await user.post("/api/auth/tokens", json={"name": "mcp", "scopes": TOOL_USER})
    wrong = {**DUE, "days_left": "soon"}
    route = (await user.post(f"/api/{AGENT}/run", json=wrong)).json()
    assert route["detail"] == "days_left muss eine ganze Zahl sein, nicht Text"
    async with mcp_client(url, created.json()["secret"]) as client:
        refused = await client.call_tool(AGENT, wrong)
    assert refused.is_error is True
    assert refused.content[0].text == route["detail"]
    assert refused.structured_content == {"errors": route["errors"]}
    assert route["errors"][0]["field"] == "$.days_left"


NEWS2 = "health-news2"
# RR 24 (2), SpO2 93 on scale 1 (2), on oxygen (2), systolic 105 (1), pulse 115 (2), alert
# (0), 38.5 °C (1): 10 on the Royal College of Physicians' chart, an emergency response
UNWELL = {
    "patient_id": "p-4711",
    "respiration_rate": 24,
    "spo2": 93,
    "on_oxygen": True,
    "systolic_bp": 105,
    "pulse": 115,
    "temperature": 38.5,
}


async def test_the_official_client_scores_vital_signs_with_health_news2(boot_kernel):
    async with (
        boot_kernel(["mcp", NEWS2, "auth", "i18n"]) as kernel,
        serving(kernel.runtime) as url,
    ):
        permissions = ["mcp.use", f"{NEWS2}.run", "auth.tokens.create"]
        secret = await token(kernel, permissions, ["mcp.use", f"{NEWS2}.run"])
        async with mcp_client(url, secret) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert list(tools) == [NEWS2]
            assert tools[NEWS2].input_schema["properties"]["spo2"]["maximum"] == 100
            result = await client.call_tool(NEWS2, UNWELL)
            confused = await client.call_tool(NEWS2, {**UNWELL, "consciousness": "confusion"})
    assert result.is_error is False, result.content
    score = result.structured_content["output"]
    assert (score["score"], score["risk"], score["response"]) == (10, "high", "emergency")
    assert [p["score"] for p in score["parameters"]] == [2, 2, 2, 1, 2, 0, 1]
    assert '"score": 10' in result.content[0].text
    assert confused.structured_content["output"]["score"] == 13  # new confusion scores 3
