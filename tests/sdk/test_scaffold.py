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
        timeout=300,
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


@pytest.fixture
def agent(tmp_path: Path) -> Path:
    command = ["new", "agent", "retail", "word-count", "--dir", str(tmp_path)]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    return tmp_path / "word-count"


@pytest.mark.slow  # a real `mindframe test` subprocess: about 4 s
def test_generated_agent_tests_pass_under_mindframe_test(agent):
    mindframe = str(Path(sys.executable).parent / "mindframe")
    run = subprocess.run(
        [mindframe, "test", str(agent), "-q", "-p", "no:cacheprovider"],
        cwd=agent.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 passed" in run.stdout


def test_generated_agent_passes_mindframe_check(agent):
    assert check_plugin(agent) == []
    assert sorted(p.name for p in agent.iterdir()) == [
        "__init__.py",
        "agent.py",
        "locales",
        "plugin.toml",
        "tests",
    ]


@pytest.mark.anyio
async def test_a_fresh_agent_runs_and_is_listed_in_its_industry(agent, boot_kernel):
    async with boot_kernel(["word-count"], plugins_dirs=[agent.parent]) as kernel:
        response = await kernel.client.post("/api/word-count/run", json={"text": "a b"})
        assert response.json()["output"] == {"words": 2, "summary": "2 words"}
        listed = (await kernel.client.get("/api/agents")).json()
        assert [(a["name"], a["industry"]) for a in listed] == [("word-count", "retail")]


def test_new_agent_goes_under_plugins_agents_industry_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["new", "agent", "healthcare", "triage"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "plugins" / "agents" / "healthcare" / "triage" / "agent.py").is_file()


def test_new_agent_refuses_bad_and_taken_names(tmp_path):
    for industry, name, says in [
        ("Health Care", "triage", "is not an industry name"),
        ("healthcare", "Triage!", "is not an agent name"),
        ("healthcare", "runs", "is taken by /api/agents/runs"),
        ("healthcare", "kernel", "reserved"),
    ]:
        command = ["new", "agent", industry, name, "--dir", str(tmp_path)]
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 1 and says in result.output, (name, result.output)
    assert list(tmp_path.iterdir()) == []
