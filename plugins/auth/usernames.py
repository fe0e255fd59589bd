"""Usernames: one form per name, so that names which look alike cannot pose as each other.

A name is kept and compared in its canonical form: NFKC, case-folded, NFKC again (folding
can undo the normalisation). A new name may not hold control, format, whitespace, private
or unassigned characters, nor letters of scripts that do not belong together, such as a
Cyrillic 'a' (U+0430) in 'admin'. Scripts are told apart by the characters' Unicode names (the
standard library has no script property); Han, kana, Hangul and Bopomofo may mix with Latin
as Unicode's "highly restrictive" level (UTS #39) allows."""

from __future__ import annotations

import unicodedata

from mindframe.sdk.i18n import N_

from .refusals import Refusal

MAX_LENGTH = 150  # the column's width
REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}
SCRIPT_ALIASES = {
    "CJK": "HAN",
    "IDEOGRAPHIC": "HAN",
    "KATAKANA-HIRAGANA": "KATAKANA",
    "ARABIC-INDIC": "ARABIC",
    "EXTENDED": "ARABIC",  # EXTENDED ARABIC-INDIC DIGIT
}
SCRIPTS_THAT_MIX = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


def canonical(name: str) -> str:
    """The form `name` is kept and looked up in: 'ADA' and fullwidth 'Ada' are both 'ada'."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def checked(name: str) -> str:
    """The canonical form of a new `name`, or a Refusal (400) saying what is wrong with it."""
    name = canonical(name)
    if len(name) > MAX_LENGTH:
        raise Refusal(N_("a username has at most {count} characters"), count=MAX_LENGTH)
    for character in name:
        if unicodedata.category(character) in REFUSED_CATEGORIES:
            raise Refusal(
                N_(
                    "a username cannot contain {character}: use letters, digits and "
                    "punctuation, without spaces"
                ),
                character=describe(character),
            )
    scripts = {script for character in name if (script := script_of(character))}
    if len(scripts) > 1 and not any(scripts <= mix for mix in SCRIPTS_THAT_MIX):
        raise Refusal(
            N_("a username cannot mix the scripts {scripts}: write it in one of them"),
            scripts=", ".join(sorted(script.title() for script in scripts)),
        )
    return name


def script_of(character: str) -> str | None:
    """The script of a letter or digit from its Unicode name ('CYRILLIC SMALL LETTER A' is
    CYRILLIC); None for what every script shares: ASCII digits, punctuation, marks."""
    category = unicodedata.category(character)
    if not (category.startswith("L") or category == "Nd"):
        return None
    first = unicodedata.name(character, "").split(" ", 1)[0]
    if first == "DIGIT":
        return None
    return SCRIPT_ALIASES.get(first, first)


def describe(character: str) -> str:
    return f"U+{ord(character):04X} {unicodedata.name(character, '(unnamed)')}"
