"""`python_requires` in plugin.toml: a plugin whose Python packages are missing fails alone,
before its code is imported, with the command that installs them."""

import shlex
import sys
from importlib.metadata import version

import pytest

from mindframe.kernel.manifest import ManifestError, parse_manifest
from mindframe.kernel.records import PluginState

pytestmark = pytest.mark.anyio

MISSING = "mindframe-test-no-such-package>=1.2"
IMPORTS_IT = "import mindframe_test_no_such_package  # never reached: checked before import\n"
PING = """
from litestar import get
from mindframe.sdk import hookimpl

@get("/ping")
async def ping() -> str:
    return "pong"

@hookimpl
def register_routes():
    return [ping]
"""


def needs(*requirements: str) -> str:
    return "python_requires = [" + ", ".join(f'"{r}"' for r in requirements) + "]\n"


async def test_a_missing_package_fails_only_that_plugin_naming_the_install_command(
    boot_kernel, plugin_factory
):
    plugin_factory.make("heavy", IMPORTS_IT, extra_manifest=needs(MISSING, "msgspec>=0.18"))
    plugin_factory.make("light", PING)
    async with boot_kernel(["heavy", "light"]) as kernel:
        assert kernel.state("heavy") is PluginState.FAILED
        error = kernel.error("heavy")
        assert "mindframe-test-no-such-package is not installed" in error
        command = shlex.join([sys.executable, "-m", "pip", "install", MISSING])
        assert error.endswith(f"Install them with: {command}")
        assert "msgspec" not in error  # installed and new enough: not asked for
        assert "ModuleNotFoundError" not in error  # refused before the import was tried
        assert kernel.state("light") is PluginState.ACTIVE
        assert (await kernel.client.get("/api/light/ping")).text == "pong"


async def test_a_package_too_old_says_which_version_is_there_and_which_is_needed(
    boot_kernel, plugin_factory
):
    plugin_factory.make("picky", PING, extra_manifest=needs("msgspec>=999"))
    async with boot_kernel(["picky"]) as kernel:
        error = kernel.error("picky")
        assert f"msgspec {version('msgspec')} is installed, >=999 is needed" in error


async def test_requirements_met_or_not_applying_here_let_the_plugin_start(
    boot_kernel, plugin_factory
):
    not_here = f"{MISSING}; python_version < '3'"
    plugin_factory.make("fine", PING, extra_manifest=needs("msgspec>=0.18", not_here))
    async with boot_kernel(["fine"]) as kernel:
        assert kernel.state("fine") is PluginState.ACTIVE, kernel.error("fine")


def test_an_invalid_requirement_is_a_manifest_error_naming_the_field():
    data = {"name": "bad", "version": "1.0", "python_requires": ["numpy >>> 2"]}
    with pytest.raises(ManifestError) as caught:
        parse_manifest(data, "plugins/bad/plugin.toml")
    assert "field 'python_requires'" in str(caught.value)
    assert "'numpy >>> 2'" in str(caught.value)


async def test_a_reload_that_adds_a_missing_package_leaves_the_old_version_serving(
    boot_kernel, plugin_factory
):
    folder = plugin_factory.make("grows", PING)
    async with boot_kernel(["grows"]) as kernel:
        manifest = folder / "plugin.toml"
        manifest.write_text(manifest.read_text() + needs(MISSING))
        response = await kernel.client.post("/api/kernel/plugins/grows/reload")
        assert response.status_code == 409
        assert "mindframe-test-no-such-package is not installed" in response.json()["error"]
        assert (await kernel.client.get("/api/grows/ping")).text == "pong"
