"""Catalog upkeep with Babel: extract a plugin's messages, update its catalogs from them,
and check that every message is translated in every locale."""

from __future__ import annotations

import importlib.util
import io
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from mindframe.sdk.i18n import KERNEL_CATALOG, LOCALES, catalog_path

BUILTIN_PLUGINS = Path(__file__).resolve().parent.parent
KERNEL_ROOT = BUILTIN_PLUGINS.parent
SKIPPED = {"tests", "locales", "__pycache__", "node_modules", "static"}


@dataclass(frozen=True)
class Domain:
    """A body of code with its own catalogs: a plugin, or the kernel."""

    name: str
    sources: tuple[Path, ...]
    locales: Path

    @property
    def template(self) -> Path:
        return self.locales / "messages.pot"


@dataclass(frozen=True)
class Problem:
    domain: str
    locale: str
    kind: str  # "no catalog", "missing", "untranslated", "fuzzy", "unused"
    message: str

    def __str__(self) -> str:
        return f"{self.domain} [{self.locale}] {self.kind}: {self.message}"


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


def _method_map() -> list[tuple[str, str]]:
    methods = [("**.py", "python")]
    if importlib.util.find_spec("jinja2") is not None:
        methods += [("**/templates/**.html", "jinja2"), ("**/templates/**.txt", "jinja2")]
    return methods


def _skip(dirname: str) -> bool:
    return dirname in SKIPPED or dirname.startswith(".")


def extract(domain: Domain) -> Catalog:
    """Every message marked in the domain's code (`_`, `gettext`, `ngettext`, `N_` …)."""
    template = Catalog(project=domain.name, fuzzy=False)
    for source in domain.sources:
        for filename, lineno, message, comments, context in extract_from_dir(
            source,
            _method_map(),
            comment_tags=("Translators:",),
            directory_filter=lambda path: not any(_skip(p) for p in Path(path).parts),
        ):
            where = [(str(source.name + "/" + filename), lineno)]
            template.add(message, None, where, auto_comments=comments, context=context)
    return template


def write_template(domain: Domain) -> Path:
    domain.locales.mkdir(parents=True, exist_ok=True)
    with domain.template.open("wb") as out:
        write_po(out, extract(domain), width=100, omit_header=False)
    return domain.template


def read_catalog(path: Path, locale: str) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def update(domain: Domain, locales: tuple[str, ...] = LOCALES) -> list[Path]:
    """Bring each locale's catalog in line with the code: new messages added (empty),
    changed ones marked fuzzy, removed ones made obsolete; missing catalogs created."""
    template = extract(domain)
    if not len(template) and not domain.locales.is_dir():
        return []
    written = []
    for locale in locales:
        path = catalog_path(domain.locales, locale)
        catalog = read_catalog(path, locale) if path.is_file() else Catalog(locale=locale)
        catalog.update(template, update_header_comment=False)
        catalog.project = domain.name
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        write_po(buffer, catalog, width=100, ignore_obsolete=True)
        path.write_bytes(buffer.getvalue())
        written.append(path)
    return written


def check(domain: Domain, locales: tuple[str, ...] = LOCALES) -> list[Problem]:
    """What keeps the domain's catalogs from holding exactly its messages, all translated:
    per locale, messages missing, untranslated or fuzzy, and messages no code uses any more
    (`update` drops those)."""
    wanted = {message.id for message in extract(domain) if message.id}
    if not wanted and not domain.locales.is_dir():
        return []
    problems = []
    for locale in locales:
        path = catalog_path(domain.locales, locale)
        if not path.is_file():
            problems.append(Problem(domain.name, locale, "no catalog", str(path)))
            continue
        catalog = read_catalog(path, locale)
        have = {}
        for message in catalog:
            if message.id:
                have[message.id] = message
        for key in sorted(wanted - set(have), key=str):
            problems.append(Problem(domain.name, locale, "missing", _label(key)))
        for key in sorted(set(have) - wanted, key=str):
            problems.append(Problem(domain.name, locale, "unused", _label(key)))
        for key, message in have.items():
            if key not in wanted:
                continue
            strings = (
                message.string if isinstance(message.string, tuple | list) else [message.string]
            )
            if message.fuzzy:
                problems.append(Problem(domain.name, locale, "fuzzy", _label(key)))
            elif not all(strings):
                problems.append(Problem(domain.name, locale, "untranslated", _label(key)))
    return problems


def _label(key: str | tuple[str, ...]) -> str:
    return repr(key[0] if isinstance(key, tuple) else key)
