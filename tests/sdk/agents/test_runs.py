"""The toolkit's run path: answering at once with `Prefer: respond-async`, cancelling a live
run, a reload in the middle of a run, failures that keep health data out of logs and error
reports, and history writes that share transactions."""

import logging

import anyio
import pytest
from sqlalchemy import text

from .agent_plugins import write_agent

pytestmark = pytest.mark.anyio

STEPPED = """
import msgspec
from mindframe.sdk.agents import Agent, Run
from tests_agent_gates import gate, record

VERSION = {version}


class In(msgspec.Struct):
    text: str


class Out(msgspec.Struct):
    text: str
    version: int


def first(text: str) -> str:
    record("first")
    return text.upper()


async def second(text: str) -> str:
    record("second started")
    await gate("second").wait()
    record("second")
    return text + "!"


async def run(data: In, run: Run) -> Out:
    upper = await run.step("first", first, data.text)
    shouted = await run.step("second", second, upper)
    return Out(text=shouted, version=VERSION)


AGENT = Agent(
    industry="test", title="Stepped", description="Two steps", input=In, output=Out, run=run
)
"""


async def status_of(kernel, run_id: str) -> dict:
    return (await kernel.client.get(f"/api/agents/runs/{run_id}")).json()


async def settled(kernel, agent: str, run_id: str, timeout: float = 10) -> str:
    """Wait (bounded) for the run's status event; its status."""
    with anyio.fail_after(timeout):
        while True:
            event = await kernel.bus_probe.next(f"agents.{agent}.status", timeout=timeout)
            if event.run_id == run_id:
                return event.status


async def test_respond_async_answers_at_once_and_the_run_goes_on(
    boot_kernel, plugin_factory, gates
):
    write_agent(plugin_factory, "stepped", STEPPED.format(version=1))
    async with boot_kernel(["stepped"]) as kernel:
        response = await kernel.client.post(
            "/api/stepped/run", json={"text": "hi"}, headers={"Prefer": "respond-async"}
        )
        assert response.status_code == 202
        run_id = response.json()["run_id"]
        assert response.headers["location"] == f"/api/agents/runs/{run_id}"
        await gates.reached("second started")
        assert (await status_of(kernel, run_id))["status"] == "running"
        gates.gate("second").set()
        assert await settled(kernel, "stepped", run_id) == "completed"
        view = await status_of(kernel, run_id)
        assert view["output"] == {"text": "HI!", "version": 1}


async def test_a_live_run_is_cancelled_over_the_api(boot_kernel, plugin_factory, gates):
    write_agent(plugin_factory, "stepped", STEPPED.format(version=1))
    async with boot_kernel(["stepped"]) as kernel:
        response = await kernel.client.post(
            "/api/stepped/run", json={"text": "hi"}, headers={"Prefer": "respond-async"}
        )
        run_id = response.json()["run_id"]
        await gates.reached("second started")
        cancelled = await kernel.client.post(f"/api/agents/runs/{run_id}/cancel")
        assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
        assert await settled(kernel, "stepped", run_id) == "cancelled"
        assert "second" not in gates.ran  # cut off while it waited
        assert (await status_of(kernel, run_id))["status"] == "cancelled"
        again = await kernel.client.post(f"/api/agents/runs/{run_id}/cancel")
        assert again.status_code == 409


async def test_a_reload_during_a_run_finishes_it_on_the_new_code_from_its_checkpoint(
    boot_kernel, plugin_factory, gates
):
    folder = write_agent(plugin_factory, "stepped", STEPPED.format(version=1))
    async with boot_kernel(["stepped"]) as kernel:
        response = await kernel.client.post(
            "/api/stepped/run", json={"text": "hi"}, headers={"Prefer": "respond-async"}
        )
        run_id = response.json()["run_id"]
        await gates.reached("second started")
        (folder / "agent.py").write_text(STEPPED.format(version=2))
        reloaded = await kernel.client.post("/api/kernel/plugins/stepped/reload")
        assert reloaded.status_code == 200, reloaded.text
        gates.gate("second").set()
        assert await settled(kernel, "stepped", run_id) == "completed"
        view = await status_of(kernel, run_id)
        assert view["output"] == {"text": "HI!", "version": 2}
        assert gates.ran.count("first") == 1  # the finished step was not done again
        assert gates.ran.count("second started") == 2  # the cut-off one was
        trace = (await kernel.client.get(f"/api/agents/runs/{run_id}/trace")).json()
        steps = [(e["name"], e["status"]) for e in trace]
        assert steps == [("first", "ok"), ("first", "replayed"), ("second", "ok")]


SICK = """
import msgspec
from mindframe.sdk.agents import Agent, Run


class In(msgspec.Struct):
    patient: str


class Out(msgspec.Struct):
    ok: bool


async def run(data: In, run: Run) -> Out:
    raise ValueError(f"cannot read the chart of {data.patient}")


AGENT = Agent(
    industry="test", title="Sick", description="Fails", input=In, output=Out, run=run,
    health_data=True, subject="patient",
)
"""

SPY = """
from mindframe.sdk import hookimpl

caught = []


@hookimpl
def capture_exception(error, context):
    caught.append((error, context))
"""


async def test_a_failing_health_data_run_keeps_its_input_out_of_logs_and_reports(
    boot_kernel, plugin_factory, caplog
):
    write_agent(plugin_factory, "sick", SICK)
    plugin_factory.make("spy", SPY)
    async with boot_kernel(["sick", "spy", "auth"]) as kernel:
        client = await kernel.as_user(["sick.run"])
        with caplog.at_level(logging.DEBUG):
            response = await client.post("/api/sick/run", json={"patient": "Kari Nordmann"})
        assert response.status_code == 500
        problem = response.json()
        assert problem["detail"] == "the agent failed; the error has been recorded"
        assert problem["run_status"] == "failed"
        assert "Kari Nordmann" not in caplog.text
        assert f"run {problem['run_id']} failed: ValueError" in caplog.text
        from mindframe_plugins.spy import caught

        reported = [(e, c) for e, c in caught if c.get("agent") == "sick"]
        assert len(reported) == 1
        error, context = reported[0]
        assert "Kari Nordmann" not in repr(error) and error.__traceback__ is None
        assert error.__cause__ is None and error.__context__ is None
        assert context["run_id"] == problem["run_id"]


QUICK = """
import msgspec
from mindframe.sdk.agents import Agent, Run


class In(msgspec.Struct):
    n: int


class Out(msgspec.Struct):
    n: int


async def run(data: In, run: Run) -> Out:
    return Out(n=data.n * 2)


AGENT = Agent(industry="test", title="Quick", description="Doubles", input=In, output=Out, run=run)
"""


async def test_runs_ending_together_share_a_transaction_and_all_are_kept(
    boot_kernel, plugin_factory, tmp_path
):
    write_agent(plugin_factory, "quick", QUICK)
    data_dir = tmp_path / "data"
    async with boot_kernel(["quick"], data_dir=data_dir) as kernel:
        answers: list[int] = []

        async def ask(n: int) -> None:
            response = await kernel.client.post("/api/quick/run", json={"n": n})
            answers.append(response.json()["output"]["n"])

        async with anyio.create_task_group() as group:
            for n in range(60):
                group.start_soon(ask, n)
        assert sorted(answers) == [n * 2 for n in range(60)]
        health = (await kernel.client.get("/health")).json()["plugins"]["agents"]
        assert health["transactions"] < 30  # 60 runs, committed in shared transactions
    # written behind the answers, and flushed when the plugin stopped
    async with boot_kernel(["quick"], data_dir=data_dir) as kernel:
        engine = kernel.runtime.database.engine
        async with engine.connect() as connection:
            stored = await connection.execute(text("SELECT count(*) FROM agents_runs"))
            assert stored.scalar() == 60


async def test_a_run_written_behind_its_answer_can_be_read_at_once(boot_kernel, plugin_factory):
    write_agent(plugin_factory, "quick", QUICK)
    async with boot_kernel(["quick"]) as kernel:
        for n in range(30):
            run = (await kernel.client.post("/api/quick/run", json={"n": n})).json()
            view = await kernel.client.get(f"/api/agents/runs/{run['run_id']}")
            assert view.status_code == 200, view.text
            assert (view.json()["status"], view.json()["output"]) == ("completed", {"n": 2 * n})
            trace = await kernel.client.get(f"/api/agents/runs/{run['run_id']}/trace")
            assert trace.json() == []
