"""The pages' Jinja2 templates (`templates/pages/`), rendered in the request's language.

Autoescaping is on for every template, so what customers write (subjects, names, messages)
reaches the agent's browser as text, never as markup; data for the scripts goes in with
`|tojson`, which escapes `<`, `>`, `&` and `'` too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request

from mindframe.sdk import PluginContext
from mindframe.sdk.i18n import Localizer, request_localizer

FOLDER = Path(__file__).parent / "templates" / "pages"
_environment = Environment(
    loader=FileSystemLoader(FOLDER),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(ctx: PluginContext, request: Request, template: str, **values: Any) -> str:
    """`template` rendered for this request, in its language."""
    l10n = request_localizer(request, ctx)
    return _environment.get_template(template).render(
        lang=l10n.locale.replace("_", "-"),
        _=l10n.gettext,
        when=lambda seconds: moment(l10n, seconds),
        **values,
    )


def moment(l10n: Localizer, value: float | datetime | None) -> str:
    """A moment as the locale writes a date and time, in UTC."""
    if value is None:
        return ""
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(value, UTC)
    return f"{l10n.format_datetime(value.astimezone(UTC), 'short')} UTC"
