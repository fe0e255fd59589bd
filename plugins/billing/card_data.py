"""Keeping card data out: no billing route takes a card number, and one that arrives anyway
is refused before any handler reads it, and never logged.

PCI-DSS scope stays with the providers: customers type card numbers into Stripe's Checkout
page or Stripe.js, or pay in the Vipps MobilePay app. A request body or query holding a
13 to 19 digit number (spaces and dashes allowed) that passes the Luhn check is taken for a
card number and answered with 400. Digits inside a longer word (a hexadecimal id such as
`4a4242424242424242f0…`) are part of that word, not a card number: one in a few hundred
random ids would otherwise hold a Luhn-valid run of digits and be refused.
"""

from __future__ import annotations

import re

CANDIDATE = re.compile(r"(?<![\w.])(?:\d[ -]?){12,18}\d(?![\w.])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, character in enumerate(reversed(digits)):
        value = int(character)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def holds_card_number(text: str) -> bool:
    for match in CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False
