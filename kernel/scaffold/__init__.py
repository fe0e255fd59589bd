"""`mindframe new`: write a new plugin (or agent) folder that loads, serves and passes its own
tests.

The files come from `templates/plugin/` and `templates/agent/` (`*.tmpl`, `string.Template`
placeholders), so the generated folder can be read and changed as plain files; the catalog
is written once per locale that `mindframe check` asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from string import Template

from ..locales import LOCALES, catalog_path
from ..manifest import NAME_PATTERN
from ..runtime import RESERVED_NAMES

TEMPLATES = Path(__file__).parent / "templates"


# The generated plugin's two messages, written in each locale's catalog.
MESSAGES: dict[str, tuple[str, str]] = {
    "nb": ("Hei, {who}!", "Navn kan være høyst {limit} tegn lange."),
    "sv": ("Hej, {who}!", "Namn får vara högst {limit} tecken långa."),
    "da": ("Hej, {who}!", "Navne må højst være {limit} tegn lange."),
    "fi": ("Hei, {who}!", "Nimi saa olla enintään {limit} merkkiä pitkä."),
    "de": ("Hallo, {who}!", "Namen dürfen höchstens {limit} Zeichen lang sein."),
    "en_US": ("Hello, {who}!", "Names are at most {limit} characters long."),
    "en_GB": ("Hello, {who}!", "Names are at most {limit} characters long."),
}


class ScaffoldError(Exception):
    """The plugin cannot be written; the message says why and what to do."""


def placeholders(name: str) -> dict[str, str]:
    module = name.replace("-", "_")
    return {
        "name": name,
        "module": module,
        "MODULE": module.upper(),
        "Class": "".join(part.capitalize() for part in module.split("_")),
    }


AGENT_MESSAGES: dict[str, dict[str, str]] = {
    "nb": {
        "text": "Teksten som ordene skal telles i",
        "words": "Hvor mange ord teksten har",
        "summary": "Svaret, på spørrerens språk",
        "one_word": "{n} ord",
        "many_words": "{n} ord",
        "title": "Ordteller",
        "description": "Teller ordene i en tekst.",
    },
    "sv": {
        "text": "Texten vars ord ska räknas",
        "words": "Hur många ord texten har",
        "summary": "Svaret, på frågeställarens språk",
        "one_word": "{n} ord",
        "many_words": "{n} ord",
        "title": "Ordräknare",
        "description": "Räknar orden i en text.",
    },
    "da": {
        "text": "Teksten, hvis ord skal tælles",
        "words": "Hvor mange ord teksten har",
        "summary": "Svaret, på spørgerens sprog",
        "one_word": "{n} ord",
        "many_words": "{n} ord",
        "title": "Ordtæller",
        "description": "Tæller ordene i en tekst.",
    },
    "fi": {
        "text": "Teksti, jonka sanat lasketaan",
        "words": "Montako sanaa tekstissä on",
        "summary": "Vastaus kysyjän kielellä",
        "one_word": "{n} sana",
        "many_words": "{n} sanaa",
        "title": "Sanalaskuri",
        "description": "Laskee tekstin sanat.",
    },
    "de": {
        "text": "Der Text, dessen Wörter gezählt werden",
        "words": "Wie viele Wörter der Text hat",
        "summary": "Die Antwort in der Sprache des Fragenden",
        "one_word": "{n} Wort",
        "many_words": "{n} Wörter",
        "title": "Wortzähler",
        "description": "Zählt die Wörter eines Textes.",
    },
    "en_US": {
        "text": "The text to count the words of",
        "words": "How many words the text has",
        "summary": "The answer, in the asker's language",
        "one_word": "{n} word",
        "many_words": "{n} words",
        "title": "Word counter",
        "description": "Counts the words of a text.",
    },
}
AGENT_MESSAGES["en_GB"] = AGENT_MESSAGES["en_US"]
"""The generated agent's messages, written in each locale's catalog."""


def new_plugin(name: str, parent: Path) -> Path:
    """Write plugin `name` into `parent/<name>/` and return that folder."""
    _check_name(name, "plugin")
    folder = _free_folder(parent / name)
    values = placeholders(name)

    def catalog(locale: str) -> dict[str, str]:
        hello, too_long = MESSAGES[locale]
        return {"hello": hello, "too_long": too_long}

    _write_templates(TEMPLATES / "plugin", folder, values, "PLUGIN", catalog)
    return folder


def new_agent(industry: str, name: str, parent: Path) -> Path:
    """Write agent `name` of `industry` into `parent/<name>/` (by default `parent` is
    `plugins/agents/<industry>`) and return that folder: an agent plugin whose tests pass."""
    from mindframe.sdk.agents.declaration import RESERVED_AGENT_NAMES

    _check_name(industry, "industry")
    _check_name(name, "agent")
    if name in RESERVED_AGENT_NAMES:
        raise ScaffoldError(f"{name!r} is taken by /api/agents/{name}; choose another name")
    folder = _free_folder(parent / name)
    values = {**placeholders(name), "industry": industry}
    _write_templates(TEMPLATES / "agent", folder, values, "AGENT", AGENT_MESSAGES.__getitem__)
    return folder


def _check_name(name: str, kind: str) -> None:
    if not NAME_PATTERN.match(name):
        raise ScaffoldError(
            f"{name!r} is not {article(kind)} {kind} name: use lowercase letters, digits, '-' "
            "or '_', starting with a letter (e.g. 'weather')"
        )
    if name in RESERVED_NAMES:
        raise ScaffoldError(f"{name!r} is reserved by the kernel's URLs; choose another name")


def article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" else "a"


def _free_folder(folder: Path) -> Path:
    if folder.exists():
        raise ScaffoldError(f"{folder} already exists; choose another name or --dir")
    return folder


def _write_templates(
    source: Path,
    folder: Path,
    values: dict[str, str],
    stem: str,
    catalog_values: Callable[[str], dict[str, str]],
) -> None:
    """Every `*.tmpl` under `source` into `folder` (`stem` in a file name becomes the module
    name), and the catalog template once per locale with that locale's messages."""
    for template in sorted(source.rglob("*.tmpl")):
        relative = template.relative_to(source).with_suffix("")
        if relative.parts[0] == "locales":
            continue
        target = folder / str(relative).replace(stem, values["module"])
        _write(target, Template(template.read_text(encoding="utf-8")).substitute(values))
    catalog = Template((source / "locales" / "messages.po.tmpl").read_text(encoding="utf-8"))
    for locale in LOCALES:
        text = catalog.substitute(values, locale=locale, **catalog_values(locale))
        _write(catalog_path(folder / "locales", locale), text)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
