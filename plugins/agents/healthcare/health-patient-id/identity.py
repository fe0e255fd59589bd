"""Nordic national identity numbers read with python-stdnum: whether a number is valid, what
kind it is, and the birth date and sex it carries.

Norway: fødselsnummer, D-number (day + 40), H-number (month + 40) and the health service's
FH-number (first digit 8 or 9, no birth date); two mod-11 check digits. Sweden:
personnummer and samordningsnummer (day + 60), Luhn check digit; a `+` instead of `-` for
people aged 100 or more. Denmark: CPR, whose modulus-11 check was given up in 2007, so only
the date is checked; the seventh digit and the year give the century. Finland: HETU, a
century sign and a check character mod 31; individual numbers 900-999 are temporary.
In every country the second-last digit (Finland: the individual number, Denmark: the last
digit) is odd for men and even for women. stdnum is imported inside `read`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

Country = Literal["NO", "SE", "DK", "FI"]
Kind = Literal[
    "fodselsnummer",
    "d_number",
    "h_number",
    "fh_number",
    "personnummer",
    "samordningsnummer",
    "cpr",
    "hetu",
    "hetu_temporary",
]
Problem = Literal["length", "format", "checksum", "date", "future"]
Sex = Literal["female", "male"]

FINNISH_CENTURIES = {"+": 1800, **dict.fromkeys("-YXWVU", 1900), **dict.fromkeys("ABCDEF", 2000)}


@dataclass(frozen=True)
class Reading:
    number: str
    valid: bool
    kind: Kind | None = None
    problem: Problem | None = None
    birth_date: date | None = None
    sex: Sex | None = None
    checksum_checked: bool = True


class Refused(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        self.problem = problem


def sex_of(digit: str) -> Sex:
    return "male" if int(digit) % 2 else "female"


def norwegian(number: str) -> Reading:
    from stdnum.exceptions import InvalidComponent
    from stdnum.no import fodselsnummer as fnr
    from stdnum.util import isdigits

    number = fnr.compact(number)
    if len(number) != 11:
        raise Refused("length")
    if not isdigits(number):
        raise Refused("format")
    if number[9] != fnr.calc_check_digit1(number) or number[10] != fnr.calc_check_digit2(number):
        raise Refused("checksum")
    if number[0] in "89":
        return Reading(number=number, valid=True, kind="fh_number")
    kind: Kind = (
        "d_number" if number[0] in "4567" else "h_number" if number[2] in "45" else "fodselsnummer"
    )
    try:
        born = fnr.get_birth_date(number)
    except InvalidComponent:
        raise Refused("date") from None
    return Reading(number=number, valid=True, kind=kind, birth_date=born, sex=sex_of(number[8]))


def swedish(number: str) -> Reading:
    from stdnum import luhn
    from stdnum.exceptions import InvalidComponent, ValidationError
    from stdnum.se import personnummer
    from stdnum.util import isdigits

    number = personnummer.compact(number)
    if len(number) not in (11, 13):
        raise Refused("length")
    digits = number[:-5] + number[-4:]
    if number[-5] not in "-+" or not isdigits(digits):
        raise Refused("format")
    day = int(number[-7:-5])
    coordination = day > 60
    dated = f"{number[:-7]}{day - 60:02d}{number[-5:]}" if coordination else number
    try:
        born = personnummer.get_birth_date(dated)
    except InvalidComponent:
        raise Refused("date") from None
    try:
        luhn.validate(digits[-10:])
    except ValidationError:
        raise Refused("checksum") from None
    kind: Kind = "samordningsnummer" if coordination else "personnummer"
    return Reading(number=number, valid=True, kind=kind, birth_date=born, sex=sex_of(number[-2]))


def danish(number: str) -> Reading:
    from stdnum.dk import cpr
    from stdnum.exceptions import InvalidComponent
    from stdnum.util import isdigits

    number = cpr.compact(number)
    if len(number) != 10:
        raise Refused("length")
    if not isdigits(number):
        raise Refused("format")
    try:
        born = cpr.get_birth_date(number)
    except InvalidComponent:
        raise Refused("date") from None
    return Reading(
        number=number,
        valid=True,
        kind="cpr",
        birth_date=born,
        sex=sex_of(number[-1]),
        checksum_checked=False,
    )


def finnish(number: str) -> Reading:
    from stdnum.exceptions import InvalidChecksum, ValidationError
    from stdnum.fi import hetu
    from stdnum.util import isdigits

    number = hetu.compact(number)
    if len(number) != 11:
        raise Refused("length")
    if not (isdigits(number[:6]) and number[6] in FINNISH_CENTURIES and isdigits(number[7:10])):
        raise Refused("format")
    try:
        born = date(
            FINNISH_CENTURIES[number[6]] + int(number[4:6]), int(number[2:4]), int(number[0:2])
        )
    except ValueError:
        raise Refused("date") from None
    try:
        hetu.validate(number, allow_temporary=True)
    except InvalidChecksum:
        raise Refused("checksum") from None
    except ValidationError:  # individual number 000 or 001, or no check character at all
        raise Refused("format") from None
    kind: Kind = "hetu_temporary" if int(number[7:10]) >= 900 else "hetu"
    return Reading(number=number, valid=True, kind=kind, birth_date=born, sex=sex_of(number[9]))


READERS = {"NO": norwegian, "SE": swedish, "DK": danish, "FI": finnish}


def read(number: str, country: Country, today: date) -> Reading:
    """What `number` is as an identity number of `country`, valid or not and why."""
    try:
        reading = READERS[country](number)
    except Refused as refused:
        return Reading(number=number.strip(), valid=False, problem=refused.problem)
    if reading.birth_date is not None and reading.birth_date > today:
        return Reading(number=reading.number, valid=False, kind=reading.kind, problem="future")
    return reading
