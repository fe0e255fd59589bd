"""Requests/s and p50/p99 latency of a trivial route in a sandboxed plugin vs the same plugin
in-process.

Why: issue 5 asks that a plugin in its own process (`isolation = "process"`) keeps at least
40 % of the in-process throughput; every request to it crosses the kernel, one AF_UNIX
socket pair and the child's own Litestar app.

Subject: plugin `benchsbx` (sandboxed, in a child process) at `/api/benchsbx/ping`.
Anchor: plugin `benchping`, the same handler source, in-process, at `/api/benchping/ping`.
Both live in one kernel served by uvicorn (one worker, no access log) in a subprocess on
127.0.0.1, so the server is identical; `wrk` (one thread, in its own process; a small
asyncio client in a separate process when wrk is missing) drives the two routes in
alternating rounds of fixed duration. Reported: median requests/s, p50/p99 latency, and the
median of per-round ratios.

Both plugin folders are found and loaded by the kernel itself (the manifest of `benchsbx`
says `isolation = "process"`).

    .venv/bin/python benchmarks/sandbox.py [--quick] [--rounds 5] [--duration 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PYTHON, clean_env, free_port, load_generator, machine_info, server
from http_throughput import HANDLER, PLUGIN_INIT

GOAL = 0.40

SERVE = """
import sys
from pathlib import Path

import uvicorn

from mindframe.kernel.runtime import Runtime
from mindframe.kernel.settings import KernelSettings, Settings

root, port = Path(sys.argv[1]), int(sys.argv[2])
kernel = KernelSettings(data_dir=root / "data", builtin_plugins=False, log_level="WARNING")
runtime = Runtime(Settings(kernel, {}), plugin_roots=[root / "plugins"], entry_points=False)
runtime.dispatcher.lifespan = runtime.running
uvicorn.run(runtime.asgi, host="127.0.0.1", port=port, log_level="warning", access_log=False)
"""


def write_fixtures(root: Path) -> Path:
    for parent, name, isolation in (
        ("plugins", "benchping", "inprocess"),
        ("plugins", "benchsbx", "process"),
    ):
        folder = root / parent / name
        folder.mkdir(parents=True)
        (folder / "plugin.toml").write_text(
            f'name = "{name}"\nversion = "0.1.0"\nisolation = "{isolation}"\n'
        )
        (folder / "__init__.py").write_text(textwrap.dedent(PLUGIN_INIT))
        (folder / "routes.py").write_text(textwrap.dedent(HANDLER))
    script = root / "serve.py"
    script.write_text(textwrap.dedent(SERVE))
    return script


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

    results: dict[str, list[dict[str, float]]] = {"sandboxed": [], "inprocess": []}
    with tempfile.TemporaryDirectory(prefix="mf-bench-sandbox-") as tmp:
        root = Path(tmp)
        script = write_fixtures(root)
        port = free_port()
        urls = {
            "sandboxed": f"http://127.0.0.1:{port}/api/benchsbx/ping",
            "inprocess": f"http://127.0.0.1:{port}/api/benchping/ping",
        }
        command = [PYTHON, str(script), str(root), str(port)]
        env = clean_env()
        with server(command, urls["sandboxed"], env=env, cwd=root, log_path=root / "server.log"):
            for url in urls.values():  # warm both
                load(url, 1.0, args.connections)
            for index in range(rounds):
                order = list(urls.items())
                if index % 2:
                    order.reverse()
                for label, url in order:
                    results[label].append(load(url, duration, args.connections))

    def median(label: str, key: str) -> float:
        return statistics.median(r[key] for r in results[label])

    ratios = [
        s["rps"] / i["rps"] for s, i in zip(results["sandboxed"], results["inprocess"], strict=True)
    ]
    ratio = statistics.median(ratios)
    info = machine_info()
    print(f"# sandbox  nproc={info['nproc']} cpu={info['cpu']} python={info['python']}")
    print(
        f"loadgen={loadgen} connections={args.connections} rounds={rounds} duration={duration:g}s"
    )
    print(f"{'plugin':<36} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for label, name in (
        ("sandboxed", "sandboxed (child process)"),
        ("inprocess", "in-process (same kernel)"),
    ):
        print(
            f"{name:<36} {median(label, 'rps'):>9.0f} {median(label, 'p50_ms'):>8.2f} "
            f"{median(label, 'p99_ms'):>8.2f}"
        )
    met = "met" if ratio >= GOAL else "MISSED"
    print(
        f"ratio sandboxed/in-process req/s: {ratio:.3f} (per round: "
        f"{', '.join(f'{r:.3f}' for r in ratios)})  goal >= {GOAL} {met}"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"machine": info, "results": results, "ratio": ratio}, indent=2)
        )


if __name__ == "__main__":
    main()
