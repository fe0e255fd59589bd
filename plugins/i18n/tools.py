"""What `mindframe i18n` works on: the kernel's catalogs and every plugin's, found under the
plugin folders; the upkeep itself (extract, update, check) is `mindframe.sdk.catalogs`."""

from __future__ import annotations

import os
import tomllib
from collections import Counter
from pathlib import Path

from babel.messages.pofile import write_po

from mindframe.sdk.catalogs import CatalogProblem, Domain, extract_messages
from mindframe.sdk.i18n import KERNEL_CATALOG

BUILTIN_PLUGINS = Path(__file__).resolve().parent.parent
KERNEL_ROOT = BUILTIN_PLUGINS.parent
SKIPPED = {"tests", "locales", "__pycache__", "node_modules", "static"}


def find_domains(roots: list[Path], *, kernel: bool = True) -> list[Domain]:
    """The kernel (`kernel/`, `sdk/` with `locales/`) and every plugin folder under `roots`."""
    found = []
    if kernel and (KERNEL_ROOT / "kernel").is_dir():
        sources = (KERNEL_ROOT / "kernel", KERNEL_ROOT / "sdk")
        found.append(Domain(KERNEL_CATALOG, sources, KERNEL_ROOT / "locales"))
    for root in roots:
        for current, dirs, files in os.walk(root):
            if "plugin.toml" in files:
                folder = Path(current)
                name = tomllib.loads((folder / "plugin.toml").read_text())["name"]
                found.append(Domain(name, (folder,), folder / "locales"))
                dirs.clear()
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED)
    return found


def write_template(domain: Domain) -> Path:
    domain.locales.mkdir(parents=True, exist_ok=True)
    with domain.template.open("wb") as out:
        write_po(out, extract_messages(domain), width=100, omit_header=False)
    return domain.template


def left_to_do(problems: list[CatalogProblem]) -> list[str]:
    """One line per catalog that still needs a translator: how many entries of each kind,
    and the file to edit."""
    by_file: dict[tuple[str, str, Path], Counter[str]] = {}
    for problem in problems:
        by_file.setdefault((problem.domain, problem.locale, problem.path), Counter())[
            problem.kind
        ] += 1
    return [
        f"{domain} [{locale}]: {', '.join(f'{n} {kind}' for kind, n in sorted(kinds.items()))}; "
        f"edit {path}"
        for (domain, locale, path), kinds in by_file.items()
    ]
