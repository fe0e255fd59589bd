"""Patient identity numbers: whether a Norwegian, Swedish, Danish or Finnish national
identity number is valid, what kind of number it is, and the birth date and sex it
carries; an invalid one says why (length, characters, check digits, date)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec

from mindframe.sdk.agents import Agent, Run
from mindframe.sdk.i18n import N_

from .identity import Country, Kind, Problem, Reading, Sex, read

MAX_NUMBERS = 15

KINDS: dict[Kind, str] = {
    "fodselsnummer": N_("Norwegian national identity number (fødselsnummer)"),
    "d_number": N_("Norwegian D-number, for people not registered as living in Norway"),
    "h_number": N_("Norwegian H-number, a temporary number given by the health service"),
    "fh_number": N_(
        "Norwegian FH-number, the health service's common help number: it holds no birth "
        "date or sex"
    ),
    "personnummer": N_("Swedish personal identity number (personnummer)"),
    "samordningsnummer": N_("Swedish coordination number (samordningsnummer)"),
    "cpr": N_(
        "Danish CPR number (its check digit is not checked: numbers without one have been "
        "issued since 2007)"
    ),
    "hetu": N_("Finnish personal identity code (henkilötunnus)"),
    "hetu_temporary": N_("Finnish temporary identity code"),
}
PROBLEMS: dict[Problem, str] = {
    "length": N_("Wrong length for a number of this country"),
    "format": N_("Characters that do not belong in a number of this country"),
    "checksum": N_("The check digits do not match: the number is probably mistyped"),
    "date": N_("The birth date in the number is not a real date"),
    "future": N_("The birth date in the number is in the future"),
}


class IdentityNumber(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    number: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=20,
            description=N_("The identity number, with or without separators"),
            examples=["131052-308T"],
        ),
    ]
    country: Annotated[
        Country,
        msgspec.Meta(description=N_("The country that issued it: NO, SE, DK or FI")),
    ]


class IdentityRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    numbers: Annotated[
        list[IdentityNumber],
        msgspec.Meta(min_length=1, max_length=MAX_NUMBERS, description=N_("The numbers to check")),
    ]


class Described(msgspec.Struct, kw_only=True):
    number: Annotated[str, msgspec.Meta(description=N_("The number without separators"))]
    country: Country
    valid: bool
    kind: Kind | None
    problem: Annotated[
        Problem | None,
        msgspec.Meta(description=N_("What is wrong: length, format, checksum, date, future")),
    ]
    explanation: Annotated[
        str, msgspec.Meta(description=N_("The kind of number, or what is wrong, in words"))
    ]
    birth_date: date | None
    sex: Annotated[Sex | None, msgspec.Meta(description=N_("The sex the number was issued for"))]
    checksum_checked: Annotated[
        bool, msgspec.Meta(description=N_("Whether the number has check digits that were checked"))
    ]


class IdentityReport(msgspec.Struct, kw_only=True):
    results: list[Described]
    summary: str


def numbers(data: IdentityRequest) -> list[str]:
    """The audit's subjects: the numbers read, without separators."""
    return ["".join(c for c in item.number if c.isalnum()) for item in data.numbers]


def described(item: IdentityNumber, reading: Reading, run: Run) -> Described:
    if reading.valid:
        assert reading.kind is not None
        explanation = run.gettext(KINDS[reading.kind])
    else:
        assert reading.problem is not None
        explanation = run.gettext(PROBLEMS[reading.problem])
    return Described(
        number=reading.number,
        country=item.country,
        valid=reading.valid,
        kind=reading.kind,
        problem=reading.problem,
        explanation=explanation,
        birth_date=reading.birth_date,
        sex=reading.sex,
        checksum_checked=reading.checksum_checked and reading.valid,
    )


async def run(data: IdentityRequest, run: Run) -> IdentityReport:
    today = date.today()
    results = [
        described(item, read(item.number, item.country, today), run) for item in data.numbers
    ]
    valid = sum(item.valid for item in results)
    summary = run.ngettext(
        "{valid} of {count} number is valid.", "{valid} of {count} numbers are valid.", len(results)
    ).format(valid=valid, count=len(results))
    return IdentityReport(results=results, summary=summary)


AGENT = Agent(
    industry="healthcare",
    title=N_("Patient identity numbers"),
    description=N_(
        "Checks Norwegian (fødselsnummer, D- and H-numbers), Swedish (personnummer, "
        "samordningsnummer), Danish (CPR) and Finnish (henkilötunnus) identity numbers and "
        "reads out the kind of number, the birth date and the sex; an invalid number says "
        "what is wrong with it."
    ),
    input=IdentityRequest,
    output=IdentityReport,
    run=run,
    health_data=True,  # identity numbers name patients and carry their birth date and sex
    subject=numbers,
)
