"""Every hook in the hookspecs is documented in docs/plugins.md and called by some test."""

import re
from pathlib import Path

from mindframe.kernel.discovery import builtin_plugins_dir
from mindframe.kernel.hooks import known_hooks

ROOT = builtin_plugins_dir().parent
GUIDE = ROOT / "docs" / "plugins.md"

# Hooks that no test implements yet, each with the issue whose tests will. Remove a hook
# from here when a test implements it; the last test below fails until you do.
UNTESTED_HOOKS: dict[str, str] = {}


def source_files() -> list[Path]:
    """Test files and test corpora: everything under a `tests/` folder."""
    return [
        path
        for base in (ROOT / "tests", ROOT / "plugins")
        for path in base.rglob("*.py")
        if "tests" in path.relative_to(ROOT).parts and "__pycache__" not in path.parts
    ]


def hooks_implemented_in_tests() -> set[str]:
    text = "\n".join(path.read_text(encoding="utf-8") for path in source_files())
    return {hook for hook in known_hooks() if re.search(rf"\bdef {hook}\(", text)}


def test_every_hook_has_a_section_in_the_author_guide():
    guide = GUIDE.read_text(encoding="utf-8")
    missing = [hook for hook in known_hooks() if f"### `{hook}`" not in guide]
    assert missing == [], f"add a '### `hook`' section with an example to {GUIDE}"


def test_every_hook_is_implemented_by_some_test_plugin():
    untested = set(known_hooks()) - hooks_implemented_in_tests() - set(UNTESTED_HOOKS)
    assert untested == set(), "write a test whose plugin implements these hooks"


def test_allow_list_names_only_hooks_that_still_lack_tests():
    stale = set(UNTESTED_HOOKS) & hooks_implemented_in_tests()
    assert stale == set(), f"tested now: remove {sorted(stale)} from UNTESTED_HOOKS"
    assert set(UNTESTED_HOOKS) <= set(known_hooks())
