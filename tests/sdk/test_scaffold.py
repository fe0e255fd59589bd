"""`mindframe new plugin` writes a plugin that passes its own tests and `mindframe check`."""

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from click.testing import CliRunner

from mindframe.kernel.check import check_plugin
from mindframe.kernel.cli import main
from mindframe.kernel.locales import LOCALES, catalog_path


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    result = CliRunner().invoke(main, ["new", "plugin", "my-weather", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    return tmp_path / "my-weather"


@pytest.mark.slow  # a real pytest subprocess: about 3 s
def test_generated_plugin_tests_pass_in_a_fresh_pytest_run(generated):
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(generated)],
        cwd=generated.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout


def test_generated_plugin_passes_mindframe_check(generated):
    assert check_plugin(generated) == []


def test_every_locale_catalog_translates_exactly_the_messages_in_the_code(generated):
    in_code = {
        message
        for _, message, _, _ in extract_from_file(
            "python", generated / "__init__.py", {"gettext": None}
        )
    }
    assert in_code == {"Hello, {who}!", "Names are at most {limit} characters long."}
    for locale in LOCALES:
        with catalog_path(generated / "locales", locale).open("rb") as file:
            catalog = read_po(file)
        assert {m.id for m in catalog if m.id} == in_code, locale
        assert all(m.string for m in catalog if m.id), f"{locale} has an empty msgstr"
    german = read_po(catalog_path(generated / "locales", "de").open("rb"))
    assert german["Hello, {who}!"].string == "Hallo, {who}!"


@pytest.mark.anyio
async def test_a_fresh_plugin_answers_in_the_language_each_request_asks_for(generated, boot_kernel):
    settings = {"i18n": {"default_locale": "de"}}
    plugins = ["my-weather", "i18n"]
    async with boot_kernel(plugins, plugins_dirs=[generated.parent], settings=settings) as kernel:
        for locale in LOCALES:
            with catalog_path(generated / "locales", locale).open("rb") as file:
                hello = read_po(file)["Hello, {who}!"].string
            ask = {"Accept-Language": locale.replace("_", "-")}
            response = await kernel.client.get("/api/my-weather/hello/Ada", headers=ask)
            assert response.json() == {"text": hello.format(who="Ada")}, locale


def test_new_plugin_refuses_an_existing_folder_and_a_bad_name(generated):
    again = CliRunner().invoke(
        main, ["new", "plugin", "my-weather", "--dir", str(generated.parent)]
    )
    assert again.exit_code == 1
    assert "already exists" in again.output
    bad = CliRunner().invoke(main, ["new", "plugin", "My Weather", "--dir", str(generated.parent)])
    assert bad.exit_code == 1
    assert "is not a plugin name" in bad.output
    reserved = CliRunner().invoke(main, ["new", "plugin", "health", "--dir", str(generated.parent)])
    assert "reserved" in reserved.output and reserved.exit_code == 1


def test_new_agent_says_the_toolkit_is_missing_and_writes_nothing(tmp_path):
    result = CliRunner().invoke(
        main, ["new", "agent", "healthcare", "triage", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "the agent toolkit is not in mindframe.sdk yet" in result.output
    assert list(tmp_path.iterdir()) == []
