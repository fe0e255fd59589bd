"""Hook-call overhead through the kernel vs raw pluggy with the same plugin modules.

Why: pluggy calls every implementation with the same arguments, so the kernel calls most
hooks one plugin at a time with that plugin's own context (`Hook.call`) and hands
cross-cutting ones to every active plugin itself (`hooks.broadcast`). Issue 2 claims
this costs at most 20 % over plain pluggy. Anchor: a raw `pluggy.PluginManager` with the
same modules registered and `pm.hook.<name>(...)` called. Both sides run in the same
process and event loop, in alternating blocks; the ratio is the median of per-round ratios.

    .venv/bin/python benchmarks/hook_overhead.py [--quick] [--plugins 10 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

import pluggy

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Comparison, fmt_ns, interleave_async, machine_info

from mindframe.kernel import hooks, hookspecs
from mindframe.kernel.discovery import Candidate
from mindframe.kernel.lifecycle import Lifecycle
from mindframe.kernel.manifest import Manifest
from mindframe.kernel.records import PluginRecord, PluginState
from mindframe.kernel.runtime import Runtime
from mindframe.kernel.settings import KernelSettings, Settings

GOAL = 1.2

PLUGIN_SOURCE = """
from mindframe.sdk import hookimpl

SEEN = []

@hookimpl
def capture_exception(error, context):
    SEEN.append(1) if len(SEEN) < 1 else None

@hookimpl
def register_services(ctx):
    ctx.hits += 1

@hookimpl
async def health(ctx):
    ctx.hits += 1
    return True
"""


class Ctx:
    """Stands in for a plugin's `PluginContext`: the hooks only touch a counter."""

    __slots__ = ("hits", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.hits = 0


def make_plugins(count: int) -> list[tuple[str, types.ModuleType]]:
    """`count` small plugin modules, each with a sync broadcast hook, a sync and an async
    per-plugin hook (compiled once, executed per module so each has its own functions)."""
    code = compile(PLUGIN_SOURCE, "<bench plugin>", "exec")
    plugins = []
    for index in range(count):
        name = f"bench{index:03d}"
        module = types.ModuleType(f"mindframe_bench_plugins.{name}")
        exec(code, module.__dict__)
        plugins.append((name, module))
    return plugins


def raw_manager(plugins: list[tuple[str, types.ModuleType]]) -> pluggy.PluginManager:
    """The anchor: plain pluggy with the same hookspecs and modules."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for name, module in plugins:
        manager.register(module, name=name)
    return manager


def kernel_runtime(
    plugins: list[tuple[str, types.ModuleType]], data_dir: Path
) -> tuple[Runtime, dict[str, PluginRecord]]:
    """A real `Runtime` (not started) whose records hold the plugins, registered through
    `hooks.collect`, registered with the plugin manager as an active plugin is, so
    `report_error` and `check_health` run as in production."""
    settings = Settings(KernelSettings(data_dir=data_dir, builtin_plugins=False), {})
    runtime = Runtime(settings, plugin_roots=[], entry_points=False)
    records: dict[str, PluginRecord] = {}
    for name, module in plugins:
        fresh = types.ModuleType(module.__name__)
        fresh.__dict__.update(module.__dict__)
        candidate = Candidate(
            origin="benchmark", folder=None, manifest=Manifest(name=name, version="0.1.0")
        )
        record = PluginRecord(candidate)
        record.hooks = hooks.collect(runtime.plugin_manager, fresh, name)
        runtime.plugin_manager.register(fresh, name=name)
        record.state = PluginState.ACTIVE
        record.context = Ctx(name)  # type: ignore[assignment]
        runtime.records[name] = record
        records[name] = record
    return runtime, records


async def measure(count: int, rounds: int, block: float, budget: float) -> list[Comparison]:
    plugins = make_plugins(count)
    pm = raw_manager(plugins)
    shared_ctx = Ctx("shared")
    error = RuntimeError("boom")
    context: dict[str, Any] = {"plugin": "x", "hook": "startup"}

    # the kernel side: hooks collected by hooks.collect, active plugins registered
    manager = hooks.new_plugin_manager()
    per_plugin: list[tuple[hooks.Hook, hooks.Hook, Ctx]] = []
    for name, module in make_plugins(count):
        found = hooks.collect(manager, module, name)
        manager.register(module, name=name)
        per_plugin.append((found["register_services"], found["health"], Ctx(name)))

    with tempfile.TemporaryDirectory(prefix="mf-bench-hooks-") as tmp:
        runtime, records = kernel_runtime(plugins, Path(tmp))
        ordered = list(records.values())

        # --- (a) broadcast: capture_exception on every active plugin -------------------
        async def kernel_broadcast() -> None:
            hooks.broadcast(manager, "capture_exception", error=error, context=context)

        async def kernel_report_error() -> None:
            runtime.report_error(error, context)

        async def raw_broadcast() -> None:
            pm.hook.capture_exception(error=error, context=context)

        # --- (b) per-plugin calls with each plugin's own ctx -----------------------------
        async def kernel_sync_each() -> None:
            for services, _, ctx in per_plugin:
                services.call(ctx=ctx)

        async def raw_sync() -> None:
            pm.hook.register_services(ctx=shared_ctx)

        async def kernel_async_each() -> None:
            for _, health, ctx in per_plugin:
                await health.call(ctx=ctx)

        async def raw_async() -> None:
            for coroutine in pm.hook.health(ctx=shared_ctx):
                await coroutine

        lifecycle: Lifecycle = runtime.lifecycle

        async def kernel_check_health() -> None:
            for record in ordered:
                await lifecycle.check_health(record)

        cases = [
            ("broadcast capture_exception (hooks.broadcast)", kernel_broadcast, raw_broadcast),
            ("broadcast via Runtime.report_error", kernel_report_error, raw_broadcast),
            ("per-plugin sync register_services (Hook.call)", kernel_sync_each, raw_sync),
            ("per-plugin async health (Hook.call)", kernel_async_each, raw_async),
            ("health via Lifecycle.check_health", kernel_check_health, raw_async),
        ]
        deadline_each = budget / len(cases)
        results = []
        for label, subject, anchor in cases:
            comparison = await interleave_async(
                f"{label}, N={count}",
                subject,
                anchor,
                rounds=rounds,
                block_seconds=block,
                deadline=time.monotonic() + deadline_each,
            )
            results.append(comparison)
        runtime.unload_all()
    return results


# rows with a goal (the claim); the others show where the full kernel path adds cost
GOAL_ROWS = ("hooks.broadcast", "register_services (Hook.call)", "async health (Hook.call)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (fewer rounds)")
    parser.add_argument("--plugins", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    rounds, block, budget = (5, 0.02, 6.0) if args.quick else (15, 0.05, 40.0)

    all_results: list[Comparison] = []
    for count in args.plugins:
        all_results.extend(asyncio.run(measure(count, rounds, block, budget)))

    info = machine_info()
    print(f"# hook_overhead  nproc={info['nproc']} cpu={info['cpu']} python={info['python']}")
    print(f"{'case':<62} {'kernel':>10} {'pluggy':>10} {'ratio':>6}  goal")
    rows = []
    for result in all_results:
        has_goal = any(key in result.name for key in GOAL_ROWS)
        met = "met" if result.ratio <= GOAL else "MISSED"
        verdict = f"<= {GOAL} {met}" if has_goal else "(context)"
        print(
            f"{result.name:<62} {fmt_ns(result.subject):>10} {fmt_ns(result.anchor):>10} "
            f"{result.ratio:>6.2f}  {verdict}"
        )
        rows.append(
            {
                "case": result.name,
                "kernel_ns": result.subject,
                "pluggy_ns": result.anchor,
                "ratio": result.ratio,
                "rounds": len(result.ratios),
                "goal": GOAL if has_goal else None,
            }
        )
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
