"""Writes `docs/hooks.md`, the hook reference, from the docstrings in `kernel/hookspecs.py`.

The hookspec module is the one source of the plugin API's documentation; this only
renders it (`mindframe docs hooks`, or `python -m mindframe.kernel.hookdocs`), and a test
fails when the committed page differs from what this writes.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from pathlib import Path

import click

from . import hookspecs

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "hooks.md"
_SECTION = re.compile(r"^# --- (.+?) -+$")


def _markdown(docstring: str) -> str:
    """Docstrings use reST's `::` before an indented block; Markdown wants a fence."""
    out: list[str] = []
    lines = inspect.cleandoc(docstring).splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.endswith("::"):
            out += [line[:-1], "", "```python"]
            index += 1
            while index < len(lines) and not lines[index].strip():
                index += 1
            while index < len(lines) and (not lines[index].strip() or lines[index][:4] == "    "):
                out.append(lines[index][4:])
                index += 1
            while out[-1] == "":
                out.pop()
            out += ["```", ""]
            continue
        out.append(line)
        index += 1
    return "\n".join(out).strip()


def _signature(node: ast.FunctionDef) -> str:
    arguments = ", ".join(
        f"{a.arg}: {ast.unparse(a.annotation)}" if a.annotation else a.arg for a in node.args.args
    )
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"{node.name}({arguments}){returns}"


def render() -> str:
    """The whole page, hooks in the order and sections of the hookspec module."""
    source = inspect.getsource(hookspecs)
    tree = ast.parse(source)
    sections = {
        number: match.group(1)
        for number, line in enumerate(source.splitlines(), 1)
        if (match := _SECTION.match(line))
    }
    parts = [
        "# Hook reference",
        "",
        "<!-- Generated from kernel/hookspecs.py by `mindframe docs hooks`; do not edit. -->",
        "",
        _markdown(ast.get_docstring(tree, clean=False) or ""),
    ]
    current = None
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        above = [title for line, title in sections.items() if line < node.lineno]
        if above and above[-1] != current:
            current = above[-1]
            parts += ["", f"## {current.capitalize()}"]
        parts += [
            "",
            f"### `{node.name}`",
            "",
            f"```python\n{_signature(node)}\n```",
            "",
            _markdown(ast.get_docstring(node, clean=False) or ""),
        ]
    return "\n".join(parts) + "\n"


def write(path: Path = DEFAULT_OUTPUT) -> bool:
    """Write the page if it changed; returns whether it did."""
    text = render()
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


@click.group()
def docs() -> None:
    """Generate documentation from the code."""


@docs.command("hooks")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_OUTPUT)
@click.option("--check", "only_check", is_flag=True, help="Exit 1 if the page is out of date.")
def hooks_command(output: Path, only_check: bool) -> None:
    """Write docs/hooks.md from the hookspec docstrings."""
    if only_check:
        current = output.read_text(encoding="utf-8") if output.is_file() else ""
        if current != render():
            raise click.ClickException(
                f"{output} is out of date with kernel/hookspecs.py; run `mindframe docs hooks`"
            )
        click.echo(f"{output} is up to date")
        return
    click.echo(f"{'wrote' if write(output) else 'unchanged:'} {output}")


if __name__ == "__main__":
    hooks_command.main(sys.argv[1:], prog_name="python -m mindframe.kernel.hookdocs")
