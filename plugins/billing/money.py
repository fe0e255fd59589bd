"""Currencies we bill in; amounts are integers in the currency's minor unit."""

from __future__ import annotations

from decimal import Decimal

CURRENCIES = ("NOK", "SEK", "DKK", "EUR", "USD", "GBP")
MINOR_UNITS = 100  # every currency above has two decimals


def major(amount: int) -> Decimal:
    """Minor units as the decimal amount Babel formats: 12950 -> 129.50."""
    return Decimal(amount) / MINOR_UNITS
