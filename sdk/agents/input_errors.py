"""An agent's input that does not fit its struct, told to the caller in their language.

msgspec reports the first thing wrong with a value in English, in a stable shape: what is
wrong, then ` - at `$.path`` when it is not the whole input ("Expected `int`, got `str` -
at `$.respiration_rate`"). `input_errors` reads that into a field path (JSON path, as
msgspec writes it), a problem code a client can act on, and a message in the asker's
locale; a shape it does not know keeps msgspec's text under the code `invalid`.

The run endpoint, the bus topic and the MCP tool all answer with these.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from ..i18n import AS_WRITTEN, KERNEL_CATALOG, N_, Localizer, Translations

if TYPE_CHECKING:
    from mindframe.sdk import PluginContext

ROOT = "$"
AT = " - at `"

# Translators: {field} is a field's path in the input, such as respiration_rate or visits[2].
WRONG_TYPE = N_("{field} must be {expected}, not {got}")
MISSING = N_("{field} is required")
UNKNOWN_FIELD = N_("{field} is not a field of this input")
AT_LEAST = N_("{field} must be at least {limit}")
AT_MOST = N_("{field} must be at most {limit}")
ABOVE = N_("{field} must be greater than {limit}")
BELOW = N_("{field} must be less than {limit}")
MULTIPLE_OF = N_("{field} must be a multiple of {limit}")
PATTERN = N_("{field} must match the pattern {pattern}")
NOT_ALLOWED = N_("{field} cannot be {value}: it is not one of the allowed values")
OUT_OF_RANGE = N_("{field} is out of the range this value can hold")
NEEDS_TIMEZONE = N_("{field} needs a time zone, such as Z or +01:00")
NO_TIMEZONE = N_("{field} must be given without a time zone")
MALFORMED = N_("the body is not valid JSON (at byte {byte})")
TRUNCATED = N_("the body ends before its JSON is complete")
INVALID = N_("{field} is not valid: {problem}")
WHOLE_INPUT = N_("the input")
EITHER = N_("{one} or {other}")

TYPE_WORDS = {
    "int": N_("a whole number"),
    "float": N_("a number"),
    "str": N_("text"),
    "bool": N_("true or false"),
    "null": N_("null"),
    "array": N_("a list"),
    "object": N_("an object"),
}
"""msgspec's names for JSON's kinds of value, in words; other names are shown as written."""

FORMATS = {
    "RFC3339 encoded date": N_("{field} must be a date such as 2026-03-31"),
    "RFC3339 encoded datetime": N_("{field} must be a date and time such as 2026-03-31T14:30:00Z"),
    "RFC3339 encoded time": N_("{field} must be a time of day such as 14:30:00"),
    "ISO8601 duration": N_("{field} must be a duration such as PT1H30M"),
    "UUID": N_("{field} must be a UUID"),
    "decimal string": N_("{field} must be a decimal number"),
    "base64 encoded string": N_("{field} must be base64-encoded data"),
    "epoch timestamp": N_("{field} must be a valid point in time"),
}
"""msgspec's "Invalid <format>" names, each with what the field must look like."""


@dataclass(frozen=True)
class InputError:
    """One thing wrong with an input: where (`field`, a JSON path from `$`), what (`problem`,
    a code), and the sentence for the asker (`message`)."""

    field: str
    problem: str
    message: str


Told = tuple[str, str]
"""A rule's reading: the problem code and the message."""


def _parse_number(text: str) -> int | float:
    number = float(text)
    return int(number) if number.is_integer() else number


def _compare(l10n: Localizer, field: str, match: re.Match[str]) -> Told:
    operator, limit = match["op"], _parse_number(match["limit"])
    problem, template = {
        ">=": ("too_small", AT_LEAST),
        ">": ("too_small", ABOVE),
        "<=": ("too_large", AT_MOST),
        "<": ("too_large", BELOW),
    }[operator]
    return problem, l10n.gettext(template).format(field=field, limit=l10n.format_number(limit))


def _length(l10n: Localizer, field: str, match: re.Match[str]) -> Told:
    kind, limit = match["kind"], int(match["limit"])
    at_least = match["op"] in (">=", "at least")
    if kind == "str":
        text = (
            l10n.ngettext(
                "{field} must be at least {limit} character long",
                "{field} must be at least {limit} characters long",
                limit,
            )
            if at_least
            else l10n.ngettext(
                "{field} must be at most {limit} character long",
                "{field} must be at most {limit} characters long",
                limit,
            )
        )
    elif kind == "bytes":
        text = (
            l10n.ngettext(
                "{field} must be at least {limit} byte long",
                "{field} must be at least {limit} bytes long",
                limit,
            )
            if at_least
            else l10n.ngettext(
                "{field} must be at most {limit} byte long",
                "{field} must be at most {limit} bytes long",
                limit,
            )
        )
    else:  # an array, or an object by its number of entries
        text = (
            l10n.ngettext(
                "{field} must have at least {limit} entry",
                "{field} must have at least {limit} entries",
                limit,
            )
            if at_least
            else l10n.ngettext(
                "{field} must have at most {limit} entry",
                "{field} must have at most {limit} entries",
                limit,
            )
        )
    problem = "too_short" if at_least else "too_long"
    return problem, text.format(field=field, limit=l10n.format_number(limit))


def _exact_length(l10n: Localizer, field: str, match: re.Match[str]) -> Told:
    limit = int(match["limit"])
    text = l10n.ngettext(
        "{field} must have exactly {limit} entry",
        "{field} must have exactly {limit} entries",
        limit,
    )
    return "wrong_length", text.format(field=field, limit=l10n.format_number(limit))


def _type_words(l10n: Localizer, names: str) -> str:
    words = [
        l10n.gettext(TYPE_WORDS[name]) if name in TYPE_WORDS else f"`{name}`"
        for name in names.split(" | ")
    ]
    said = words[-1]
    for word in reversed(words[:-1]):
        said = l10n.gettext(EITHER).format(one=word, other=said)
    return said


def _wrong_type(l10n: Localizer, field: str, match: re.Match[str]) -> Told:
    text = l10n.gettext(WRONG_TYPE).format(
        field=field,
        expected=_type_words(l10n, match["expected"]),
        got=_type_words(l10n, match["got"]),
    )
    return "wrong_type", text


def _simple(problem: str, template: str) -> Rule:
    def told(l10n: Localizer, field: str, match: re.Match[str]) -> Told:
        return problem, l10n.gettext(template).format(field=field, **match.groupdict())

    return told


def _multiple(l10n: Localizer, field: str, match: re.Match[str]) -> Told:
    limit = l10n.format_number(_parse_number(match["limit"]))
    return "not_multiple", l10n.gettext(MULTIPLE_OF).format(field=field, limit=limit)


def _format(l10n: Localizer, field: str, match: re.Match[str]) -> Told:
    return "invalid_format", l10n.gettext(FORMATS[match["format"]]).format(field=field)


Rule = Callable[[Localizer, str, "re.Match[str]"], Told]
RULES: list[tuple[re.Pattern[str], Rule]] = [
    (re.compile(r"Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`"), _wrong_type),
    (
        re.compile(
            r"Expected `(?P<kind>str|bytes|array|object)` of length (?P<op>>=|<=) (?P<limit>\d+)"
        ),
        _length,
    ),
    (
        re.compile(
            r"Expected `(?P<kind>array)` of (?P<op>at least|at most) length (?P<limit>\d+)"
            r"(, got \d+)?"
        ),
        _length,
    ),
    (re.compile(r"Expected `array` of length (?P<limit>\d+)(, got \d+)?"), _exact_length),
    (re.compile(r"Expected `(?:int|float)` (?P<op>>=|>|<=|<) (?P<limit>\S+)"), _compare),
    (
        re.compile(r"Expected `(?:int|float)` that's a multiple of (?P<limit>\S+)"),
        _multiple,
    ),
    (re.compile(r"Expected `str` matching regex (?P<pattern>.+)"), _simple("pattern", PATTERN)),
    (
        re.compile(r"Expected `\w+` with a timezone component"),
        _simple("invalid_format", NEEDS_TIMEZONE),
    ),
    (
        re.compile(r"Expected `\w+` with no timezone component"),
        _simple("invalid_format", NO_TIMEZONE),
    ),
    (re.compile(r"Invalid (?:enum )?value (?P<value>.+)"), _simple("not_allowed", NOT_ALLOWED)),
    (re.compile(rf"Invalid (?P<format>{'|'.join(map(re.escape, FORMATS))})"), _format),
    (
        re.compile(r"(?:Integer value|Number|Duration|Timestamp) (?:is )?out of range"),
        _simple("out_of_range", OUT_OF_RANGE),
    ),
]
MEMBER = re.compile(r"Object (?P<what>missing required|contains unknown) field `(?P<name>.+)`")
MALFORMED_JSON = re.compile(r"JSON is malformed: .* \(byte (?P<byte>\d+)\)")


def split_path(text: str) -> tuple[str, str]:
    """msgspec's message as (what is wrong, the JSON path it is at; `$` for the whole)."""
    what, at, rest = text.rpartition(AT)
    if at and rest.endswith("`") and rest.startswith(ROOT):
        return what, rest[:-1]
    return text, ROOT


def field_label(path: str, l10n: Localizer) -> str:
    """The path as a reader names the field: `visits[2].window` (no `$.`), or "the input"."""
    if path == ROOT:
        return l10n.gettext(WHOLE_INPUT)
    return path[2:] if path.startswith("$.") else path


def read_input_error(error: msgspec.DecodeError, l10n: Localizer = AS_WRITTEN) -> InputError:
    """What msgspec's `error` says is wrong with an input, in `l10n`'s language."""
    text = str(error)
    if not isinstance(error, msgspec.ValidationError):
        malformed = MALFORMED_JSON.fullmatch(text)
        if malformed:
            return InputError(
                ROOT, "malformed_json", l10n.gettext(MALFORMED).format(**malformed.groupdict())
            )
        return InputError(ROOT, "malformed_json", l10n.gettext(TRUNCATED))
    what, path = split_path(text)
    member = MEMBER.fullmatch(what)
    if member:
        path = f"{path}.{member['name']}"
        missing = member["what"] == "missing required"
        template = MISSING if missing else UNKNOWN_FIELD
        message = l10n.gettext(template).format(field=field_label(path, l10n))
        return InputError(path, "missing" if missing else "unknown_field", message)
    for pattern, rule in RULES:
        match = pattern.fullmatch(what)
        if match:
            problem, message = rule(l10n, field_label(path, l10n), match)
            return InputError(path, problem, message)
    message = l10n.gettext(INVALID).format(field=field_label(path, l10n), problem=what)
    return InputError(path, "invalid", message)


def input_problem(error: msgspec.DecodeError, l10n: Localizer = AS_WRITTEN) -> dict[str, Any]:
    """The refusal of an input as problem details: the message as `detail`, and `errors`
    with the field path, problem code and message of each thing wrong (msgspec stops at
    the first)."""
    told = read_input_error(error, l10n)
    return {"status": 400, "title": "Bad Request", "detail": told.message, "errors": [asdict(told)]}


def localizer_for(ctx: PluginContext, locale: str | None) -> Localizer:
    """The toolkit's messages in `locale` (the default when None or unknown), without a
    request: for the bus topic."""
    registration = ctx.registration("translations")
    if registration is None:
        return AS_WRITTEN
    translations: Translations = registration.get()
    return translations.localizer(KERNEL_CATALOG, translations.negotiate(locale))


__all__ = [
    "InputError",
    "input_problem",
    "localizer_for",
    "read_input_error",
]
