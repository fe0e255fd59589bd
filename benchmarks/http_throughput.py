"""Requests/s to a plugin route through the whole kernel vs a bare Litestar app.

Why: every plugin request passes the kernel's prefix dispatcher and lands in the plugin's
own Litestar app (with the kernel's problem-details plugin and error handler); issue 2
claims that keeps at least 85 % of a bare Litestar app's throughput.

Subject: `mindframe run` (uvicorn, one worker) with only a benchmark plugin whose
`@get("/ping")` returns a small JSON, at `/api/benchping/ping`.
Anchor: a bare Litestar app with the same handler at the same path under the same server
(`uvicorn --workers 1 --no-access-log`, loop/http auto, log level warning).
Both servers run as subprocesses on 127.0.0.1 and stay up; one load generator (`wrk`, or
a small asyncio keep-alive client in a separate process when wrk is missing) drives them
in alternating rounds of fixed duration. Reported: median requests/s, p50/p99 latency.

    .venv/bin/python benchmarks/http_throughput.py [--quick] [--rounds 5] [--duration 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import textwrap
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    clean_env,
    free_port,
    load_generator,
    machine_info,
    mindframe_command,
    server,
    uvicorn_command,
)

GOAL = 0.85
ROUTE = "/api/benchping/ping"

HANDLER = """
from litestar import get


@get("/ping")
async def ping() -> dict[str, str]:
    return {"pong": "ok"}
"""

PLUGIN_INIT = """
from typing import Any

from mindframe.sdk import hookimpl

from .routes import ping


@hookimpl
def register_routes(ctx: Any) -> list[Any]:
    return [ping]
"""

BARE_APP = """
from litestar import Litestar, Router

from routes import ping

app = Litestar(route_handlers=[Router(path="/api/benchping", route_handlers=[ping])])
"""


def write_fixtures(root: Path) -> tuple[Path, Path]:
    """The benchmark plugin folder and the bare app folder, sharing the handler source."""
    plugin = root / "plugins" / "benchping"
    plugin.mkdir(parents=True)
    (plugin / "plugin.toml").write_text('name = "benchping"\nversion = "0.1.0"\n')
    (plugin / "__init__.py").write_text(textwrap.dedent(PLUGIN_INIT))
    (plugin / "routes.py").write_text(textwrap.dedent(HANDLER))
    bare = root / "bare"
    bare.mkdir()
    (bare / "routes.py").write_text(textwrap.dedent(HANDLER))
    (bare / "bare_app.py").write_text(textwrap.dedent(BARE_APP))
    return root / "plugins", bare


# --- the comparison ----------------------------------------------------------------------


def check_same_answer(kernel_url: str, bare_url: str) -> Any:
    """Both servers must answer the route with the same 200 JSON before we load them."""
    answers = []
    for url in (kernel_url, bare_url):
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200, (url, response.status)
            answers.append(json.loads(response.read()))
    if answers[0] != answers[1]:
        raise RuntimeError(f"different answers: {answers}")
    return answers[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 s")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per round")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    rounds, duration = (2, 2.0) if args.quick else (args.rounds, args.duration)
    loadgen, load = load_generator(args.loadgen)

    results: dict[str, list[dict[str, float]]] = {"kernel": [], "bare": []}
    with tempfile.TemporaryDirectory(prefix="mf-bench-http-") as tmp:
        root = Path(tmp)
        plugins_dir, bare_dir = write_fixtures(root)
        kernel_port, bare_port = free_port(), free_port()
        kernel_cmd = [
            *mindframe_command(),
            "run",
            "--port",
            str(kernel_port),
            "--data-dir",
            str(root / "data"),
            "--plugins-dir",
            str(plugins_dir),
            "--log-level",
            "WARNING",
            "--no-access-log",
        ]
        bare_cmd = uvicorn_command(bare_dir, bare_port)
        env = clean_env(MINDFRAME_BUILTIN_PLUGINS="false")
        kernel_url = f"http://127.0.0.1:{kernel_port}{ROUTE}"
        bare_url = f"http://127.0.0.1:{bare_port}{ROUTE}"
        with (
            server(kernel_cmd, kernel_url, env=env, cwd=root, log_path=root / "kernel.log"),
            server(bare_cmd, bare_url, env=env, cwd=root, log_path=root / "bare.log"),
        ):
            answer = check_same_answer(kernel_url, bare_url)
            for url in (kernel_url, bare_url):  # warm both (imports, caches, JIT-less paths)
                load(url, 1.0, args.connections)
            for index in range(rounds):
                order = [("kernel", kernel_url), ("bare", bare_url)]
                if index % 2:
                    order.reverse()
                for label, url in order:
                    results[label].append(load(url, duration, args.connections))

    def median(label: str, key: str) -> float:
        return statistics.median(r[key] for r in results[label])

    ratios = [k["rps"] / b["rps"] for k, b in zip(results["kernel"], results["bare"], strict=True)]
    ratio = statistics.median(ratios)
    info = machine_info()
    print(f"# http_throughput  nproc={info['nproc']} cpu={info['cpu']} python={info['python']}")
    print(
        f"loadgen={loadgen} connections={args.connections} rounds={rounds} "
        f"duration={duration:g}s route={ROUTE} answer={json.dumps(answer)}"
    )
    print(f"{'server':<36} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for label, name in (("kernel", "kernel (mindframe run)"), ("bare", "bare Litestar (uvicorn)")):
        print(
            f"{name:<36} {median(label, 'rps'):>9.0f} {median(label, 'p50_ms'):>8.2f} "
            f"{median(label, 'p99_ms'):>8.2f}"
        )
    met = "met" if ratio >= GOAL else "MISSED"
    print(
        f"ratio kernel/bare req/s: {ratio:.3f} (per round: "
        f"{', '.join(f'{r:.3f}' for r in ratios)})  goal >= {GOAL} {met}"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"machine": info, "results": results, "ratio": ratio}, indent=2)
        )


if __name__ == "__main__":
    main()
