"""Drug interactions: a patient's medication list checked pair by pair against a bundled
table of known interactions, each rule with its severity, effect, advice and the source
that states it (`data/interactions.toml`). Names not in the table are listed as not
checked: a pair the table does not know is not thereby safe."""

from __future__ import annotations

from typing import Annotated

import msgspec

from mindframe.sdk.agents import Agent, Run
from mindframe.sdk.i18n import N_

from .rules import Severity, check, table

EFFECTS: dict[str, str] = {
    "bleeding": N_("Higher risk of bleeding"),
    "anticoagulation_raised": N_(
        "Stronger anticoagulant effect (INR rises) and with it the risk of bleeding"
    ),
    "myopathy": N_("Muscle damage (myopathy, rhabdomyolysis) from a raised statin level"),
    "hypotension": N_("A dangerous fall in blood pressure"),
    "serotonin_syndrome": N_("Serotonin syndrome"),
    "respiratory_depression": N_("Deep sedation, slowed breathing, coma or death"),
    "marrow_suppression": N_("Bone marrow suppression"),
    "hyperkalaemia": N_("High blood potassium (hyperkalaemia)"),
    "kidney_injury": N_("Acute kidney injury and a weaker effect on blood pressure"),
    "level_raised": N_("A raised blood level, and toxicity, of one of the two drugs"),
    "effect_reduced": N_("A weaker effect of clopidogrel, which is activated less"),
}
ADVICE: dict[str, str] = {
    "do_not_combine": N_("Do not combine: contraindicated."),
    "avoid": N_("Avoid the combination; if it cannot be avoided, monitor the patient closely."),
    "adjust_dose": N_("Reduce the dose as the source says, and monitor levels or effect."),
    "monitor": N_("Combine only with monitoring: blood tests and signs of the effect."),
}


class MedicationList(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    patient_id: Annotated[
        str,
        msgspec.Meta(min_length=1, max_length=100, description=N_("Whose medication list this is")),
    ]
    medications: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=100)]],
        msgspec.Meta(
            min_length=1,
            max_length=100,
            description=N_("Generic names or ATC codes, a strength after the name is allowed"),
            examples=[["warfarin", "ibuprofen 400 mg", "C10AA01"]],
        ),
    ]


class Interaction(msgspec.Struct, kw_only=True):
    first: str
    second: str
    severity: Annotated[
        Severity, msgspec.Meta(description=N_("contraindicated, major, moderate or minor"))
    ]
    effect: str
    effect_text: Annotated[str, msgspec.Meta(description=N_("What may happen, in words"))]
    advice: str
    advice_text: Annotated[str, msgspec.Meta(description=N_("What to do, in words"))]
    source: Annotated[str, msgspec.Meta(description=N_("Where the rule is stated"))]
    rule: int


class InteractionReport(msgspec.Struct, kw_only=True):
    interactions: Annotated[
        list[Interaction], msgspec.Meta(description=N_("Interactions found, most severe first"))
    ]
    not_recognised: Annotated[
        list[str],
        msgspec.Meta(description=N_("Names not in the rule table, so not checked")),
    ]
    summary: str


async def run(data: MedicationList, run: Run) -> InteractionReport:
    found, missing = check(data.medications, table())
    interactions = [
        Interaction(
            first=item.first,
            second=item.second,
            severity=item.rule.severity,
            effect=item.rule.effect,
            effect_text=run.gettext(EFFECTS[item.rule.effect]),
            advice=item.rule.advice,
            advice_text=run.gettext(ADVICE[item.rule.advice]),
            source=item.rule.source,
            rule=item.rule.number,
        )
        for item in found
    ]
    serious = sum(i.severity in ("contraindicated", "major") for i in interactions)
    summary = run.ngettext(
        "{count} interaction found, {serious} of them contraindicated or major.",
        "{count} interactions found, {serious} of them contraindicated or major.",
        len(interactions),
    ).format(count=len(interactions), serious=serious)
    if missing:
        summary += " " + run.ngettext(
            "{count} medication is not in the rule table and was not checked: {names}.",
            "{count} medications are not in the rule table and were not checked: {names}.",
            len(missing),
        ).format(count=len(missing), names=", ".join(missing))
    return InteractionReport(interactions=interactions, not_recognised=missing, summary=summary)


AGENT = Agent(
    industry="healthcare",
    title=N_("Drug interaction check"),
    description=N_(
        "Checks a patient's medication list, pair by pair, against a bundled table of known "
        "drug interactions, each with its severity, what may happen, what to do and the "
        "source that states it; names it does not know are listed as not checked."
    ),
    input=MedicationList,
    output=InteractionReport,
    run=run,
    health_data=True,
    subject="patient_id",
)
