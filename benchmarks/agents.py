"""Runs/s and p99 through `POST /api/<agent>/run` vs a bare Litestar route calling the same
agent function.

Why: issue 16 claims the agent toolkit's run path (decode the input, a run id, a keyed input
digest, the history row committed before the answer in a transaction shared with the runs
ending at the same moment, the status event, the run envelope) keeps at least 80 % of the
runs per second of a bare route calling the agent's `run` directly.

Subject: `mindframe run` (uvicorn, one worker) with only the agents plugin and the agent
(`MINDFRAME_BUILTIN_PLUGINS=false`, both copied into a temp plugins folder, SQLite in a
temp data folder); an agent whose runs need a permission gets the auth plugin too and a
token for a user holding it, sent with every request.
Anchor: a bare Litestar app under the same uvicorn flags with `POST /api/<agent>/run` whose
handler decodes the same input struct and awaits the same `run` function with a `Run` that
only calls through (steps run, nothing stored, texts as written), returning the output.
The agent is a parameter. By default `health-news2`, the agent issue 16 names, on a set of
normal vital signs: a health-data agent, so every run is authorised (auth plugin, bearer
token) and its hash-chained access audit entry is committed before the answer.
`--agent bench-echo` is a cheap agent written here (upper-cases a short text, no health
data); `--agent NAME` takes any built-in agent plugin, or `--agent-dir FOLDER` any agent
plugin folder, with `--input JSON` as the body.
One load generator (`wrk` with a POST script, or a keep-alive asyncio client in a separate
process when wrk is missing) drives both in alternating rounds of fixed duration. Besides
runs/s and latency, each round reads the CPU time each server used (`/proc/<pid>/stat` of
its process, all threads, and of its worker processes, where the history writer's
transactions run under load) and divides it by the runs it served: CPU per run hardly moves
when other work shares the machine, runs/s does.

    .venv/bin/python benchmarks/agents.py [--quick] [--agent bench-echo | NAME --input '{…}']
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import urllib.request
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PYTHON,
    REPO,
    clean_env,
    free_port,
    load_generator,
    machine_info,
    mindframe_command,
    server,
    uvicorn_command,
    with_cpu_per_request,
)

GOAL = 0.8
PLUGINS = REPO / "plugins"
REGISTRY = PLUGINS / "agents" / "registry"

ECHO_MANIFEST = 'name = "bench-echo"\nversion = "0.1.0"\nrequires = ["agents"]\n'
ECHO_AGENT = """
import msgspec

from mindframe.sdk.agents import Agent, Run


class Text(msgspec.Struct):
    text: str


class Shout(msgspec.Struct):
    text: str
    length: int


async def run(data: Text, run: Run) -> Shout:
    return Shout(text=data.text.upper(), length=len(data.text))


AGENT = Agent(
    industry="bench", title="Echo", description="Shouts", input=Text, output=Shout, run=run
)
"""
ECHO_INPUT = {"text": "hello, agents"}
DEFAULT_AGENT = "health-news2"
BODIES = {
    "bench-echo": ECHO_INPUT,
    "health-news2": {
        "patient_id": "p-1",
        "respiration_rate": 18,
        "spo2": 96,
        "systolic_bp": 120,
        "pulse": 80,
        "temperature": 37.1,
    },
}
"""The request body of the agents that need no --input."""
WIRING = """
from typing import Any

from mindframe.sdk import PluginContext, hookimpl
from mindframe.sdk.agents import serve_agent

from .agent import AGENT


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    return serve_agent(ctx, AGENT)
"""

BARE_APP = '''
"""The anchor: the agent's own `run`, called from a bare Litestar route."""

import importlib.util
import sys
from pathlib import Path
from typing import Any

from litestar import Litestar, post

from mindframe.sdk.agents import Approval, Run

FOLDER = Path({folder!r})
NAME = {name!r}


def load_agent() -> Any:
    spec = importlib.util.spec_from_file_location(
        "bench_agent", FOLDER / "__init__.py", submodule_search_locations=[str(FOLDER)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_agent"] = module
    spec.loader.exec_module(module)
    return sys.modules["bench_agent.agent"].AGENT


AGENT = load_agent()


async def call(work, *args, **kwargs):
    result = work(*args, **kwargs)
    return await result if hasattr(result, "__await__") else result


class BareRun(Run):
    """A run that only calls through: nothing stored, nothing published."""

    id = "bare"
    agent = NAME
    requested_by = None
    purpose = None

    @property
    def locale(self) -> str:
        return "en_US"

    def gettext(self, message):
        return message

    def ngettext(self, singular, plural, n):
        return singular if n == 1 else plural

    async def step(self, name, work, *args, **kwargs):
        return await call(work, *args, **kwargs)

    async def tool(self, name, work, *args, **kwargs):
        return await call(work, *args, **kwargs)

    async def thread(self, work, *args):
        import anyio.to_thread

        return await anyio.to_thread.run_sync(work, *args)

    async def progress(self, fraction, message=None):
        return None

    async def approval(self, proposal, summary):
        from datetime import UTC, datetime

        return Approval(approved=True, by="bench", at=datetime.now(UTC))

    async def decide(self, policy, context, actions):
        from mindframe.sdk.learning import UniformPolicy

        return await UniformPolicy(actions, seed=1).decide(context, actions)

    async def reward(self, decision, value):
        return None

    async def phrase(self, instructions, facts):
        return None


async def run_agent(data: Any) -> Any:
    return await AGENT.run(data, BareRun())


run_agent.__annotations__ = {{"data": AGENT.input, "return": AGENT.output}}
route = post(f"/api/{{NAME}}/run", status_code=200)(run_agent)
app = Litestar(route_handlers=[route])
'''


# --- the agent under test ------------------------------------------------------------------


def agent_folder(root: Path, name: str | None, folder: str | None) -> tuple[Path, str]:
    """The agent plugin folder to benchmark (copied into `root`) and its name."""
    if folder is None and name == "bench-echo":
        target = root / "bench-echo"
        target.mkdir()
        (target / "plugin.toml").write_text(ECHO_MANIFEST)
        (target / "__init__.py").write_text(WIRING)
        (target / "agent.py").write_text(textwrap.dedent(ECHO_AGENT))
        return target, "bench-echo"
    if folder is not None:
        source = Path(folder).resolve()
    else:
        found = [
            p.parent for p in PLUGINS.rglob("plugin.toml") if f'name = "{name}"' in p.read_text()
        ]
        if not found:
            raise SystemExit(f"no built-in plugin named {name!r} under {PLUGINS}")
        source = found[0]
    manifest = (source / "plugin.toml").read_text()
    agent = re.search(r'^name\s*=\s*"([^"]+)"', manifest, re.M).group(1)  # type: ignore[union-attr]
    target = root / source.name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    return target, agent


def needed_permission(folder: Path, name: str) -> str | None:
    """The permission the agent's runs need (asked of the agent itself, in a subprocess)."""
    code = textwrap.dedent(f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location(
            "probe", {str(folder / "__init__.py")!r}, submodule_search_locations=[{str(folder)!r}])
        module = importlib.util.module_from_spec(spec); sys.modules["probe"] = module
        spec.loader.exec_module(module)
        print(sys.modules["probe.agent"].AGENT.run_permission({name!r}) or "")
    """)
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip() or None


def make_token(data_dir: Path, env: dict[str, str], permission: str) -> str:
    """A user holding `permission` and an API token for it, made without a server."""
    base = [*mindframe_command()]
    env = {**env, "MINDFRAME_DATA_DIR": str(data_dir)}
    subprocess.run(
        [*base, "users", "create", "bench", "--admin", "--password-stdin"],
        input="a bench password, long enough\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    out = subprocess.run(
        [*base, "tokens", "create", "bench", "--user", "bench", "--scope", permission],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.split()[-1]


# --- the comparison ------------------------------------------------------------------------


def post(url: str, body: str, token: str | None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200, (url, response.status)
        return json.loads(response.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 s")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per round")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--agent",
        default=DEFAULT_AGENT,
        help=f"bench-echo or a built-in agent plugin's name (default: {DEFAULT_AGENT})",
    )
    parser.add_argument("--agent-dir", help="an agent plugin folder")
    parser.add_argument("--input", help="the request body (JSON) for --agent/--agent-dir")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args()
    if (args.agent_dir or args.agent not in BODIES) and not args.input:
        raise SystemExit("this agent needs --input (the request body as JSON)")
    rounds, duration = (2, 2.0) if args.quick else (args.rounds, args.duration)
    loadgen, load = load_generator(args.loadgen)
    body = args.input or json.dumps(BODIES[args.agent])

    results: dict[str, list[dict]] = {"kernel": [], "bare": []}
    with tempfile.TemporaryDirectory(prefix="mf-bench-agents-") as tmp:
        root = Path(tmp)
        plugins = root / "plugins"
        plugins.mkdir()
        shutil.copytree(
            REGISTRY, plugins / "agents", ignore=shutil.ignore_patterns("tests", "__pycache__")
        )
        folder, name = agent_folder(plugins, None if args.agent_dir else args.agent, args.agent_dir)
        env = clean_env(MINDFRAME_BUILTIN_PLUGINS="false")
        permission = needed_permission(folder, name)
        token = None
        if permission is not None:
            shutil.copytree(
                PLUGINS / "auth",
                plugins / "auth",
                ignore=shutil.ignore_patterns("tests", "__pycache__"),
            )
            env["MINDFRAME_PLUGINS_DIRS"] = json.dumps([str(plugins)])
            token = make_token(root / "data", env, permission)
        bare = root / "bare"
        bare.mkdir()
        (bare / "bare_app.py").write_text(BARE_APP.format(folder=str(folder), name=name))
        kernel_port, bare_port = free_port(), free_port()
        kernel_cmd = [
            *mindframe_command(), "run", "--port", str(kernel_port),
            "--data-dir", str(root / "data"), "--plugins-dir", str(plugins),
            "--log-level", "WARNING", "--no-access-log",
        ]  # fmt: skip
        route = f"/api/{name}/run"
        kernel_url = f"http://127.0.0.1:{kernel_port}{route}"
        bare_url = f"http://127.0.0.1:{bare_port}{route}"
        health = f"http://127.0.0.1:{kernel_port}/health"
        with (
            server(kernel_cmd, health, env=env, cwd=root, log_path=root / "kernel.log") as k,
            server(uvicorn_command(bare, bare_port), f"http://127.0.0.1:{bare_port}/", env=env,
                   cwd=root, log_path=root / "bare.log") as b,
        ):  # fmt: skip
            run = post(kernel_url, body, token)
            anchor = post(bare_url, body, None)
            if run["status"] != "completed" or run["output"] != anchor:
                raise RuntimeError(f"different answers: {run} vs {anchor}")
            for url, auth in ((kernel_url, token), (bare_url, None)):  # warm both
                load(url, 1.0, args.connections, body, auth)
            for index in range(rounds):
                order = [("kernel", kernel_url, token, k.pid), ("bare", bare_url, None, b.pid)]
                if index % 2:
                    order.reverse()
                for label, url, auth, pid in order:
                    round_ = partial(load, url, duration, args.connections, body, auth)
                    results[label].append(with_cpu_per_request(pid, duration, round_))
            stored = post_count(health)

    def median(label: str, key: str) -> float:
        return statistics.median(r[key] for r in results[label])

    ratios = [k["rps"] / b["rps"] for k, b in zip(results["kernel"], results["bare"], strict=True)]
    ratio = statistics.median(ratios)
    info = machine_info()
    print(f"# agents  nproc={info['nproc']} cpu={info['cpu']} python={info['python']}")
    print(
        f"loadgen={loadgen} connections={args.connections} rounds={rounds} "
        f"duration={duration:g}s agent={name} auth={'token' if token else 'none'} body={body}"
    )
    print(f"{'server':<40} {'runs/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU µs/run':>11}")
    for label, title in (("kernel", "POST /api/<agent>/run (mindframe run)"),
                         ("bare", "bare Litestar route, same run()")):  # fmt: skip
        print(
            f"{title:<40} {median(label, 'rps'):>9.0f} {median(label, 'p50_ms'):>8.2f} "
            f"{median(label, 'p99_ms'):>8.2f} {median(label, 'cpu_us'):>11.0f}"
        )
    print(f"history: {stored}")
    cpu_ratio = median("bare", "cpu_us") / median("kernel", "cpu_us")
    print(f"CPU per run, bare/kernel: {cpu_ratio:.3f} (runs/s one core of each would serve)")
    met = "met" if ratio >= GOAL else "MISSED"
    print(
        f"ratio runs/s kernel/bare: {ratio:.3f} (per round: "
        f"{', '.join(f'{r:.3f}' for r in ratios)})  goal >= {GOAL} {met}"
    )


def post_count(health_url: str) -> str:
    """The agents plugin's own figures after the load: transactions for the runs stored."""
    try:
        with urllib.request.urlopen(health_url, timeout=5) as response:
            figures = json.loads(response.read())["plugins"]["agents"]
    except Exception as error:
        return f"unavailable ({error})"
    return f"{figures.get('transactions')} transactions, queue {figures.get('queued_writes')}"


if __name__ == "__main__":
    main()
