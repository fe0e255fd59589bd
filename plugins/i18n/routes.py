"""HTTP: `/api/i18n/locales` (what is offered and what this request negotiates) and
`/api/i18n/preview` (how numbers, money and dates look in the negotiated locale)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated

import msgspec
from litestar import Request, get
from litestar.di import NamedDependency
from litestar.exceptions import ClientException
from litestar.params import FromQuery, Parameter

from mindframe.sdk.i18n import CURRENCIES, Translations


class LocaleChoice(msgspec.Struct):
    locales: list[str]
    default: str
    negotiated: str


class Preview(msgspec.Struct):
    locale: str
    number: str
    currency: str
    date: str
    time: str
    relative: str
    messages: str


@get("/locales", summary="The locales offered, and the one this request negotiates")
async def list_locales(
    request: Request, translations: NamedDependency[Translations]
) -> LocaleChoice:
    negotiated = translations.for_request(request, "i18n").locale
    return LocaleChoice(list(translations.locales), translations.default_locale, negotiated)


@get("/preview", summary="Numbers, money, dates and times as this request's locale writes them")
async def preview(
    request: Request,
    translations: NamedDependency[Translations],
    # A decimal written out: no exponent, NaN or Infinity, and few enough digits for babel's
    # rounding (28 significant) in any locale. Decimal cannot carry bounds in a signature,
    # so the pattern does: Litestar checks it and the schema states it.
    amount: FromQuery[Annotated[str, Parameter(pattern=r"^-?[0-9]{1,15}(\.[0-9]{1,6})?$")]] = (
        "1234.5"
    ),
    currency: FromQuery[Annotated[str, Parameter(max_length=3)]] = "EUR",
    day: FromQuery[date] = date(2024, 3, 5),
    locale: FromQuery[Annotated[str | None, Parameter(max_length=20)]] = None,
    count: FromQuery[Annotated[int, Parameter(ge=0, le=10**9)]] = 2,
) -> Preview:
    value = Decimal(amount)  # finite, below 10**15: the pattern admits nothing else
    l10n = translations.for_request(request, "i18n", preferred=locale)
    if currency.upper() not in CURRENCIES:
        message = l10n.gettext("currency must be one of {currencies}")
        raise ClientException(message.format(currencies=", ".join(CURRENCIES)))
    moment = datetime(day.year, day.month, day.day, 14, 30, tzinfo=UTC)
    return Preview(
        locale=l10n.locale,
        number=l10n.format_number(value),
        currency=l10n.format_currency(value, currency),
        date=l10n.format_date(day),
        time=l10n.format_time(moment),
        relative=l10n.format_relative(timedelta(days=-2)),
        messages=l10n.ngettext("{count} message", "{count} messages", count).format(count=count),
    )
