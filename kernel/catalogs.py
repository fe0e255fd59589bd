"""Catalog upkeep with Babel: the messages a body of code marks, its catalogs brought in
line with them, and what keeps those catalogs from being complete. One implementation for
`mindframe i18n update|check` (the i18n plugin) and `mindframe check`."""

from __future__ import annotations

import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from .locales import LOCALES, catalog_path

SKIPPED = {"tests", "locales", "__pycache__", "node_modules", "static"}
ProblemKind = Literal["no catalog", "missing", "untranslated", "fuzzy", "unused"]


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
class CatalogProblem:
    """One thing keeping a catalog from holding exactly its domain's messages, translated:
    `path` is the catalog file, `line` the entry's (0 when it has none)."""

    domain: str
    locale: str
    kind: ProblemKind
    message: str
    path: Path
    line: int = 0

    def __str__(self) -> str:
        return f"{self.domain} [{self.locale}] {self.kind}: {self.message}"


def _method_map() -> list[tuple[str, str]]:
    methods = [("**.py", "python")]
    if importlib.util.find_spec("jinja2") is not None:
        methods += [("**/templates/**.html", "jinja2"), ("**/templates/**.txt", "jinja2")]
    return methods


def _skip(dirname: str) -> bool:
    return dirname in SKIPPED or dirname.startswith(".")


def extract_messages(domain: Domain) -> Catalog:
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


def read_catalog(path: Path, locale: str) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def update_catalogs(domain: Domain, locales: tuple[str, ...] = LOCALES) -> list[Path]:
    """Bring each locale's catalog in line with the code: new messages added untranslated,
    removed ones dropped, missing catalogs created. Nothing is guessed: a new message is
    never given the translation of an old one that looks alike (Babel's fuzzy matching put
    a Swedish "Namn får vara högst…" on a message about notes)."""
    template = extract_messages(domain)
    if not len(template) and not domain.locales.is_dir():
        return []
    written = []
    for locale in locales:
        path = catalog_path(domain.locales, locale)
        catalog = read_catalog(path, locale) if path.is_file() else Catalog(locale=locale)
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.project = domain.name
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        write_po(buffer, catalog, width=100, ignore_obsolete=True)
        path.write_bytes(buffer.getvalue())
        written.append(path)
    return written


def catalog_problems(domain: Domain, locales: tuple[str, ...] = LOCALES) -> list[CatalogProblem]:
    """Per locale: the catalog missing, messages missing from it, untranslated or fuzzy in
    it, and entries no code uses any more (`update_catalogs` drops those)."""
    wanted = {message.id for message in extract_messages(domain) if message.id}
    if not wanted and not domain.locales.is_dir():
        return []
    return [p for locale in locales for p in _problems_in(domain, locale, wanted)]


def _problems_in(domain: Domain, locale: str, wanted: set[object]) -> list[CatalogProblem]:
    path = catalog_path(domain.locales, locale)
    if not path.is_file():
        return [CatalogProblem(domain.name, locale, "no catalog", str(path), path)]

    def problem(kind: ProblemKind, key: object, line: int = 0) -> CatalogProblem:
        return CatalogProblem(domain.name, locale, kind, _label(key), path, line)

    have: dict[object, Message] = {m.id: m for m in read_catalog(path, locale) if m.id}
    problems = [problem("missing", key) for key in sorted(wanted - set(have), key=str)]
    for key, message in have.items():
        line = message.lineno or 0
        if key not in wanted:
            problems.append(problem("unused", key, line))
        elif message.fuzzy:
            problems.append(problem("fuzzy", key, line))
        elif not all(_strings(message)):
            problems.append(problem("untranslated", key, line))
    return problems


def _strings(message: Message) -> list[str]:
    string = message.string
    return list(string) if isinstance(string, tuple | list) else [string]


def _label(key: object) -> str:
    return repr(key[0] if isinstance(key, tuple) else key)
