"""`mindframe new`: write a new plugin folder that loads, serves and passes its own tests.

The files come from `templates/plugin/` (`*.tmpl`, `string.Template` placeholders), so
the generated plugin can be read and changed as plain files; the catalog is written once
per locale that `mindframe check` asks for.
"""

from __future__ import annotations

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


def new_plugin(name: str, parent: Path) -> Path:
    """Write plugin `name` into `parent/<name>/` and return that folder."""
    if not NAME_PATTERN.match(name):
        raise ScaffoldError(
            f"{name!r} is not a plugin name: use lowercase letters, digits, '-' or '_', "
            "starting with a letter (e.g. 'weather')"
        )
    if name in RESERVED_NAMES:
        raise ScaffoldError(f"{name!r} is reserved by the kernel's URLs; choose another name")
    folder = parent / name
    if folder.exists():
        raise ScaffoldError(f"{folder} already exists; choose another name or --dir")
    values = placeholders(name)
    source = TEMPLATES / "plugin"
    for template in sorted(source.rglob("*.tmpl")):
        relative = template.relative_to(source).with_suffix("")
        if relative.parts[0] == "locales":
            continue
        target = folder / str(relative).replace("PLUGIN", values["module"])
        _write(target, Template(template.read_text(encoding="utf-8")).substitute(values))
    catalog = Template((source / "locales" / "messages.po.tmpl").read_text(encoding="utf-8"))
    for locale in LOCALES:
        hello, too_long = MESSAGES[locale]
        text = catalog.substitute(values, locale=locale, hello=hello, too_long=too_long)
        _write(catalog_path(folder / "locales", locale), text)
    return folder


def new_agent(industry: str, name: str, parent: Path) -> Path:
    """The hook point for agents: once the agent toolkit is in `mindframe.sdk`, this writes
    `parent/agents/<industry>/<name>/` from `templates/agent/`. Until then it refuses."""
    raise ScaffoldError(
        f"cannot create agent {industry}/{name}: the agent toolkit is not in mindframe.sdk "
        "yet, so there is no agent template to write. Write a plain plugin with "
        "`mindframe new plugin NAME` for now"
    )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
