"""Built-in plugins use only what a third-party plugin can: `mindframe.sdk`, never the kernel."""

import ast

import pytest

from mindframe.kernel.discovery import builtin_plugins_dir

PLUGIN_FILES = sorted(builtin_plugins_dir().rglob("*.py"))


def mindframe_imports(source: str) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return [name for name in names if name == "mindframe" or name.startswith("mindframe.")]


@pytest.mark.parametrize(
    "path", PLUGIN_FILES, ids=lambda p: str(p.relative_to(builtin_plugins_dir()))
)
def test_builtin_plugin_imports_only_the_sdk_from_mindframe(path):
    outside = [
        name
        for name in mindframe_imports(path.read_text(encoding="utf-8"))
        if name != "mindframe.sdk" and not name.startswith("mindframe.sdk.")
    ]
    assert outside == [], f"{path} imports {outside}; use mindframe.sdk instead"
