"""A broken plugin fails alone: with the reason and where, its dependents held back, the
rest running."""

from pathlib import Path

import anyio
import pytest

from mindframe.kernel.records import PluginState

pytestmark = pytest.mark.anyio


@pytest.fixture
async def booted(boot_kernel, corpus: Path):
    async with boot_kernel(None, plugins_dirs=[corpus], builtin=False) as kernel:
        yield kernel


async def test_healthy_plugin_serves_despite_every_broken_neighbour(booted):
    assert booted.state("steady") is PluginState.ACTIVE
    response = await booted.client.get("/api/steady/ping")
    assert response.status_code == 200
    assert response.json() == {"pong": "steady"}


async def test_bad_manifest_names_file_field_and_expectation(booted, corpus):
    error = booted.error("bad-manifest")
    assert booted.state("bad-manifest") is PluginState.FAILED
    assert str(corpus / "bad-manifest" / "plugin.toml") in error
    assert "field 'version'" in error and "got 12" in error
    assert "field 'isolation'" in error and "'inprocess' or 'process'" in error


async def test_syntax_error_names_file_and_line(booted, corpus):
    error = booted.error("syntax-error")
    assert error.startswith("SyntaxError:")
    assert f"{corpus / 'syntax-error' / '__init__.py'}, line 3" in error
    assert "File" in booted.runtime.plugin("syntax-error").traceback


async def test_import_error_points_at_the_importing_line(booted, corpus):
    error = booted.error("import-error")
    assert error.startswith("ModuleNotFoundError: No module named 'mindframe_no_such_module'")
    assert f"{corpus / 'import-error' / 'helpers.py'}, line 1" in error


async def test_raising_startup_fails_and_releases_what_it_registered(booted):
    record = booted.runtime.plugin("raising-startup")
    assert record.state is PluginState.FAILED
    assert record.error.startswith("RuntimeError in startup: database password missing")
    assert "raise RuntimeError" in record.traceback
    assert booted.runtime.container.registrations(owner="raising-startup") == []


async def test_hanging_startup_times_out(booted):
    error = booted.error("hanging-startup")
    assert booted.state("hanging-startup") is PluginState.FAILED
    assert "did not finish within 0.5 s" in error


async def test_missing_requirement_is_reported(booted):
    assert booted.state("missing-requirement") is PluginState.FAILED
    assert booted.error("missing-requirement") == "requires 'ghost>=1.0', which is not installed"


async def test_version_mismatch_is_reported(booted):
    assert booted.error("version-mismatch") == "requires 'steady>=2', but steady 1.2.0 is installed"


async def test_cycle_fails_both_members_and_names_the_cycle(booted):
    for name in ("cycle-a", "cycle-b"):
        assert booted.state(name) is PluginState.FAILED
        error = booted.error(name)
        assert error.startswith("dependency cycle: ")
        assert "cycle-a" in error and "cycle-b" in error


async def test_dependent_of_failed_plugin_is_held_back_with_the_reason(booted):
    error = booted.error("held-back")
    assert booted.state("held-back") is PluginState.FAILED
    assert error.startswith("held back: requires 'raising-startup', which is failed")
    assert "database password missing" in error


async def test_unknown_hook_name_suggests_the_right_one(booted):
    error = booted.error("unknown-hook")
    assert "'startp' is not a Mindframe hook (did you mean 'startup'?)" in error


async def test_misnamed_hook_argument_is_refused(booted):
    error = booted.error("bad-hook-arguments")
    assert booted.state("bad-hook-arguments") is PluginState.FAILED
    assert "context" in error and "startup" in error


async def test_plugins_api_lists_every_plugin_with_state_version_and_error(booted):
    response = await booted.client.get("/api/kernel/plugins")
    assert response.status_code == 200
    plugins = {p["name"]: p for p in response.json()}
    assert set(plugins) >= {"steady", "syntax-error", "cycle-a", "held-back", "bad-manifest"}
    steady = plugins["steady"]
    assert (steady["state"], steady["version"], steady["error"]) == ("active", "1.2.0", None)
    assert plugins["syntax-error"]["state"] == "failed"
    assert plugins["syntax-error"]["error"].startswith("SyntaxError")


async def test_requests_to_a_failed_plugin_get_503_with_the_reason(booted):
    response = await booted.client.get("/api/raising-startup/anything")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "database password missing" in response.json()["detail"]


async def test_health_is_degraded_and_names_the_failing_plugins(booted):
    response = await booted.client.get("/health")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert "syntax-error" in body["failing"] and "steady" not in body["failing"]
    assert body["plugins"]["steady"]["ok"] is True


SWALLOWS_CANCELLATION = """
import anyio
from mindframe.sdk import hookimpl

@hookimpl
async def startup(ctx):
    try:
        await anyio.sleep(30)
    except anyio.get_cancelled_exc_class():
        pass  # and returns as if it had started
"""

CANNOT_BE_CANCELLED = """
import anyio
from mindframe.sdk import hookimpl

let_go = anyio.Event()
ended = False

class Late:
    pass

@hookimpl
async def startup(ctx):
    global ended
    with anyio.CancelScope(shield=True), anyio.move_on_after(5):  # 5 s: slow, not hung
        await let_go.wait()
    ctx.provide(Late, Late())
    ended = True
"""


async def test_a_startup_that_swallows_its_timeout_fails(boot_kernel, plugin_factory):
    plugin_factory.make("stubborn", SWALLOWS_CANCELLATION, extra_manifest="startup_timeout = 0.2")
    async with boot_kernel(["stubborn"], builtin=False) as kernel:
        assert kernel.state("stubborn") is PluginState.FAILED
        assert "startup did not finish within 0.2 s" in kernel.error("stubborn")


async def test_a_startup_that_cannot_be_cancelled_fails_without_waiting_for_it(
    boot_kernel, plugin_factory
):
    plugin_factory.make("stuck", CANNOT_BE_CANCELLED, extra_manifest="startup_timeout = 0.2")
    async with boot_kernel(["stuck"], builtin=False) as kernel:
        assert kernel.state("stuck") is PluginState.FAILED
        error = kernel.error("stuck")
        assert "startup did not finish within 0.2 s and went on when cancelled" in error
        module = kernel.runtime.plugin("stuck").code.module
        module.let_go.set()
        with anyio.fail_after(5):  # what it acquired after the kernel gave up is released
            while not module.ended or kernel.runtime.container.registrations(owner="stuck"):
                await anyio.sleep(0.01)
