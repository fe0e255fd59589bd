"""VAT by the buyer's country, and EU reverse charge for businesses with a valid VAT number.

Prices are net; VAT is added per invoice and rounded half up to the minor unit. A VAT
number is checked by its format and check digits (python-stdnum), offline: the runtime
cannot reach VIES from here, so an administrator confirms doubtful numbers there.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

RATES: dict[str, Decimal] = {
    "NO": Decimal("25"),
    "SE": Decimal("25"),
    "DK": Decimal("25"),
    "FI": Decimal("25.5"),
    "DE": Decimal("19"),
    "GB": Decimal("20"),
}
"""Standard rates in percent for the countries we sell to."""

EU = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
VAT_PREFIX = {"GR": "EL"}  # Greece's VAT numbers start with EL


class UnknownCountry(ValueError):
    """A buyer in a country whose VAT rate we do not know."""


@dataclass(frozen=True, slots=True)
class VatTreatment:
    rate: Decimal  # percent
    reverse_charge: bool

    def on(self, net: int) -> int:
        """The VAT on `net` minor units, rounded half up."""
        return int((Decimal(net) * self.rate / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def valid_eu_vat_number(country: str, number: str | None) -> bool:
    """Whether `number` is a well-formed EU VAT number of `country` (check digits included)."""
    if not number or country not in EU:
        return False
    from stdnum.eu import vat  # where it is used: the plugin imports without it

    try:
        compact = vat.validate(number)
    except Exception:  # stdnum's ValidationError family: any refusal means not valid
        return False
    return compact.startswith(VAT_PREFIX.get(country, country))


def treatment(
    seller_country: str, buyer_country: str, is_business: bool, vat_number: str | None
) -> VatTreatment:
    """Reverse charge (0 %, the buyer accounts for VAT) for an EU business in another country
    than the seller with a valid VAT number; else the buyer's country's standard rate."""
    buyer_country = buyer_country.upper()
    if (
        is_business
        and buyer_country != seller_country.upper()
        and valid_eu_vat_number(buyer_country, vat_number)
    ):
        return VatTreatment(Decimal(0), reverse_charge=True)
    if buyer_country not in RATES:
        raise UnknownCountry(buyer_country)
    return VatTreatment(RATES[buyer_country], reverse_charge=False)
