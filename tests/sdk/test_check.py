"""`mindframe check` finds each kind of problem a maintainer would, with file and line."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from mindframe.kernel.check import check_imports, check_plugin
from mindframe.kernel.cli import main
from mindframe.kernel.discovery import builtin_plugins_dir, find_plugin_folders
from mindframe.kernel.locales import LOCALES, catalog_path

A_TEST = {"tests/test_it.py": "def test_it():\n    assert True\n"}
BUILTIN = find_plugin_folders(builtin_plugins_dir())


def lines(folder: Path) -> list[str]:
    return [str(problem) for problem in check_plugin(folder)]


def test_every_builtin_plugin_passes_check():
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert f"{len(BUILTIN)} plugin(s) checked, no problems" in result.output


@pytest.mark.parametrize("folder", BUILTIN, ids=lambda f: f.name)
def test_builtin_plugins_import_nothing_from_mindframe_but_the_sdk(folder):
    assert [str(p) for p in check_imports(folder)] == []


def test_a_clean_plugin_has_no_problems(plugin_factory):
    folder = plugin_factory.make("clean", "from mindframe.sdk import hookimpl\n", files=A_TEST)
    assert lines(folder) == []


def test_invalid_manifest_names_file_line_and_field(plugin_factory):
    folder = plugin_factory.make(
        "badmeta", manifest='name = "badmeta"\nversion = "one"\n', files=A_TEST
    )
    [problem] = lines(folder)
    assert problem.startswith(f"{folder / 'plugin.toml'}:2: field 'version'")
    assert "fix plugin.toml" in problem


def test_unknown_hook_is_named_with_its_line_and_a_suggestion(plugin_factory):
    init = "from mindframe.sdk import hookimpl\n\n\n@hookimpl\ndef startp(ctx):\n    pass\n"
    folder = plugin_factory.make("typo", init, files=A_TEST)
    [problem] = lines(folder)
    assert problem.startswith(f"{folder / '__init__.py'}:4: 'startp' is not a Mindframe hook")
    assert "did you mean 'startup'?" in problem


def test_misnamed_hook_argument_is_named_with_its_line(plugin_factory):
    init = "from mindframe.sdk import hookimpl\n\n@hookimpl\ndef health(context):\n    pass\n"
    folder = plugin_factory.make("badargs", init, files=A_TEST)
    [problem] = lines(folder)
    assert problem.startswith(f"{folder / '__init__.py'}:3: ")
    assert "{'context'}" in problem and "'health'" in problem


def test_import_error_points_at_the_failing_line(plugin_factory):
    folder = plugin_factory.make("broken", "x = 1\nimport no_such_module_here\n", files=A_TEST)
    [problem] = lines(folder)
    assert problem.startswith(f"{folder / '__init__.py'}:2: importing the plugin fails")
    assert "No module named 'no_such_module_here'" in problem


def test_missing_tests_are_reported_with_what_to_add(plugin_factory):
    no_tests = plugin_factory.make("untested")
    empty = plugin_factory.make("empty-tests", files={"tests/test_x.py": "VALUE = 1\n"})
    for folder, module in ((no_tests, "untested"), (empty, "empty_tests")):
        [problem] = lines(folder)
        assert problem.startswith(f"{folder / 'tests'}: no tests")
        assert f"add tests/test_{module}.py" in problem


def test_missing_locale_catalogs_are_listed_one_per_locale(plugin_factory):
    po = 'msgid ""\nmsgstr ""\n'
    files = {
        **A_TEST,
        str(catalog_path(Path("locales"), "nb")): po,
        str(catalog_path(Path("locales"), "de")): po,
    }
    folder = plugin_factory.make("halfway", files=files)
    missing = [locale for locale in LOCALES if locale not in ("nb", "de")]
    assert lines(folder) == [
        f"{catalog_path(folder / 'locales', locale)}: no catalog for locale {locale}; "
        f"create it with `mindframe i18n update --plugins-dir {folder.parent} --plugin halfway`"
        for locale in missing
    ]


TALKER = """
from litestar import get
from mindframe.sdk import hookimpl

@hookimpl
def register_routes(ctx):
    @get("/talk")
    async def talk() -> str:
        return ctx.gettext("Good morning") + ctx.gettext("Good evening")

    return [talk]
"""


def po(locale: str, *entries: str) -> str:
    header = f'msgid ""\nmsgstr ""\n"Language: {locale}\\n"\n'
    return "\n".join([header, *entries])


def test_catalog_entries_missing_untranslated_fuzzy_or_unused_are_problems(plugin_factory):
    morning = 'msgid "Good morning"\nmsgstr "x"\n'
    evening = 'msgid "Good evening"\nmsgstr "x"\n'
    catalogs = {locale: po(locale, morning, evening) for locale in LOCALES}
    catalogs["nb"] = po("nb", morning)
    catalogs["sv"] = po("sv", morning, 'msgid "Good evening"\nmsgstr ""\n')
    catalogs["da"] = po("da", morning, '#, fuzzy\nmsgid "Good evening"\nmsgstr "x"\n')
    catalogs["fi"] = po("fi", morning, evening, 'msgid "Good night"\nmsgstr "x"\n')
    files = {str(catalog_path(Path("locales"), k)): v for k, v in catalogs.items()}
    folder = plugin_factory.make("talker", TALKER, files={**A_TEST, **files})
    update = f"`mindframe i18n update --plugins-dir {folder.parent} --plugin talker`"
    nb, sv, da, fi = (catalog_path(folder / "locales", k) for k in ("nb", "sv", "da", "fi"))
    assert lines(folder) == [
        f"{nb}: 'Good evening' has no entry in the nb catalog; run {update}, then translate it",
        f"{sv}:8: 'Good evening' is not translated into sv; write its msgstr",
        f"{da}:9: 'Good evening' is marked fuzzy in the da catalog, so it is not used; check its "
        "msgstr, then delete the '#, fuzzy' line",
        f"{fi}:11: 'Good night' is in the fi catalog but no code uses it; delete it (or run "
        f"{update})",
    ]
    result = CliRunner().invoke(main, ["check", str(folder)])
    assert result.exit_code == 1
    assert len(result.output.splitlines()) == 4


def test_kernel_and_sandbox_imports_are_errors_with_file_and_line(plugin_factory):
    files = {
        **A_TEST,
        "helpers.py": "import os\nfrom mindframe.kernel.bus import Bus\n",
        "tests/test_more.py": "from mindframe import sandbox\nfrom mindframe.sdk import hookimpl\n",
    }
    folder = plugin_factory.make("sneaky", "import mindframe.kernel.runtime\n", files=files)
    found = [(p.path.relative_to(folder), p.line, p.what) for p in check_imports(folder)]
    assert found == [
        (
            Path("__init__.py"),
            1,
            "imports mindframe.kernel.runtime, which is not part of the plugin API",
        ),
        (
            Path("helpers.py"),
            2,
            "imports mindframe.kernel.bus, which is not part of the plugin API",
        ),
        (
            Path("tests/test_more.py"),
            1,
            "imports mindframe.sandbox, which is not part of the plugin API",
        ),
    ]


def test_cli_exits_1_with_one_line_per_problem(plugin_factory):
    folder = plugin_factory.make("sneaky", "from mindframe.kernel import hooks\n")
    result = CliRunner().invoke(main, ["check", str(folder)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{folder / 'tests'}: no tests (a tests/test_*.py with at least one test function); "
        "add tests/test_sneaky.py using the `kernel` fixture (`mindframe new plugin` writes one "
        "to copy)",
        f"{folder / '__init__.py'}:1: imports mindframe.kernel, which is not part of the plugin "
        "API; import what you need from mindframe.sdk (or ask for it to be added there)",
    ]


def test_cli_finds_plugins_by_name_and_refuses_unknown_names(plugin_factory):
    plugin_factory.make("clean", files=A_TEST)
    root = str(plugin_factory.root)
    assert CliRunner().invoke(main, ["check", "clean", "--plugins-dir", root]).exit_code == 0
    unknown = CliRunner().invoke(main, ["check", "ghost", "--plugins-dir", root])
    assert unknown.exit_code == 2
    assert "'ghost' is neither a folder with a plugin.toml nor a plugin under" in unknown.output
