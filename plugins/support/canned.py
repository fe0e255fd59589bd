"""Canned responses: the built-in ones (translated in the plugin's catalogs) and filling in
their placeholders.

A placeholder is a name in braces (`{visitor_name}`); only the names in `PLACEHOLDERS` are
filled, by plain substitution (never `str.format`, so a response someone wrote cannot reach
an attribute). One whose value is unknown is left out, and the space or punctuation around
it tidied, so "Hi {visitor_name}, thanks" reads "Hi, thanks" for an anonymous visitor.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from mindframe.sdk.i18n import N_

PLACEHOLDERS = ("visitor_name", "agent_name", "ticket_id", "subject")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \t]+([,.!?;:])")
_DOUBLE_PUNCTUATION = re.compile(r"([,;:])(?=[.!?])")
_RUNS_OF_SPACES = re.compile(r"[ \t]{2,}")
BUILTIN_PREFIX = "builtin:"


@dataclass(frozen=True)
class Builtin:
    """A response shipped with the plugin: `text` is the catalog's message id."""

    key: str
    shortcut: str
    text: str

    @property
    def id(self) -> str:
        return f"{BUILTIN_PREFIX}{self.key}"


BUILTINS: tuple[Builtin, ...] = (
    Builtin(
        "greeting",
        "/hello",
        N_("Hi {visitor_name}, thanks for getting in touch! I'm {agent_name} and I'll help you."),
    ),
    Builtin(
        "looking",
        "/looking",
        N_("Thanks, {visitor_name}. I'm looking into it now and will get back to you shortly."),
    ),
    Builtin(
        "details",
        "/details",
        N_("Could you tell me a little more, such as an order number or what you see on screen?"),
    ),
    Builtin(
        "escalate",
        "/escalate",
        N_(
            "I've passed this on to a colleague who knows this area well. You'll hear from us soon."
        ),
    ),
    Builtin(
        "waiting",
        "/wait",
        N_("Thanks for your patience, {visitor_name}. We're still working on ticket {ticket_id}."),
    ),
    Builtin(
        "solved",
        "/solved",
        N_("Glad we could sort this out, {visitor_name}! Is there anything else I can help with?"),
    ),
    Builtin(
        "goodbye",
        "/bye",
        N_("Thank you for contacting us, {visitor_name}. Have a good day! Regards, {agent_name}"),
    ),
)
BY_ID = {builtin.id: builtin for builtin in BUILTINS}


def fill(text: str, values: Mapping[str, object]) -> str:
    """`text` with its placeholders replaced by `values` (missing or empty: left out)."""

    def value(match: re.Match[str]) -> str:
        found = values.get(match.group(1))
        return "" if found is None else str(found)

    filled = _PLACEHOLDER.sub(value, text)
    if filled == text:
        return text
    filled = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", filled)
    filled = _DOUBLE_PUNCTUATION.sub("", filled)
    filled = re.sub(r"([,;:])(?=\s*$)", "", filled)
    return _RUNS_OF_SPACES.sub(" ", filled).strip()
