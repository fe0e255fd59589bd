"""Cold start: `mindframe run` until `/health` answers, with the built-in plugins plus 100
generated ones (each a route, a service and a table).

Why: issue 2 wants boot time to stay reasonable as plugins are added, and to know what it
is made of. Reported: the median seconds to the first `/health` answer (a fresh data
folder each run, so every table is created), how much of a boot is importing (from
`-X importtime`, by category, and from a fresh process that only imports the third-party
packages a boot imports), and where the rest goes (cProfile of one boot).
Anchor, for context: a bare Litestar app with 100 equivalent routers (each with a route
and a dependency) plus `/health`, under uvicorn; kernel and anchor boots alternate.

    .venv/bin/python benchmarks/cold_start.py [--quick] [--runs 5] [--plugins 100]
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PYTHON,
    REPO,
    answers,
    clean_env,
    free_port,
    machine_info,
    mindframe_command,
    stop_process,
    uvicorn_command,
)

READY_TIMEOUT = 180.0

PLUGIN_INIT = """
from typing import Any

from mindframe.sdk import PluginContext, hookimpl

from . import models, routes
from .service import {cls}


@hookimpl
def register_services(ctx: PluginContext) -> None:
    ctx.provide({cls}, {cls}(ctx))


@hookimpl
def register_tables(ctx: PluginContext) -> Any:
    return models.metadata


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    return [routes.show_item]
"""

PLUGIN_SERVICE = """
from mindframe.sdk import PluginContext


class {cls}:
    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx

    def describe(self, item_id: int) -> dict[str, object]:
        return {{"plugin": "{name}", "item": item_id}}
"""

PLUGIN_ROUTES = """
from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath

from .service import {cls}


@get("/items/{{item_id:int}}")
async def show_item(
    item_id: FromPath[int], {key}: NamedDependency[{cls}]
) -> dict[str, object]:
    return {key}.describe(item_id)
"""

PLUGIN_MODELS = """
from sqlalchemy import Column, Integer, MetaData, String, Table

metadata = MetaData()

items = Table(
    "{name}_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("label", String(200), nullable=False, index=True),
)
"""

BARE_APP = """
from litestar import Litestar, Router, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath


class Service:
    def __init__(self, name: str) -> None:
        self.name = name

    def describe(self, item_id: int) -> dict[str, object]:
        return {"plugin": self.name, "item": item_id}


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def make_router(index: int) -> Router:
    name = f"gen{index:03d}"
    service = Service(name)
    namespace = {
        "__name__": __name__,
        "get": get,
        "Service": Service,
        "NamedDependency": NamedDependency,
        "FromPath": FromPath,
    }
    exec(
        "@get('/items/{item_id:int}')\\n"
        "async def show_item(\\n"
        "    item_id: FromPath[int], service: NamedDependency[Service]\\n"
        ") -> dict[str, object]:\\n"
        "    return service.describe(item_id)\\n",
        namespace,
    )
    return Router(
        path=f"/api/{name}",
        route_handlers=[namespace["show_item"]],
        dependencies={"service": Provide(lambda: service, sync_to_thread=False)},
    )


app = Litestar(route_handlers=[health, *(make_router(i) for i in range(COUNT))])
"""

PROFILE_DRIVER = """
import cProfile
import os
import sys

profile = cProfile.Profile()
profile.enable()
try:
    from mindframe.kernel.cli import main

    main(sys.argv[1:], standalone_mode=False)
finally:
    profile.disable()
    profile.dump_stats(os.environ["BENCH_PROFILE_OUT"])
"""


def write_plugins(root: Path, count: int) -> Path:
    """`count` plugin folders (plugin.toml, hooks, route, service, table) under root/plugins."""
    plugins = root / "plugins"
    plugins.mkdir(exist_ok=True)  # with --plugins 0 too: a missing folder is reported failed
    for index in range(count):
        name = f"gen{index:03d}"
        cls = f"Gen{index:03d}Service"
        key = f"gen{index:03d}_service"
        folder = plugins / name
        folder.mkdir(parents=True)
        (folder / "plugin.toml").write_text(f'name = "{name}"\nversion = "0.1.0"\n')
        values = {"name": name, "cls": cls, "key": key}
        for filename, template in (
            ("__init__.py", PLUGIN_INIT),
            ("service.py", PLUGIN_SERVICE),
            ("routes.py", PLUGIN_ROUTES),
            ("models.py", PLUGIN_MODELS),
        ):
            (folder / filename).write_text(textwrap.dedent(template.format(**values)))
    return plugins


def write_bare_app(root: Path, count: int) -> Path:
    folder = root / "bare"
    folder.mkdir()
    (folder / "bare_app.py").write_text(f"COUNT = {count}\n" + textwrap.dedent(BARE_APP))
    return folder


# --- one boot ----------------------------------------------------------------------------


def time_boot(
    command: list[str],
    url: str,
    *,
    env: dict[str, str],
    cwd: Path,
    log_path: Path,
    after: Any = None,
) -> tuple[float, Any]:
    """Seconds from spawning `command` to the first HTTP answer at `url` (polled every
    10 ms, bounded by READY_TIMEOUT); `after(url)` runs once it answers, before the stop."""
    with open(log_path, "wb") as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while not answers(url, timeout=2.0):
                if process.poll() is not None:
                    raise RuntimeError(
                        f"exited with {process.returncode}; log: {log_path.read_text()[-2000:]}"
                    )
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer from {url} within {READY_TIMEOUT:g} s")
                time.sleep(0.01)
            elapsed = time.perf_counter() - start
            extra = after(url) if after else None
        finally:
            stop_process(process, grace=30.0)
    return elapsed, extra


def kernel_command(port: int, data_dir: Path, plugins_dir: Path, prefix: list[str]) -> list[str]:
    return [
        *prefix,
        "run",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--plugins-dir",
        str(plugins_dir),
        "--log-level",
        "WARNING",
    ]


def plugin_states(base: str) -> dict[str, int]:
    with urllib.request.urlopen(base + "/api/kernel/plugins", timeout=30) as response:
        plugins = json.loads(response.read())
    states: dict[str, int] = defaultdict(int)
    for plugin in plugins:
        states[plugin["state"]] += 1
    return dict(states)


# --- where the time goes -----------------------------------------------------------------

IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def categorise(module: str) -> str:
    root = module.split(".")[0]
    if root == "mindframe_plugins":
        return "plugins (generated + built-in)"
    if root == "mindframe":
        return "mindframe kernel/sdk"
    if root in sys.stdlib_module_names or root.startswith("_"):
        return "stdlib"
    return "third-party"


def parse_importtime(text: str) -> tuple[dict[str, float], dict[str, float], set[str]]:
    """Self time (s) by category and by third-party root package, and the roots imported."""
    by_category: dict[str, float] = defaultdict(float)
    by_package: dict[str, float] = defaultdict(float)
    roots: set[str] = set()
    for line in text.splitlines():
        match = IMPORT_LINE.match(line)
        if not match:
            continue
        own, module = int(match.group(1)) / 1e6, match.group(4)
        category = categorise(module)
        by_category[category] += own
        if category == "third-party":
            root = module.split(".")[0]
            by_package[root] += own
            roots.add(root)
    return dict(by_category), dict(by_package), roots


def time_process(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, timeout=120, capture_output=True)
    return time.perf_counter() - start


PROFILE_FUNCTIONS = {
    # (file suffix, function): label
    ("kernel/runtime.py", "start"): "Runtime.start (the whole boot after imports)",
    ("kernel/runtime.py", "_discover"): "  discover (read + validate plugin.toml)",
    ("kernel/lifecycle.py", "load"): "  Lifecycle.load (import plugin code + register hooks)",
    ("kernel/hooks.py", "register"): "    hooks.register",
    ("kernel/lifecycle.py", "start"): "  Lifecycle.start (wire + start each plugin)",
    ("kernel/storage.py", "claim_tables"): "    Database.claim_tables",
    ("kernel/runtime.py", "build_plugin_app"): "    build_plugin_app (one Litestar app each)",
    ("kernel/http/apps.py", "service_dependencies"): "      service_dependencies",
    ("kernel/runtime.py", "mount"): "    Runtime.mount (+ invalidate_schema)",
    ("kernel/bus/__init__.py", "create_bus"): "  create_bus",
    ("kernel/runtime.py", "__init__"): "Runtime.__init__ (kernel app)",
}


def profile_summary(path: Path) -> list[tuple[str, float]]:
    """Cumulative seconds of the kernel's boot steps in one profiled boot."""
    stats = pstats.Stats(str(path))
    found: dict[str, float] = {}
    for (filename, _, function), (_, _, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        for (suffix, name), label in PROFILE_FUNCTIONS.items():
            if function == name and filename.replace(os.sep, "/").endswith(suffix):
                found[label] = found.get(label, 0.0) + cumulative
    total_imports = 0.0
    for (filename, _, function), (_, _, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if function == "_find_and_load" and "importlib._bootstrap" in filename:
            # cProfile counts a recursive function's cumulative time at the outermost call
            total_imports = cumulative
    ordered = [(label, found[label]) for label in PROFILE_FUNCTIONS.values() if label in found]
    ordered.append(("(all imports, profiled, nested counted once)", total_imports))
    return ordered


def top_functions(path: Path, limit: int = 12) -> list[tuple[str, float, int]]:
    """The functions with the most own time during the profiled boot (idle loop excluded)."""
    stats = pstats.Stats(str(path))
    rows = []
    for (filename, line, function), (_, calls, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if function in {"select", "poll", "<method 'poll' of 'select.epoll' objects>"}:
            continue
        if "epoll" in function or function.startswith("<method 'select'"):
            continue
        short = filename.split("site-packages/")[-1].replace(str(REPO) + "/", "")
        rows.append((f"{short}:{line}({function})", own, calls))
    rows.sort(key=lambda row: row[1], reverse=True)
    return rows[:limit]


WHAT_IF = """
import sys
import time

sys.path.insert(0, {bare_dir!r})
from litestar import Litestar, Router
from litestar.di import Provide

import bare_app

COUNT = {count}
routers = [bare_app.make_router(i) for i in range(COUNT)]


def build(all_services: bool) -> float:
    start = time.perf_counter()
    for index in range(COUNT):
        router = bare_app.make_router(index)
        if all_services:  # what the kernel does: every service known so far, on every app
            deps = {{f"svc{{k}}": Provide(lambda: k, sync_to_thread=False) for k in range(index)}}
        else:  # only what the plugin's handlers ask for
            deps = {{}}
        Litestar(route_handlers=[router], dependencies=deps, logging_config=None)
    return time.perf_counter() - start


times = {{True: [], False: []}}
for round_ in range(2):
    for flag in ((True, False) if round_ % 2 == 0 else (False, True)):
        times[flag].append(build(flag))
print(min(times[True]), min(times[False]))
"""


def what_if_dependencies(bare_dir: Path, count: int, env: dict[str, str]) -> tuple[float, float]:
    """Seconds to build `count` one-router Litestar apps when each app also gets every
    service registered before it (as `service_dependencies` does) vs only its own."""
    out = subprocess.run(
        [PYTHON, "-c", WHAT_IF.format(bare_dir=str(bare_dir), count=count)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1])


# --- main --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 boots each, no profile")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--plugins", type=int, default=100)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs
    profile = not (args.quick or args.no_profile)
    prefix = mindframe_command()
    env = clean_env()
    # as a deployment boots: the warm-up boot's bytecode is there for the timed ones (a
    # shell or test runner that sets PYTHONDONTWRITEBYTECODE would compile every boot)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    report: dict[str, Any] = {"plugins": args.plugins, "runs": runs}

    with tempfile.TemporaryDirectory(prefix="mf-bench-cold-") as tmp:
        root = Path(tmp)
        plugins_dir = write_plugins(root, args.plugins)
        bare_dir = write_bare_app(root, args.plugins)

        def kernel_boot(label: str, extra_env: dict[str, str] | None = None) -> tuple[float, Any]:
            port = free_port()
            data_dir = root / f"data-{label}"
            return time_boot(
                kernel_command(port, data_dir, plugins_dir, prefix),
                f"http://127.0.0.1:{port}/health",
                env={**env, **(extra_env or {})},
                cwd=root,
                log_path=root / f"kernel-{label}.log",
                after=lambda url: plugin_states(url.rsplit("/", 1)[0]),
            )

        def bare_boot(label: str) -> float:
            port = free_port()
            seconds, _ = time_boot(
                uvicorn_command(bare_dir, port),
                f"http://127.0.0.1:{port}/health",
                env=env,
                cwd=root,
                log_path=root / f"bare-{label}.log",
            )
            return seconds

        # one untimed boot writes the generated plugins' .pyc files, as any second boot has
        _, states = kernel_boot("warmup")
        bare_boot("warmup")
        report["plugin_states"] = states
        kernel_times: list[float] = []
        bare_times: list[float] = []
        for index in range(runs):
            order = ["kernel", "bare"] if index % 2 == 0 else ["bare", "kernel"]
            for which in order:
                if which == "kernel":
                    seconds, states = kernel_boot(f"run{index}")
                    if states != report["plugin_states"]:
                        raise RuntimeError(f"plugin states changed: {states}")
                    kernel_times.append(seconds)
                else:
                    bare_times.append(bare_boot(f"run{index}"))
        report["kernel_s"] = kernel_times
        report["bare_s"] = bare_times

        # importing: -X importtime of one boot, and a process importing only the deps
        seconds, _ = kernel_boot("importtime", {"PYTHONPROFILEIMPORTTIME": "1"})
        by_category, by_package, roots = parse_importtime(
            (root / "kernel-importtime.log").read_text(errors="replace")
        )
        deps = sorted(roots)
        # the boot also tries imports that fail (uvloop, httptools ... when not installed)
        import_deps = [
            PYTHON,
            "-c",
            f"import importlib\nfor name in {deps!r}:\n"
            "    try:\n        importlib.import_module(name)\n"
            "    except ImportError:\n        pass\n",
        ]
        deps_times, empty_times = [], []
        for _ in range(max(3, runs)):
            deps_times.append(time_process(import_deps, env))
            empty_times.append(time_process([PYTHON, "-c", "pass"], env))
        report["importtime_boot_s"] = seconds
        report["importtime_by_category_s"] = by_category
        report["importtime_third_party_top"] = dict(
            sorted(by_package.items(), key=lambda kv: kv[1], reverse=True)[:10]
        )
        report["deps_import_process_s"] = statistics.median(deps_times)
        report["empty_process_s"] = statistics.median(empty_times)

        report["what_if_all_deps_s"], report["what_if_own_deps_s"] = what_if_dependencies(
            bare_dir, args.plugins, env
        )

        if profile:
            port = free_port()
            driver = root / "profile_boot.py"
            driver.write_text(textwrap.dedent(PROFILE_DRIVER))
            out = root / "boot.prof"
            profiled, _ = time_boot(
                [PYTHON, str(driver), *kernel_command(port, root / "data-prof", plugins_dir, [])],
                f"http://127.0.0.1:{port}/health",
                env={**env, "BENCH_PROFILE_OUT": str(out)},
                cwd=root,
                log_path=root / "kernel-profile.log",
            )
            report["profiled_boot_s"] = profiled
            report["profile"] = profile_summary(out)
            report["profile_top_own"] = top_functions(out)

    print_report(report)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine_info(), **report}, indent=2))


def print_report(report: dict[str, Any]) -> None:
    info = machine_info()
    kernel = statistics.median(report["kernel_s"])
    bare = statistics.median(report["bare_s"])
    deps = report["deps_import_process_s"]
    print(f"# cold_start  nproc={info['nproc']} cpu={info['cpu']} python={info['python']}")
    print(f"plugins: built-in + {report['plugins']} generated; states {report['plugin_states']}")
    print(f"runs each: {report['runs']} (alternating), fresh data dir per boot")
    print(f"{'boot to first /health answer':<48} {'median s':>9}   all runs")
    print(f"{'kernel: mindframe run':<48} {kernel:>9.2f}   {_list(report['kernel_s'])}")
    anchor = "anchor: bare Litestar, 100 routers, uvicorn"
    print(f"{anchor:<48} {bare:>9.2f}   {_list(report['bare_s'])}")
    print(f"ratio kernel/anchor: {kernel / bare:.2f} (context, no goal)")
    print(
        f"process importing only the boot's third-party packages: {deps:.2f} s "
        f"(empty interpreter {report['empty_process_s']:.2f} s) = {deps / kernel:.0%} of a boot"
    )
    total = report["importtime_boot_s"]
    print(f"-X importtime boot ({total:.2f} s), import self time by category:")
    for category, seconds in sorted(
        report["importtime_by_category_s"].items(), key=lambda kv: kv[1], reverse=True
    ):
        print(f"  {category:<34} {seconds:>6.2f} s  {seconds / total:>5.0%} of that boot")
    top = ", ".join(f"{k} {v:.2f}" for k, v in report["importtime_third_party_top"].items())
    print(f"  third-party, largest: {top}")
    every, own = report["what_if_all_deps_s"], report["what_if_own_deps_s"]
    print(
        f"what-if: {report['plugins']} one-router Litestar apps, each given every service "
        f"registered before it: {every:.2f} s; only its own: {own:.2f} s"
    )
    if "profile" in report:
        profiled = report["profiled_boot_s"]
        print(f"cProfile of one boot ({profiled:.2f} s under the profiler), cumulative:")
        for label, seconds in report["profile"]:
            print(f"  {label:<56} {seconds:>6.2f} s  {seconds / profiled:>5.0%}")
        print("  most own time:")
        for name, own, calls in report["profile_top_own"]:
            print(f"    {own:>6.2f} s {calls:>9} calls  {name}")


def _list(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
