"""The plugin's modules share helpers through public names: a module that imports another's
private name (`_answer`) couples itself to what that module may change without notice."""

import ast
from pathlib import Path

PLUGIN = Path(__file__).parents[1]


def private_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [
        f"{path.name}: from {'.' * node.level}{node.module or ''} import {alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level > 0
        for alias in node.names
        if alias.name.startswith("_")
    ]


def test_no_module_of_the_plugin_imports_a_private_name_of_another():
    found = [line for path in sorted(PLUGIN.glob("*.py")) for line in private_imports(path)]
    assert found == []
