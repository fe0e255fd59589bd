"""A checkpointed run survives a SIGKILL of the server running it: a real `mindframe run` is
killed in the middle of a run's third step, started again on the same data folder, and the
run finishes from its last checkpoint without doing its first two steps again."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mindframe.sdk.browser import free_port

pytestmark = pytest.mark.slow

REGISTRY = Path(__file__).resolve().parents[3] / "plugins" / "agents" / "registry"
WIRING = (Path(__file__).parent / "agent_plugins.py").read_text()
CRASHY = """
import os
from pathlib import Path

import anyio
import msgspec
from mindframe.sdk.agents import Agent, Run

LOG = Path(os.environ["CRASHY_LOG"])
GATE = Path(os.environ["CRASHY_GATE"])


class In(msgspec.Struct):
    text: str


class Out(msgspec.Struct):
    text: str


def note(line: str) -> None:
    with LOG.open("a") as log:
        log.write(line + "\\n")
        log.flush()
        os.fsync(log.fileno())


def one(text: str) -> str:
    note("one")
    return text + "1"


def two(text: str) -> str:
    note("two")
    return text + "2"


async def three(text: str) -> str:
    note("three started")
    with anyio.fail_after(120):
        while not GATE.exists():  # the test opens the gate once the first server is dead
            await anyio.sleep(0.02)
    note("three")
    return text + "3"


async def run(data: In, run: Run) -> Out:
    text = await run.step("one", one, data.text)
    text = await run.step("two", two, text)
    text = await run.step("three", three, text)
    return Out(text=text)


AGENT = Agent(
    industry="test", title="Crashy", description="Three steps", input=In, output=Out, run=run
)
"""


def wiring() -> str:
    start = WIRING.index('WIRING = """') + len('WIRING = """')
    return WIRING[start : WIRING.index('"""', start)]


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"not within {timeout} s: {what}")


class Server:
    """`mindframe run` on a free port with only the agents plugin and the crashy agent."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            str(Path(sys.executable).parent / "mindframe"),
            "run",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.root / "data"),
            "--plugins-dir",
            str(self.root / "plugins"),
        ]
        log = (self.root / "server.log").open("ab")
        self.process = subprocess.Popen(
            command, env=self.env, cwd=self.root, stdout=log, stderr=subprocess.STDOUT
        )
        wait_until(self.answers, 60, "the server answers")

    def answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError((self.root / "server.log").read_text())
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def test_a_run_killed_mid_step_resumes_from_its_last_checkpoint(tmp_path):
    plugins = tmp_path / "plugins"
    shutil.copytree(
        REGISTRY, plugins / "agents", ignore=shutil.ignore_patterns("tests", "__pycache__")
    )
    (plugins / "crashy").mkdir()
    (plugins / "crashy" / "plugin.toml").write_text(
        'name = "crashy"\nversion = "0.1.0"\nrequires = ["agents"]\n'
    )
    (plugins / "crashy" / "__init__.py").write_text(wiring())
    (plugins / "crashy" / "agent.py").write_text(CRASHY)
    log, gate = tmp_path / "steps.log", tmp_path / "gate"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINDFRAME_")}
    env.update(MINDFRAME_BUILTIN_PLUGINS="false", CRASHY_LOG=str(log), CRASHY_GATE=str(gate))

    def lines() -> list[str]:
        return log.read_text().splitlines() if log.exists() else []

    first = Server(tmp_path, env)
    try:
        first.start()
        response = httpx.post(
            f"{first.url}/api/crashy/run",
            json={"text": "x"},
            headers={"Prefer": "respond-async"},
            timeout=10,
        )
        assert response.status_code == 202, response.text
        run_id = response.json()["run_id"]
        trace_url = f"{first.url}/api/agents/runs/{run_id}/trace"

        def two_is_checkpointed() -> bool:
            names = [entry["name"] for entry in httpx.get(trace_url, timeout=5).json()]
            return "two" in names

        wait_until(two_is_checkpointed, 30, "step two is checkpointed")
        wait_until(lambda: "three started" in lines(), 30, "step three has started")
        first.kill()
    finally:
        first.stop()
    assert lines() == ["one", "two", "three started"]
    gate.touch()

    second = Server(tmp_path, env)
    try:
        second.start()
        run_url = f"{second.url}/api/agents/runs/{run_id}"

        def finished() -> dict | None:
            view = httpx.get(run_url, timeout=5).json()
            return view if view["status"] != "running" else None

        view = wait_until(finished, 60, "the resumed run finishes")
        assert view["status"] == "completed"
        assert view["output"] == {"text": "x123"}
        assert lines() == ["one", "two", "three started", "three started", "three"]
        trace = httpx.get(f"{run_url}/trace", timeout=5).json()
        assert [(e["name"], e["status"]) for e in trace] == [
            ("one", "ok"),
            ("two", "ok"),
            ("one", "replayed"),
            ("two", "replayed"),
            ("three", "ok"),
        ]
    finally:
        second.stop()
