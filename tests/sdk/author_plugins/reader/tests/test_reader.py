"""The harness as a plugin author outside `plugins/` meets it."""

import pytest
from mindframe_plugins.clock.contracts import Clock  # imported at collection

pytestmark = pytest.mark.anyio


async def test_boot_kernel_finds_the_plugin_under_test_and_its_siblings_unasked(boot_kernel):
    async with boot_kernel(["reader"]) as kernel:
        assert [kernel.state(name).value for name in ("clock", "reader")] == ["active"] * 2
        assert (await kernel.client.get("/api/reader/now")).text == "12:00"


async def test_a_type_imported_at_collection_resolves_before_and_after_a_reload(kernel):
    assert kernel.runtime.container.resolve(Clock).now() == "12:00"
    result = await kernel.runtime.reload("clock")
    assert result.ok and result.dependents == ["reader"], result
    assert kernel.runtime.container.resolve(Clock).now() == "12:00"
    assert (await kernel.client.get("/api/reader/now")).text == "12:00"
