"""The bundled rule table (`data/interactions.toml`) and the check of a medication list
against it: each drug named (by generic name, another name, or ATC code) is looked up, and
every pair of different drugs is matched against the rules, whose sides name a drug or a
group of drugs. The table is read once, with the standard library's TOML reader."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from pathlib import Path
from typing import Literal

TABLE = Path(__file__).parent / "data" / "interactions.toml"
ATC = re.compile(r"^[A-V][0-9]{2}[A-Z]{2}[0-9]{2}$")
Severity = Literal["contraindicated", "major", "moderate", "minor"]
SEVERITY_ORDER: dict[str, int] = {"contraindicated": 0, "major": 1, "moderate": 2, "minor": 3}


@dataclass(frozen=True)
class Rule:
    number: int
    a: str
    b: str
    severity: Severity
    effect: str
    advice: str
    source: str


@dataclass(frozen=True)
class Table:
    drugs: dict[str, str]  # generic name -> ATC code
    by_atc: dict[str, str]
    aliases: dict[str, str]
    groups: dict[str, frozenset[str]]
    rules: list[Rule]

    def members(self, side: str) -> frozenset[str]:
        return self.groups.get(side, frozenset({side}))


@dataclass(frozen=True)
class Found:
    first: str  # as given
    second: str
    rule: Rule


@cache
def table(path: Path = TABLE) -> Table:
    with path.open("rb") as file:
        raw = tomllib.load(file)
    drugs = dict(raw["drugs"])
    rules = [
        Rule(
            number=i,
            a=r["a"],
            b=r["b"],
            severity=r["severity"],
            effect=r["effect"],
            advice=r["advice"],
            source=r["source"],
        )
        for i, r in enumerate(raw["rules"], start=1)
    ]
    return Table(
        drugs=drugs,
        by_atc={code: name for name, code in drugs.items()},
        aliases=dict(raw["aliases"]),
        groups={name: frozenset(members) for name, members in raw["groups"].items()},
        rules=rules,
    )


def identify(given: str, known: Table) -> str | None:
    """The generic name of the drug `given` names, or None: an ATC code, a generic or other
    name in any case, with or without a strength after it ("Simvastatin 40 mg")."""
    text = " ".join(given.split())
    if ATC.match(text.upper()):
        return known.by_atc.get(text.upper())
    lowered = text.lower()
    candidates = [lowered, re.split(r"\s+\d", lowered, maxsplit=1)[0].strip()]
    for name in candidates:
        for key in (name, name.replace(" ", "-")):
            if key in known.drugs:
                return key
            if key in known.aliases:
                return known.aliases[key]
    return None


def check(medications: list[str], known: Table) -> tuple[list[Found], list[str]]:
    """Every rule each pair of different drugs on the list meets, most severe first, and
    the names that are not in the table (so not checked)."""
    named = [(given, identify(given, known)) for given in medications]
    missing = [given for given, drug in named if drug is None]
    found = []
    for (first, x), (second, y) in combinations([(g, d) for g, d in named if d], 2):
        if x == y:
            continue
        for rule in known.rules:
            a, b = known.members(rule.a), known.members(rule.b)
            if (x in a and y in b) or (x in b and y in a):
                found.append(Found(first=first, second=second, rule=rule))
    found.sort(key=lambda f: (SEVERITY_ORDER[f.rule.severity], f.rule.number))
    return found, missing
