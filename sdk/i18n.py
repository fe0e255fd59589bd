"""Translation and locale formatting for plugins: the contract the i18n plugin fulfils.

A plugin asks for the `Translations` service (`ctx.resolve(Translations)`, or a handler
parameter named `translations`) and gets a `Localizer` for one locale: gettext with plural
forms, and numbers, currencies, dates, times and relative times through Babel::

    l10n = translations.for_request(request, "mail")
    l10n.ngettext("{n} new message", "{n} new messages", n).format(n=n)
    l10n.format_currency(129.5, "NOK")

Catalogs are gettext `.po` files in `<plugin>/locales/<locale>/LC_MESSAGES/messages.po`;
the kernel declares each plugin's (`PluginCatalogs`) as it starts. Inside a request,
`ctx.gettext` answers in that request's locale without any of this.
"""

from __future__ import annotations

import gettext
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from babel import Locale, dates, numbers

from mindframe.kernel.locales import (
    CATALOG_DOMAIN,
    LOCALES,
    PluginCatalogs,
    catalog_path,
    catalogs_key,
)

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection

    from mindframe.sdk import PluginContext

DEFAULT_LOCALE = "en_US"
KERNEL_CATALOG = "kernel"
"""The catalog of the kernel and the SDK (`locales/` at the top of the project): the
fallback of every plugin's catalog."""
CURRENCIES: tuple[str, ...] = ("NOK", "SEK", "DKK", "EUR", "USD", "GBP")
LANGUAGE_ALIASES = {"no": "nb", "nn": "nb", "en": DEFAULT_LOCALE}
"""Bare language tags that name one of our locales: Norwegian without a written standard
reads Bokmål, and English without a country reads the default."""

Width = Literal["short", "medium", "long", "full"]
Number = int | float | Decimal


def N_(message: str) -> str:
    """Mark `message` for extraction without translating it now (translate it later, where
    the locale is known)."""
    return message


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags from an `Accept-Language` header, best first (`nb-NO` -> `nb_NO`)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, parameters = part.strip().partition(";")
        quality = 1.0
        if parameters.strip().startswith("q="):
            try:
                quality = float(parameters.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, index, tag.replace("-", "_")))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate_locale(
    wanted: Iterable[str | None], available: Sequence[str] = LOCALES
) -> str | None:
    """The first of `wanted` we have: an exact match, else the same language (`de_AT` ->
    `de`, `en` -> `en_US`, `no` -> `nb`); None when nothing fits."""
    by_lower = {locale.lower(): locale for locale in available}
    for tag in wanted:
        if not tag:
            continue
        tag = tag.replace("-", "_")
        if tag.lower() in by_lower:
            return by_lower[tag.lower()]
        language = tag.split("_")[0].lower()
        alias = LANGUAGE_ALIASES.get(language)
        if alias in available:
            return alias
        for locale in available:
            if locale.split("_")[0].lower() == language:
                return locale
    return None


class Localizer:
    """One locale's messages and formats for one plugin. Immutable and cheap to share."""

    def __init__(self, locale: str, catalog: gettext.NullTranslations | None = None) -> None:
        self.locale = locale
        self.babel_locale = Locale.parse(locale)
        self.catalog = catalog or gettext.NullTranslations()

    def __repr__(self) -> str:
        return f"Localizer({self.locale!r})"

    # --- messages ------------------------------------------------------------------------

    def gettext(self, message: str) -> str:
        return self.catalog.gettext(message)

    _ = gettext

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form of the message for `n`, by the locale's plural rule."""
        return self.catalog.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return self.catalog.pgettext(context, message)

    # --- formats -------------------------------------------------------------------------

    def format_number(self, number: Number) -> str:
        return numbers.format_decimal(number, locale=self.babel_locale)

    def format_percent(self, number: Number) -> str:
        return numbers.format_percent(number, locale=self.babel_locale)

    def format_currency(self, amount: Number, currency: str) -> str:
        """`amount` in `currency` (ISO 4217: NOK, SEK, DKK, EUR, USD, GBP …)."""
        return numbers.format_currency(amount, currency.upper(), locale=self.babel_locale)

    def format_date(self, value: date, width: Width = "medium") -> str:
        return dates.format_date(value, width, locale=self.babel_locale)

    def format_time(self, value: time | datetime, width: Width = "short") -> str:
        return dates.format_time(value, width, locale=self.babel_locale)

    def format_datetime(self, value: datetime, width: Width = "medium") -> str:
        return dates.format_datetime(value, width, locale=self.babel_locale)

    def format_relative(self, value: timedelta | datetime, now: datetime | None = None) -> str:
        """ "in 3 days" / "2 hours ago": a timedelta from now, or a moment relative to `now`."""
        if isinstance(value, datetime):
            now = now or datetime.now(value.tzinfo)
            value = value - now
        return dates.format_timedelta(value, add_direction=True, locale=self.babel_locale)


class Translations(ABC):
    """The service the i18n plugin provides: each plugin's catalogs in every locale.

    Resolve it with `ctx.resolve(Translations)` (put `i18n` in your manifest's `requires`)
    or name a handler parameter `translations`."""

    locales: tuple[str, ...] = LOCALES
    default_locale: str = DEFAULT_LOCALE

    @abstractmethod
    def localizer(self, plugin: str, locale: str | None = None) -> Localizer:
        """`plugin`'s messages in `locale` (the default locale when None or unknown)."""

    def negotiate(self, preferred: str | None = None, accept_language: str | None = None) -> str:
        """The user's own preference, else the best `Accept-Language` match, else the
        settings default."""
        wanted = [preferred, *parse_accept_language(accept_language)]
        return negotiate_locale(wanted, self.locales) or self.default_locale

    def for_request(
        self, connection: ASGIConnection, plugin: str, preferred: str | None = None
    ) -> Localizer:
        """The localizer for this request: `preferred`, else the signed-in user's locale
        (when the auth plugin has identified them), else `Accept-Language`."""
        if preferred is None:
            from .auth import identity_of

            identity = identity_of(connection)
            preferred = identity.locale if identity is not None else None
        locale = self.negotiate(preferred, connection.headers.get("accept-language"))
        return self.localizer(plugin, locale)


AS_WRITTEN = Localizer(DEFAULT_LOCALE)
"""Messages as written, formats of the default locale: what a plugin speaks without i18n."""


def request_localizer(connection: ASGIConnection, ctx: PluginContext | None = None) -> Localizer:
    """This request's localizer for `ctx`'s plugin (the kernel's catalog when None), through
    the i18n plugin of the runtime serving the request: for code that has the connection but
    no injection (guards). Without an active i18n plugin, messages as written."""
    from .auth import request_service

    translations = request_service(connection, Translations)
    if translations is None:
        return AS_WRITTEN
    return translations.for_request(connection, KERNEL_CATALOG if ctx is None else ctx.name)


def declared_catalogs(ctx: PluginContext, plugin: str) -> PluginCatalogs | None:
    """Where `plugin` keeps its catalogs, as the kernel declared them when it started; None
    when it has none or is not loaded. For the plugin that translates (i18n)."""
    registration = ctx.registration(catalogs_key(plugin))
    return registration.get() if registration is not None else None


__all__ = [
    "AS_WRITTEN",
    "CATALOG_DOMAIN",
    "CURRENCIES",
    "DEFAULT_LOCALE",
    "KERNEL_CATALOG",
    "LANGUAGE_ALIASES",
    "LOCALES",
    "N_",
    "Localizer",
    "PluginCatalogs",
    "Translations",
    "catalog_path",
    "declared_catalogs",
    "negotiate_locale",
    "parse_accept_language",
    "request_localizer",
]
