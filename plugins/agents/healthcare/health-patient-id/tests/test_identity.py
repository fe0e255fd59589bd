"""Identity numbers against known answers: numbers built here with each country's published
check-digit rule (Norway's two mod-11 digits, Sweden's Luhn digit, Finland's mod-31
character) and examples published by the registries' documentation, each with the birth
date and sex it must read out; then the same numbers broken one way at a time."""

from __future__ import annotations

from datetime import date

import pytest
from mindframe_plugins.health_patient_id.identity import read

TODAY = date(2026, 6, 1)


def norwegian(first_nine: str) -> str:
    """Both check digits by the rule of the Norwegian population register."""
    k1 = (
        11
        - sum(w * int(d) for w, d in zip((3, 7, 6, 1, 8, 9, 4, 5, 2), first_nine, strict=True)) % 11
    )
    k1 = 0 if k1 == 11 else k1
    ten = first_nine + str(k1)
    k2 = 11 - sum(w * int(d) for w, d in zip((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), ten, strict=True)) % 11
    k2 = 0 if k2 == 11 else k2
    assert k1 < 10 and k2 < 10, "this individual number is not issued; pick another"
    return ten + str(k2)


def luhn(nine: str) -> str:
    """Sweden's check digit: the Luhn algorithm over the ten-digit form."""
    total = 0
    for i, digit in enumerate(int(d) for d in nine):
        doubled = digit * 2 if i % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return nine + str((10 - total % 10) % 10)


def finnish(dmy: str, sign: str, individual: str) -> str:
    return (
        f"{dmy}{sign}{individual}" + "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(dmy + individual) % 31]
    )


VALID = [
    # (number, country, kind, birth date, sex)
    (norwegian("140385123"), "NO", "fodselsnummer", date(1985, 3, 14), "male"),
    (norwegian("140385124"), "NO", "fodselsnummer", date(1985, 3, 14), "female"),
    (norwegian("010705513"), "NO", "fodselsnummer", date(2005, 7, 1), "male"),  # 500-999, < 40
    (norwegian("540385123"), "NO", "d_number", date(1985, 3, 14), "male"),  # day + 40
    (norwegian("144385124"), "NO", "h_number", date(1985, 3, 14), "female"),  # month + 40
    ("15108695088", "NO", "fodselsnummer", date(1986, 10, 15), "female"),  # stdnum's example
    (norwegian("812345678"), "NO", "fh_number", None, None),
    ("811218-9876", "SE", "personnummer", date(1981, 12, 18), "male"),  # the textbook example
    ("19811218-9876", "SE", "personnummer", date(1981, 12, 18), "male"),  # twelve digits
    ("811218+9876", "SE", "personnummer", date(1881, 12, 18), "male"),  # + at 100 years
    (
        luhn("811278984")[:6] + "-" + luhn("811278984")[6:],
        "SE",
        "samordningsnummer",
        date(1981, 12, 18),
        "female",
    ),  # day + 60
    ("070761-4285", "DK", "cpr", date(1961, 7, 7), "male"),  # 4, year 61: 1900s
    ("0707614284", "DK", "cpr", date(1961, 7, 7), "female"),
    ("070710-4284", "DK", "cpr", date(2010, 7, 7), "female"),  # 4, year 10: 2000s
    ("070760-5281", "DK", "cpr", date(1860, 7, 7), "male"),  # 5, year 60: 1800s
    ("131052-308T", "FI", "hetu", date(1952, 10, 13), "female"),  # DVV's example
    (finnish("010203", "A", "457"), "FI", "hetu", date(2003, 2, 1), "male"),
    (finnish("010203", "B", "457"), "FI", "hetu", date(2003, 2, 1), "male"),  # 2023 signs
    (finnish("010203", "Y", "456"), "FI", "hetu", date(1903, 2, 1), "female"),
    (finnish("010203", "-", "923"), "FI", "hetu_temporary", date(1903, 2, 1), "male"),
]


@pytest.mark.parametrize(("number", "country", "kind", "born", "sex"), VALID)
def test_a_valid_number_reads_out_its_kind_birth_date_and_sex(number, country, kind, born, sex):
    reading = read(number, country, TODAY)
    assert (reading.valid, reading.problem) == (True, None)
    assert (reading.kind, reading.birth_date, reading.sex) == (kind, born, sex)
    assert reading.checksum_checked is (country != "DK")


INVALID = [
    ("15108695077", "NO", "checksum"),  # stdnum's example of a bad check digit
    (norwegian("140385123")[:-1] + "0", "NO", "checksum"),
    (norwegian("310285123"), "NO", "date"),  # 31 February, check digits right
    (norwegian("010130512"), "NO", "future"),  # 2030
    ("1403851234", "NO", "length"),
    ("1403851234X", "NO", "format"),
    ("811218-9875", "SE", "checksum"),
    (luhn("810230123")[:6] + "-" + luhn("810230123")[6:], "SE", "date"),  # 30 February
    ("811218-98", "SE", "length"),
    ("811218*9876", "SE", "format"),
    ("310261-4281", "DK", "date"),  # 31 February
    ("070730-4280", "DK", "future"),  # 4 and year 00-36: 2030
    ("131052-308U", "FI", "checksum"),
    ("310252-308Y", "FI", "date"),  # stdnum's example: 31 February
    ("131052A308T", "FI", "future"),  # 2052
    ("131052Z308T", "FI", "format"),
    ("131052-308", "FI", "length"),
]


@pytest.mark.parametrize(("number", "country", "problem"), INVALID)
def test_an_invalid_number_says_what_is_wrong(number, country, problem):
    reading = read(number, country, TODAY)
    assert (reading.valid, reading.problem) == (False, problem)
    assert (reading.birth_date, reading.sex) == (None, None)


def test_the_same_digits_are_read_by_the_country_they_are_said_to_be_from():
    assert read("811218-9876", "SE", TODAY).valid
    assert not read("811218-9876", "FI", TODAY).valid
