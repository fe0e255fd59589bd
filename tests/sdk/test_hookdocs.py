"""docs/hooks.md is generated from kernel/hookspecs.py and must not drift from it."""

from click.testing import CliRunner

from mindframe.kernel import hookdocs
from mindframe.kernel.cli import main
from mindframe.kernel.hooks import known_hooks


def test_docs_hooks_md_is_up_to_date_with_the_hookspecs():
    committed = hookdocs.DEFAULT_OUTPUT.read_text(encoding="utf-8")
    assert committed == hookdocs.render(), (
        "docs/hooks.md is out of date with kernel/hookspecs.py; run `mindframe docs hooks`"
    )


def test_every_hook_has_a_section_with_its_signature_and_docstring():
    page = hookdocs.render()
    for hook in known_hooks():
        assert f"### `{hook}`\n\n```python\n{hook}(" in page
    assert "`ctx.provide(ServiceType, instance_or_factory)`" in page


def test_check_flag_fails_on_a_stale_page_and_writing_fixes_it(tmp_path):
    page = tmp_path / "hooks.md"
    page.write_text("# old\n")
    stale = CliRunner().invoke(main, ["docs", "hooks", "--output", str(page), "--check"])
    assert stale.exit_code == 1 and "is out of date" in stale.output
    assert CliRunner().invoke(main, ["docs", "hooks", "--output", str(page)]).exit_code == 0
    assert page.read_text() == hookdocs.render()
    fresh = CliRunner().invoke(main, ["docs", "hooks", "--output", str(page), "--check"])
    assert fresh.exit_code == 0
