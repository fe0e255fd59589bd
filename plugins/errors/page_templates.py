"""The pages' Jinja2 templates (`templates/pages/`), rendered in the request's locale.

Autoescaping is on for every template, so whatever an event carries (titles, messages,
source lines, variables) reaches the browser as text, never as markup; data for scripts is
embedded with `|tojson`, which escapes `<`, `>`, `&` and `'` as well. Each template gets the
request's `Localizer` (`l10n`), `_` and `ngettext` from this plugin's catalogs, and helpers
to show times in the locale.
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
    """`template` rendered for this request, in its locale."""
    l10n = request_localizer(request, ctx)
    return _environment.get_template(template).render(
        l10n=l10n,
        lang=l10n.locale.replace("_", "-"),
        _=l10n.gettext,
        gettext=l10n.gettext,
        ngettext=l10n.ngettext,
        when=lambda seconds: moment(l10n, seconds),
        number=l10n.format_number,
        **values,
    )


def moment(l10n: Localizer, seconds: float | None) -> str:
    """A unix time as the locale writes a date and time, in UTC."""
    if seconds is None:
        return ""
    return f"{l10n.format_datetime(datetime.fromtimestamp(seconds, UTC), 'short')} UTC"
