"""Hot reload: new code replaces old without a failed request or a lost event; broken
new code leaves the old version serving."""

import anyio
import pytest

from mindframe.kernel.records import PluginState

pytestmark = pytest.mark.anyio

VERSIONED = """
from typing import Any
import anyio
from litestar import get
from mindframe.sdk import Event, PluginContext, hookimpl

VERSION = "{version}"
gate = anyio.Event()
slow_entered = anyio.Event()
handled = []

class Tick(Event):
    topic = "ticks.tick"
    n: int

@get("/version")
async def version() -> dict[str, str]:
    return {{"version": VERSION}}

@get("/slow")
async def slow() -> dict[str, str]:
    slow_entered.set()
    await gate.wait()
    return {{"version": VERSION}}

async def on_tick(event: Tick) -> None:
    handled.append((VERSION, event.n))

@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    return [version, slow]

@hookimpl
def register_subscriptions(ctx: PluginContext) -> None:
    ctx.subscribe("ticks.*", on_tick)

{extra}
"""


def versioned(version: str, extra: str = "") -> str:
    return VERSIONED.format(version=version, extra=extra)


async def current_version(kernel) -> str:
    response = await kernel.client.get("/api/ticker/version")
    assert response.status_code == 200, response.text
    return response.json()["version"]


@pytest.fixture
async def ticker(boot_kernel, plugin_factory):
    folder = plugin_factory.make("ticker", versioned("1"))
    async with boot_kernel(["ticker"], builtin=False) as kernel:
        kernel.folder = folder
        yield kernel


def rewrite(kernel, source: str) -> None:
    (kernel.folder / "__init__.py").write_text(source)


async def reload(kernel, name: str = "ticker"):
    return await kernel.client.post(f"/api/kernel/plugins/{name}/reload")


async def test_reload_serves_the_new_code(ticker):
    assert await current_version(ticker) == "1"
    rewrite(ticker, versioned("2"))
    response = await reload(ticker)
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert await current_version(ticker) == "2"
    assert ticker.runtime.plugin("ticker").error is None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def broken(:\n", "SyntaxError"),
        ("import mindframe_no_such_module\n", "ModuleNotFoundError: No module named"),
        (
            "from mindframe.sdk import hookimpl\n@hookimpl\ndef strtup(ctx):\n    pass\n",
            "'strtup' is not a Mindframe hook (did you mean 'startup'?)",
        ),
    ],
)
async def test_broken_new_code_leaves_the_old_version_serving(ticker, source, expected):
    rewrite(ticker, source)
    response = await reload(ticker)
    assert response.status_code == 409
    body = response.json()
    assert body["ok"] is False and expected in body["error"]
    assert await current_version(ticker) == "1"
    record = ticker.runtime.plugin("ticker")
    assert record.state is PluginState.ACTIVE
    assert record.error.startswith("reload failed, the previous version keeps serving: ")
    assert expected in record.error
    if expected == "SyntaxError":
        assert f"{ticker.folder / '__init__.py'}, line 1" in record.error


async def test_health_shows_a_plugin_whose_reload_failed_as_degraded_while_it_serves(ticker):
    rewrite(ticker, "def broken(:\n")
    assert (await reload(ticker)).status_code == 409
    health = (await ticker.client.get("/health")).json()
    assert health["status"] == "degraded" and health["failing"] == ["ticker"]
    entry = health["plugins"]["ticker"]
    assert entry["state"] == "active" and entry["ok"] is False
    assert entry["error"].startswith("reload failed, the previous version keeps serving: ")
    assert "SyntaxError" in entry["error"]
    assert await current_version(ticker) == "1"
    rewrite(ticker, versioned("2"))
    assert (await reload(ticker)).status_code == 200
    health = (await ticker.client.get("/health")).json()
    assert health["status"] == "ok" and health["plugins"]["ticker"] == {
        "state": "active",
        "ok": True,
    }


async def test_a_manifest_saved_in_another_encoding_leaves_the_old_version_serving(ticker):
    manifest = ticker.folder / "plugin.toml"
    manifest.write_bytes(manifest.read_bytes() + 'description = "café"\n'.encode("latin-1"))
    response = await reload(ticker)
    assert response.status_code == 409
    assert response.json()["error"] == (
        f"{manifest}: is not UTF-8 (byte 0xe9 at offset "
        f"{manifest.read_bytes().index(0xE9)}); save it as UTF-8"
    )
    assert await current_version(ticker) == "1"


async def test_exception_in_new_startup_rolls_back_to_the_old_version(ticker):
    rewrite(
        ticker,
        versioned("2", "@hookimpl\nasync def startup(ctx):\n    raise RuntimeError('no config')\n"),
    )
    response = await reload(ticker)
    assert response.status_code == 409
    assert "RuntimeError in startup: no config" in response.json()["error"]
    assert await current_version(ticker) == "1"
    await ticker.runtime.bus.publish(ticker.runtime.plugin("ticker").code.module.Tick(n=7))
    module = ticker.runtime.plugin("ticker").code.module
    with anyio.fail_after(5):
        while not module.handled:
            await anyio.sleep(0.01)
    assert module.handled == [("1", 7)]


STATEFUL = """
from mindframe.sdk import hookimpl
counter = {{"value": {start}}}
restored = []

@hookimpl
def snapshot_state(ctx):
    return {{"value": counter["value"]}}

@hookimpl
def restore_state(ctx, state):
    {restore}
"""


async def test_state_is_handed_to_the_new_version(boot_kernel, plugin_factory):
    folder = plugin_factory.make(
        "keeper", STATEFUL.format(start=41, restore='counter["value"] = state["value"] + 1')
    )
    async with boot_kernel(["keeper"], builtin=False) as kernel:
        kernel.runtime.plugin("keeper").code.module.counter["value"] = 99
        (folder / "__init__.py").write_text(
            STATEFUL.format(start=0, restore='counter["value"] = state["value"] * 2')
        )
        assert (await kernel.client.post("/api/kernel/plugins/keeper/reload")).status_code == 200
        assert kernel.runtime.plugin("keeper").code.module.counter == {"value": 198}


async def test_restore_state_failure_rolls_back_with_the_old_state(boot_kernel, plugin_factory):
    folder = plugin_factory.make(
        "keeper", STATEFUL.format(start=5, restore='counter["value"] = state["value"]')
    )
    async with boot_kernel(["keeper"], builtin=False) as kernel:
        old_module = kernel.runtime.plugin("keeper").code.module
        old_module.counter["value"] = 12
        (folder / "__init__.py").write_text(
            STATEFUL.format(start=0, restore="raise ValueError('state from the future')")
        )
        response = await kernel.client.post("/api/kernel/plugins/keeper/reload")
        assert response.status_code == 409
        assert "ValueError: state from the future" in response.json()["error"]
        record = kernel.runtime.plugin("keeper")
        assert record.state is PluginState.ACTIVE
        assert record.code.module is old_module
        assert old_module.counter == {"value": 12}


async def test_in_flight_request_finishes_on_old_code_while_new_requests_get_new_code(ticker):
    old_module = ticker.runtime.plugin("ticker").code.module
    async with anyio.create_task_group() as group:
        answers = []

        async def slow_request() -> None:
            answers.append((await ticker.client.get("/api/ticker/slow")).json())

        group.start_soon(slow_request)
        with anyio.fail_after(5):
            await old_module.slow_entered.wait()  # the slow request is inside the old app
        rewrite(ticker, versioned("2"))
        assert (await reload(ticker)).status_code == 200
        assert await current_version(ticker) == "2"
        assert answers == []  # the old request is still in flight
        old_module.gate.set()
    assert answers == [{"version": "1"}]


async def test_events_published_during_reload_reach_the_new_version_none_lost(ticker):
    runtime = ticker.runtime
    tick = runtime.plugin("ticker").code.module.Tick
    old_module = runtime.plugin("ticker").code.module
    total = 300
    publishing = anyio.Event()

    async def publish_all() -> None:
        for n in range(total):
            await runtime.bus.publish(tick(n=n))
            if n % 50 == 0:
                publishing.set()
                await anyio.sleep(0)  # a turn for the reload, so the two interleave

    async with anyio.create_task_group() as group:
        group.start_soon(publish_all)
        rewrite(ticker, versioned("2"))
        await publishing.wait()
        assert (await reload(ticker)).status_code == 200
    new_module = runtime.plugin("ticker").code.module
    assert new_module is not old_module
    with anyio.fail_after(10):
        while len(old_module.handled) + len(new_module.handled) < total:
            await anyio.sleep(0.01)
    seen = sorted(n for _, n in old_module.handled + new_module.handled)
    assert seen == list(range(total))
    assert {v for v, _ in new_module.handled} <= {"2"}
    dead = await runtime.bus.dead_letters.list()
    assert dead == []


async def test_requests_during_a_reload_wait_and_none_fails(ticker):
    statuses = []
    reloads_done = anyio.Event()

    async def hammer() -> None:
        while not reloads_done.is_set():
            statuses.append((await ticker.client.get("/api/ticker/version")).status_code)
            await anyio.lowlevel.checkpoint()  # a request may never suspend: let others run

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(hammer)
        for version in ("2", "3", "4"):
            answered = len(statuses)
            with anyio.fail_after(5):  # requests were answered since the last reload
                while len(statuses) < answered + 10:
                    await anyio.sleep(0.01)
            rewrite(ticker, versioned(version))
            assert (await reload(ticker)).status_code == 200
        reloads_done.set()
    assert set(statuses) == {200}
    assert await current_version(ticker) == "4"


SWAP_GATE = """
swap_entered = anyio.Event()
swap_may_go_on = anyio.Event()

@hookimpl
async def snapshot_state(ctx):
    swap_entered.set()
    await swap_may_go_on.wait()
"""


async def test_requests_arriving_mid_swap_wait_for_the_hold_and_get_the_new_version(
    boot_kernel, plugin_factory
):
    folder = plugin_factory.make("ticker", versioned("1", SWAP_GATE))
    async with boot_kernel(["ticker"], builtin=False) as kernel:
        old_module = kernel.runtime.plugin("ticker").code.module
        holds = kernel.runtime.dispatcher.holds
        answers: list[tuple[int, str]] = []

        async def request() -> None:
            response = await kernel.client.get("/api/ticker/version")
            answers.append((response.status_code, response.text))

        async with anyio.create_task_group() as group:
            (folder / "__init__.py").write_text(versioned("2"))
            group.start_soon(reload, kernel)
            with anyio.fail_after(5):
                await old_module.swap_entered.wait()  # the old version is handing over
            for _ in range(5):
                group.start_soon(request)
            with anyio.fail_after(5):
                while len(answers) + holds["ticker"].statistics().tasks_waiting < 5:
                    await anyio.sleep(0.01)
            assert answers == []  # nobody was answered while the swap was under way
            old_module.swap_may_go_on.set()
        assert sorted(answers) == [(200, '{"version":"2"}')] * 5
        assert holds == {}


async def test_a_hold_never_released_answers_503_after_the_hold_timeout(ticker):
    dispatcher = ticker.runtime.dispatcher
    dispatcher.hold_timeout = 0.2
    dispatcher.hold("ticker")  # a reload that never lets go
    with anyio.fail_after(5):
        response = await ticker.client.get("/api/ticker/version")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == "1"
    assert response.json()["detail"] == (
        "plugin 'ticker' is being reloaded and was not ready within 0.2 s; try again shortly"
    )
    dispatcher.release("ticker")
    assert await current_version(ticker) == "1"


async def test_dependents_reload_after_the_plugin_they_require(boot_kernel, plugin_factory):
    base = plugin_factory.make("base", "X = 1\n")
    plugin_factory.make("top", "from mindframe_plugins.base import X\n", requires=["base"])
    async with boot_kernel(["top"], builtin=False) as kernel:
        top_before = kernel.runtime.plugin("top").code.module
        (base / "__init__.py").write_text("X = 2\n")
        response = await kernel.client.post("/api/kernel/plugins/base/reload")
        assert response.json()["reloaded_dependents"] == ["top"]
        top_after = kernel.runtime.plugin("top").code.module
        assert top_after is not top_before
        assert top_after.X == 2


async def test_fixing_a_failed_plugin_by_reload_starts_it_and_what_it_held_back(
    boot_kernel, plugin_factory
):
    base = plugin_factory.make("base", "def broken(:\n")
    plugin_factory.make("top", "", requires=["base"])
    async with boot_kernel(["top"], builtin=False) as kernel:
        assert kernel.state("base") is PluginState.FAILED
        assert kernel.state("top") is PluginState.FAILED
        (base / "__init__.py").write_text("")
        response = await kernel.client.post("/api/kernel/plugins/base/reload")
        assert response.status_code == 200, response.text
        assert kernel.state("base") is PluginState.ACTIVE
        assert kernel.state("top") is PluginState.ACTIVE


async def test_changed_manifest_settings_are_applied(boot_kernel, plugin_factory):
    init = (
        "from litestar import get\nfrom mindframe.sdk import hookimpl\n"
        "@hookimpl\ndef register_routes(ctx):\n"
        "    @get('/colour')\n    async def colour() -> str:\n"
        "        return ctx.settings['colour']\n"
        "    return [colour]\n"
    )
    folder = plugin_factory.make("paint", init, extra_manifest='[settings]\ncolour = "red"\n')
    async with boot_kernel(["paint"], builtin=False) as kernel:
        assert (await kernel.client.get("/api/paint/colour")).text == "red"
        manifest = (folder / "plugin.toml").read_text().replace('"red"', '"blue"')
        (folder / "plugin.toml").write_text(manifest)
        await kernel.client.post("/api/kernel/plugins/paint/reload")
        assert (await kernel.client.get("/api/paint/colour")).text == "blue"


REGISTRY = """
from mindframe.sdk import hookimpl

class Registry:
    def __init__(self):
        self.members = {}

@hookimpl
def register_services(ctx):
    ctx.provide(Registry, Registry())
"""

MEMBER = """
from mindframe_plugins.registry import Registry
from mindframe.sdk import hookimpl

@hookimpl
async def startup(ctx):
    registry = ctx.resolve(Registry)
    registry.members[ctx.name] = "{version}"
    ctx.on_unload(lambda: registry.members.pop(ctx.name, None), "registry entry")
"""


async def test_contributions_are_re_registered_when_either_side_reloads(
    boot_kernel, plugin_factory
):
    registry_folder = plugin_factory.make("registry", REGISTRY)
    member_folder = plugin_factory.make("member", MEMBER.format(version="1"), requires=["registry"])
    async with boot_kernel(["member"], builtin=False) as kernel:

        def members() -> dict:
            module = kernel.runtime.plugin("registry").code.module
            return kernel.runtime.container.resolve(module.Registry).members

        assert members() == {"member": "1"}
        (member_folder / "__init__.py").write_text(MEMBER.format(version="2"))
        await kernel.client.post("/api/kernel/plugins/member/reload")
        assert members() == {"member": "2"}
        (registry_folder / "__init__.py").write_text(REGISTRY + "\n# edited\n")
        await kernel.client.post("/api/kernel/plugins/registry/reload")
        assert members() == {"member": "2"}


async def test_a_same_size_edit_within_the_second_is_not_served_from_stale_bytecode(
    ticker, monkeypatch
):
    monkeypatch.setattr("sys.dont_write_bytecode", False)
    for version in "23456":
        rewrite(ticker, versioned(version))  # same size, same second: the cache would match
        assert (await reload(ticker)).status_code == 200
        assert await current_version(ticker) == version
    assert list((ticker.folder / "__pycache__").glob("*.pyc"))  # bytecode was being written
