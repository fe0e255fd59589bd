"""Another plugin's types: a provider exports a contract class, a consumer imports it from
`mindframe_plugins.<name>` and resolves it, before and after the provider reloads."""

import importlib
from pathlib import Path

import pytest

from mindframe.kernel.check import check_plugin

pytestmark = pytest.mark.anyio

CONTRACT = """
class Clock:
    def now(self) -> str:
        return "{time}"
"""
PROVIDER = """
from mindframe.sdk import hookimpl

from .contracts import Clock


@hookimpl
def register_services(ctx):
    ctx.provide(Clock, Clock())
"""
CONSUMER = """
from litestar import get

from mindframe.sdk import hookimpl
from mindframe_plugins.clock.contracts import Clock


@hookimpl
def register_routes(ctx):
    @get("/now")
    async def now() -> str:
        return ctx.resolve(Clock).now()

    return [now]
"""


def write_provider_and_consumer(plugin_factory, time: str = "12:00") -> Path:
    provider = plugin_factory.make(
        "clock", PROVIDER, files={"contracts.py": CONTRACT.format(time=time)}
    )
    plugin_factory.make("reader", CONSUMER, requires=["clock"])
    return provider


async def test_a_service_is_found_by_a_class_imported_before_its_provider_reloaded(
    boot_kernel, plugin_factory
):
    provider = write_provider_and_consumer(plugin_factory)
    async with boot_kernel(["reader"]) as kernel:
        clock_type = importlib.import_module("mindframe_plugins.clock.contracts").Clock
        (provider / "contracts.py").write_text(CONTRACT.format(time="13:00"))
        result = await kernel.runtime.reload("clock")
        assert result.ok and result.dependents == ["reader"], result
        assert kernel.runtime.container.resolve(clock_type).now() == "13:00"
        assert (await kernel.client.get("/api/reader/now")).text == "13:00"


def test_a_plugin_importing_its_requirements_types_passes_check(plugin_factory):
    write_provider_and_consumer(plugin_factory)
    (plugin_factory.root / "reader" / "tests").mkdir()
    (plugin_factory.root / "reader" / "tests" / "test_reader.py").write_text(
        "def test_it():\n    assert True\n"
    )
    assert [str(problem) for problem in check_plugin(plugin_factory.root / "reader")] == []
