"""The recipient's locale for templates, through the i18n plugin when it is active.

`Translations` gives the template owner's catalogs in the negotiated locale, plus Babel
formats (`{{ l10n.format_date(day) }}` in a template). Mail does not require i18n: without
it, templates render as written (untranslated) with the locale asked for, so mail never
waits on translations. Every plugin's templates are translated from the catalogs the
kernel declared when that plugin started.
"""

from __future__ import annotations

import gettext
from typing import Any

from mindframe.sdk import PluginContext, ServiceError
from mindframe.sdk.i18n import DEFAULT_LOCALE, Translations, negotiate_locale


class PlainLocalizer:
    """What a template sees without the i18n plugin: gettext that returns the text."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.catalog = gettext.NullTranslations()
        self.gettext = self.catalog.gettext
        self.ngettext = self.catalog.ngettext


class Locales:
    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx

    def localizer(self, owner: str, locale: str | None) -> Any:
        """`owner`'s catalogs in `locale` (negotiated: `de_AT` → `de`), or a plain one."""
        try:
            service = self._ctx.resolve(Translations)
        except ServiceError:
            return PlainLocalizer(negotiate_locale([locale]) or DEFAULT_LOCALE)
        return service.localizer(owner, service.negotiate(locale))
