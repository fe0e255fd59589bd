"""Mail templates: Jinja2 folders that any plugin can register, rendered in a locale.

A template is a folder named after it holding `subject.txt`, `body.txt` and, optionally,
`body.html`. `{% trans %}` and `_()` translate through the gettext translations passed to
`render` (`l10n`, which also formats dates and numbers: `{{ l10n.format_date(day) }}`),
so the same template serves every locale. Undefined variables are errors
(StrictUndefined): a mail that silently says "Dear ," is worse than none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from .composing import Content
from .errors import MailError, MissingTemplateVariable, UnknownTemplate

SUBJECT, TEXT, HTML = "subject.txt", "body.txt", "body.html"


@dataclass(frozen=True)
class Template:
    name: str
    folder: Path
    owner: str
    environment: jinja2.Environment
    priority: str


class TemplateRegistry:
    """Name → template folder. Registering returns the function that unregisters, so a
    plugin can hand it straight to `ctx.on_unload` and a reload registers anew."""

    def __init__(self) -> None:
        self._templates: dict[str, Template] = {}

    def register(
        self, folder: Path, owner: str, priorities: Mapping[str, str] | None = None
    ) -> Callable[[], None]:
        """Every subfolder of `folder` with a `subject.txt` becomes a template."""
        folder = Path(folder)
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(folder),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(["html"]),
            extensions=["jinja2.ext.i18n"],
            keep_trailing_newline=True,
        )
        found = [path.parent for path in sorted(folder.glob(f"*/{SUBJECT}"))]
        if not found:
            raise ValueError(
                f"no templates in {folder}: expected <name>/{SUBJECT} and <name>/{TEXT}"
            )
        added: list[Template] = []
        for path in found:
            held = self._templates.get(path.name)
            if held is not None and held.owner != owner:
                raise ValueError(
                    f"mail template {path.name!r} is already registered by '{held.owner}'"
                )
            if not (path / TEXT).is_file():
                raise ValueError(f"mail template {path.name!r} has no {TEXT} in {path}")
            priority = (priorities or {}).get(path.name, "normal")
            added.append(Template(path.name, folder, owner, environment, priority))
        for template in added:
            self._templates[template.name] = template

        def unregister() -> None:
            for template in added:
                if self._templates.get(template.name) is template:
                    del self._templates[template.name]

        return unregister

    def names(self) -> list[str]:
        return sorted(self._templates)

    def get(self, name: str) -> Template:
        try:
            return self._templates[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise UnknownTemplate(f"unknown mail template {name!r}; known: {known}") from None

    def render(self, name: str, context: Mapping[str, Any], l10n: Any) -> Content:
        """Render the template's parts with `l10n` (a `Localizer`: `locale`, `gettext`,
        `ngettext`) for `{% trans %}`, `_()` and `{{ l10n.format_… }}`."""
        template = self.get(name)
        values = {
            **context,
            "locale": l10n.locale,
            "l10n": l10n,
            "gettext": l10n.gettext,
            "ngettext": l10n.ngettext,
            "_": l10n.gettext,
        }

        def part(file: str) -> str | None:
            if not (template.folder / name / file).is_file():
                return None
            return template.environment.get_template(f"{name}/{file}").render(values)

        try:
            subject, text, html = part(SUBJECT), part(TEXT), part(HTML)
        except jinja2.UndefinedError as error:
            raise MissingTemplateVariable(
                f"mail template {name!r} needs a value the context does not give: {error}"
            ) from None
        except jinja2.TemplateError as error:
            raise MailError(f"mail template {name!r} could not be rendered: {error}") from None
        return Content(subject=(subject or "").strip(), text=text or "", html=html)
