"""The recipient's locale for templates: through the i18n plugin when it runs.

`Translations` (from `mindframe.sdk.i18n`) gives each template owner's catalogs in the
chosen locale, plus Babel formats (`l10n.format_date(...)` in a template). Without the
i18n plugin (or before that SDK module exists) templates render as written, untranslated,
in the locale asked for, so mail never waits on translations.
"""

from __future__ import annotations

import gettext
from typing import Any

from mindframe.sdk import PluginContext, ServiceError

try:
    from mindframe.sdk.i18n import DEFAULT_LOCALE, Localizer, Translations
except ImportError:  # an SDK without i18n: plain rendering
    Translations = None  # type: ignore[assignment,misc]
    DEFAULT_LOCALE = "en_US"
    Localizer = None  # type: ignore[assignment,misc]


class PlainLocalizer:
    """What a template sees without the i18n plugin: gettext that returns the text."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.catalog = gettext.NullTranslations()
        self.gettext = self.catalog.gettext
        self.ngettext = self.catalog.ngettext


def localizer(ctx: PluginContext, owner: str, locale: str | None) -> Any:
    """`owner`'s catalogs in `locale` (negotiated: `de_AT` → `de`), or a plain one."""
    if Translations is not None:
        try:
            service = ctx.resolve(Translations)
        except ServiceError:
            pass
        else:
            return service.localizer(owner, service.negotiate(locale))
    return PlainLocalizer(locale or DEFAULT_LOCALE)
