"""The interaction check against known pairs: each pair below is a documented interaction
with the severity its source gives (the expectations are written here from the sources,
not read from the table), found whichever way round and however the drug is named; pairs
with no documented interaction give nothing; and the table itself is whole: every rule
cited, every name resolvable, every ATC code well formed."""

from __future__ import annotations

import re

import pytest
from mindframe_plugins.health_drug_interactions.agent import ADVICE, EFFECTS
from mindframe_plugins.health_drug_interactions.rules import check, table

KNOWN = [
    ("warfarin", "ibuprofen", "major"),
    ("aspirin", "warfarin", "major"),
    ("B01AA03", "M01AE02", "major"),  # warfarin and naproxen by ATC code
    ("Warfarin", "Fluconazole", "major"),
    ("amiodarone", "warfarin", "major"),
    ("simvastatin", "clarithromycin", "contraindicated"),
    ("simvastatin", "itraconazole", "contraindicated"),
    ("Simvastatin 40 mg", "amiodarone 200 mg", "major"),
    ("verapamil", "simvastatin", "major"),
    ("sildenafil", "isosorbide mononitrate", "contraindicated"),
    ("nitroglycerin", "tadalafil", "contraindicated"),
    ("sertraline", "linezolid", "contraindicated"),
    ("fluoxetine", "phenelzine", "contraindicated"),
    ("tramadol", "escitalopram", "major"),
    ("tramadol", "moclobemide", "contraindicated"),
    ("oxycodone", "diazepam", "major"),
    ("methotrexate", "co-trimoxazole", "major"),
    ("ramipril", "spironolactone", "major"),
    ("losartan", "potassium chloride", "major"),
    ("enalapril", "naproxen", "moderate"),
    ("lithium", "ibuprofen", "major"),
    ("lithium carbonate", "hydrochlorothiazide", "major"),
    ("digoxin", "amiodarone", "major"),
    ("allopurinol", "azathioprine", "major"),
    ("theophylline", "ciprofloxacin", "major"),
    ("ciprofloxacin", "tizanidine", "contraindicated"),
    ("colchicine", "clarithromycin", "major"),
    ("clopidogrel", "omeprazole", "moderate"),
]


@pytest.mark.parametrize(("first", "second", "severity"), KNOWN)
def test_a_documented_pair_is_found_with_its_severity_either_way_round(first, second, severity):
    for pair in ([first, second], [second, first]):
        found, missing = check(pair, table())
        assert missing == []
        assert [f.rule.severity for f in found] == [severity], pair
        assert found[0].rule.source


@pytest.mark.parametrize(
    "pair",
    [
        ["ramipril", "simvastatin"],
        ["sertraline", "omeprazole"],
        ["aspirin", "lithium"],  # the lithium rule is about the other NSAIDs
        ["warfarin", "B01AA03"],  # one drug named twice
    ],
)
def test_a_pair_without_a_documented_interaction_gives_nothing(pair):
    assert check(pair, table()) == ([], [])


def test_a_long_list_gives_every_interaction_most_severe_first_and_names_what_it_skipped():
    found, missing = check(
        ["warfarin", "simvastatin", "clarithromycin", "ibuprofen", "paracetamol", "ramipril"],
        table(),
    )
    pairs = [({f.first, f.second}, f.rule.severity) for f in found]
    assert pairs == [
        ({"simvastatin", "clarithromycin"}, "contraindicated"),
        ({"warfarin", "ibuprofen"}, "major"),
        ({"ibuprofen", "ramipril"}, "moderate"),
    ]
    assert missing == ["paracetamol"]


def test_the_table_is_whole_every_rule_cited_and_every_name_resolvable():
    known = table()
    codes = list(known.drugs.values())
    assert all(re.fullmatch(r"[A-V]\d\d[A-Z]{2}\d\d", code) for code in codes)
    assert len(set(codes)) == len(codes)
    assert set(known.aliases.values()) <= set(known.drugs)
    for members in known.groups.values():
        assert members <= set(known.drugs)
    for rule in known.rules:
        assert {rule.a, rule.b} <= set(known.drugs) | set(known.groups), rule
        assert rule.severity in ("contraindicated", "major", "moderate", "minor")
        assert rule.effect in EFFECTS and rule.advice in ADVICE, rule
        assert len(rule.source) > 40, rule
