"""Is it time to refill a medication, and how should the patient be reminded?

The example agent, using each part of the toolkit once: checkpointed steps (one with a tool
call inside), progress, a decision by the learning engine, an approval for controlled
medications, the health-data audit, answers in the asker's language, and prose from a
language model when one is configured.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from mindframe.sdk.agents import Agent, AgentError, Run
from mindframe.sdk.i18n import N_

FORMULARY = Path(__file__).parent / "data" / "formulary.json"
REMINDERS = ["sms", "email", "call"]
Urgency = Literal["now", "soon", "later"]


class RefillRequest(msgspec.Struct, kw_only=True):
    """A patient's supply of one medication."""

    patient_id: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=64,
            description=N_("Whose medication this is"),
            examples=["p-1001"],
        ),
    ]
    medication: Annotated[
        str,
        msgspec.Meta(
            description=N_("The medication, as the formulary names it"),
            examples=["atorvastatin"],
        ),
    ]
    days_left: Annotated[
        int,
        msgspec.Meta(ge=0, le=365, description=N_("Days until the patient runs out"), examples=[5]),
    ]


class Medication(msgspec.Struct, frozen=True):
    name: str
    controlled: bool
    lead_days: int


class RefillAdvice(msgspec.Struct, kw_only=True):
    """What to do about the refill."""

    medication: str
    urgency: Annotated[Urgency, msgspec.Meta(description=N_("How soon to refill"))]
    refill: Annotated[bool, msgspec.Meta(description=N_("Whether to order the refill now"))]
    reminder: Annotated[str, msgspec.Meta(description=N_("How to remind the patient"))]
    explanation: Annotated[str, msgspec.Meta(description=N_("Why, in the asker's language"))]
    prose: Annotated[
        str | None, msgspec.Meta(description=N_("The same as prose, when a model is set up"))
    ] = None


async def run(data: RefillRequest, run: Run) -> RefillAdvice:
    medication = await run.step("look up", look_up, run, data.medication)
    await run.progress(0.3, run.gettext(N_("Found it in the formulary")))
    urgency = await run.step("urgency", urgency_aside, run, medication, data.days_left)
    await run.progress(0.6, run.gettext(N_("Worked out how soon")))
    context = {"urgency": urgency, "controlled": medication.controlled}
    reminder = await run.decide("demo-refill-reminder", context, REMINDERS)
    refill = urgency != "later"
    if refill and medication.controlled:
        summary = run.gettext(N_("{medication} is controlled: a pharmacist approves its refill"))
        answer = await run.approval(
            {"medication": medication.name, "days_left": data.days_left},
            summary.format(medication=medication.name),
        )
        refill = answer.approved
    explanation = explain(run, medication, data.days_left, urgency, refill)
    facts = {"medication": medication.name, "days_left": data.days_left, "refill": refill}
    prose = await run.phrase("Tell the patient in one sentence what happens next.", facts)
    await run.progress(1.0, run.gettext(N_("Done")))
    return RefillAdvice(
        medication=medication.name,
        urgency=urgency,
        refill=refill,
        reminder=reminder.action,
        explanation=explanation,
        prose=prose,
    )


async def look_up(run: Run, name: str) -> Medication:
    formulary = await run.tool("formulary", read_formulary)
    found = formulary.get(name.strip().lower())
    if found is None:
        message = run.gettext(N_("{medication} is not in the formulary"))
        raise AgentError(message.format(medication=name), status=422)
    return Medication(name=name.strip().lower(), **found)


def read_formulary() -> dict[str, dict[str, object]]:
    return json.loads(FORMULARY.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


async def urgency_aside(run: Run, medication: Medication, days_left: int) -> Urgency:
    """`urgency_of` in a worker thread: numerical work keeps the server answering."""
    return await run.thread(urgency_of, medication, days_left)


def urgency_of(medication: Medication, days_left: int) -> Urgency:
    """How likely the supply runs out before a refill arrives (a logistic curve around the
    medication's lead time), as now, soon or later."""
    import numpy as np  # a heavy import belongs inside the run, not at start-up

    risk = float(1 / (1 + np.exp((days_left - medication.lead_days) / 2)))
    return "now" if risk > 0.7 else "soon" if risk > 0.2 else "later"


def explain(
    run: Run, medication: Medication, days_left: int, urgency: Urgency, refill: bool
) -> str:
    supply = run.ngettext("{n} day left", "{n} days left", days_left).format(n=days_left)
    if not refill and urgency != "later":
        return run.gettext(N_("{supply}, but the refill was not approved.")).format(supply=supply)
    if urgency == "later":
        return run.gettext(N_("{supply}: no refill needed yet.")).format(supply=supply)
    return run.gettext(N_("{supply}: order the refill now.")).format(supply=supply)


AGENT = Agent(
    industry="demo",
    title=N_("Medication refill check"),
    description=N_(
        "Says whether a medication should be refilled now and how to remind the patient."
    ),
    input=RefillRequest,
    output=RefillAdvice,
    run=run,
    health_data=True,
    subject="patient_id",
)
