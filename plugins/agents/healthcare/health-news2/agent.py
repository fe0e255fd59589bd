"""NEWS2: the Royal College of Physicians' National Early Warning Score 2 (2017 chart).

Each vital sign falls in a band of the chart and scores 0 to 3; the aggregate and whether
any single parameter scored 3 decide the clinical risk, the response and how often to
observe the patient. The chart is in `BANDS` as data, so it reads like the printed one.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import msgspec

from mindframe.sdk.agents import Agent, Run
from mindframe.sdk.i18n import N_

Consciousness = Literal["alert", "confusion", "voice", "pain", "unresponsive"]
Risk = Literal["low", "low_medium", "medium", "high"]
Response = Literal["routine", "ward", "urgent_ward", "urgent", "emergency"]
Band = tuple[float, int]
"""(highest value in the band, its score); bands are listed from the lowest up."""

BANDS: dict[str, list[Band]] = {
    "respiration_rate": [(8, 3), (11, 1), (20, 0), (24, 2), (math.inf, 3)],
    "spo2_scale_1": [(91, 3), (93, 2), (95, 1), (math.inf, 0)],
    "spo2_scale_2": [(83, 3), (85, 2), (87, 1), (92, 0)],
    "spo2_scale_2_on_oxygen_above_92": [(94, 1), (96, 2), (math.inf, 3)],
    "systolic_bp": [(90, 3), (100, 2), (110, 1), (219, 0), (math.inf, 3)],
    "pulse": [(40, 3), (50, 1), (90, 0), (110, 1), (130, 2), (math.inf, 3)],
    "temperature": [(35.0, 3), (36.0, 1), (38.0, 0), (39.0, 1), (math.inf, 2)],
}
SUPPLEMENTAL_OXYGEN_SCORE = 2
NOT_ALERT_SCORE = 3


class VitalSigns(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    patient_id: Annotated[
        str, msgspec.Meta(min_length=1, description=N_("Whose vital signs these are"))
    ]
    respiration_rate: Annotated[
        int, msgspec.Meta(ge=0, le=80, description=N_("Breaths per minute"), examples=[18])
    ]
    spo2: Annotated[
        int,
        msgspec.Meta(ge=50, le=100, description=N_("Oxygen saturation in per cent"), examples=[96]),
    ]
    on_oxygen: Annotated[
        bool, msgspec.Meta(description=N_("Whether the patient breathes supplemental oxygen"))
    ] = False
    spo2_scale: Annotated[
        Literal[1, 2],
        msgspec.Meta(
            description=N_(
                "SpO2 scale 2 only for a prescribed target of 88-92 per cent (hypercapnic "
                "respiratory failure); scale 1 otherwise"
            )
        ),
    ] = 1
    systolic_bp: Annotated[
        int, msgspec.Meta(ge=30, le=300, description=N_("Systolic blood pressure in mmHg"))
    ]
    pulse: Annotated[int, msgspec.Meta(ge=10, le=250, description=N_("Heart beats per minute"))]
    consciousness: Annotated[
        Consciousness,
        msgspec.Meta(
            description=N_("ACVPU: alert, new confusion, responds to voice, to pain, unresponsive")
        ),
    ] = "alert"
    temperature: Annotated[
        float, msgspec.Meta(ge=25, le=45, description=N_("Body temperature in degrees Celsius"))
    ]


class ParameterScore(msgspec.Struct, kw_only=True):
    parameter: str
    value: float | int | str | bool
    score: int


class News2Score(msgspec.Struct, kw_only=True):
    score: Annotated[int, msgspec.Meta(description=N_("The aggregate NEWS2 score, 0 to 20"))]
    risk: Annotated[
        Risk, msgspec.Meta(description=N_("Clinical risk: low, low-medium, medium, high"))
    ]
    single_parameter_3: Annotated[
        bool, msgspec.Meta(description=N_("Whether any one parameter scored 3 (a red score)"))
    ]
    response: Annotated[Response, msgspec.Meta(description=N_("The clinical response level"))]
    advice: Annotated[str, msgspec.Meta(description=N_("The response and monitoring, in words"))]
    parameters: Annotated[
        list[ParameterScore], msgspec.Meta(description=N_("Each parameter's value and score"))
    ]


def band_score(bands: list[Band], value: float) -> int:
    """The score of the first band `value` falls in (bands are ordered from the lowest)."""
    for highest, score in bands:
        if value <= highest:
            return score
    raise ValueError(f"{value} is above every band")


def spo2_score(spo2: int, scale: int, on_oxygen: bool) -> int:
    """Scale 2 scores high saturations only on oxygen: a target range of 88-92 means 93 or
    more on oxygen is too much oxygen, while on air it is fine."""
    if scale == 1:
        return band_score(BANDS["spo2_scale_1"], spo2)
    if spo2 <= 92:
        return band_score(BANDS["spo2_scale_2"], spo2)
    return band_score(BANDS["spo2_scale_2_on_oxygen_above_92"], spo2) if on_oxygen else 0


def score_parameters(vitals: VitalSigns) -> list[ParameterScore]:
    """Each of the seven NEWS2 parameters with its chart score."""
    temperature = round(vitals.temperature, 1)  # the chart's bands are in tenths of a degree
    scores = [
        (
            "respiration_rate",
            vitals.respiration_rate,
            band_score(BANDS["respiration_rate"], vitals.respiration_rate),
        ),
        ("spo2", vitals.spo2, spo2_score(vitals.spo2, vitals.spo2_scale, vitals.on_oxygen)),
        ("on_oxygen", vitals.on_oxygen, SUPPLEMENTAL_OXYGEN_SCORE if vitals.on_oxygen else 0),
        ("systolic_bp", vitals.systolic_bp, band_score(BANDS["systolic_bp"], vitals.systolic_bp)),
        ("pulse", vitals.pulse, band_score(BANDS["pulse"], vitals.pulse)),
        (
            "consciousness",
            vitals.consciousness,
            0 if vitals.consciousness == "alert" else NOT_ALERT_SCORE,
        ),
        ("temperature", temperature, band_score(BANDS["temperature"], temperature)),
    ]
    return [
        ParameterScore(parameter=name, value=value, score=score) for name, value, score in scores
    ]


def clinical_response(total: int, red_score: bool) -> tuple[Risk, Response]:
    """The chart's thresholds: 7+ emergency, 5-6 urgent, a single 3 urgent ward-based,
    1-4 ward-based, 0 routine."""
    if total >= 7:
        return "high", "emergency"
    if total >= 5:
        return "medium", "urgent"
    if red_score:
        return "low_medium", "urgent_ward"
    return "low", "ward" if total >= 1 else "routine"


ADVICE: dict[Response, str] = {
    "routine": N_("Continue routine NEWS monitoring at least every 12 hours."),
    "ward": N_(
        "A registered nurse assesses the patient and decides whether to observe more often "
        "or escalate; observe at least every 4 to 6 hours."
    ),
    "urgent_ward": N_(
        "Urgent ward-based response: the registered nurse informs the medical team, who "
        "review the patient and decide on escalation; observe at least every hour."
    ),
    "urgent": N_(
        "Urgent response: the nurse informs the medical team at once for urgent review by a "
        "clinician competent in acute illness; observe at least every hour."
    ),
    "emergency": N_(
        "Emergency response: immediate assessment by a team with critical-care competencies, "
        "considering transfer to a higher level of care; monitor continuously."
    ),
}


def assess(vitals: VitalSigns) -> tuple[int, bool, Risk, Response, list[ParameterScore]]:
    """Score the vital signs and decide the response (plain data, so a step can keep it)."""
    parameters = score_parameters(vitals)
    total = sum(item.score for item in parameters)
    red_score = any(item.score == 3 for item in parameters)
    risk, response = clinical_response(total, red_score)
    return total, red_score, risk, response, parameters


async def run(data: VitalSigns, run: Run) -> News2Score:
    total, red_score, risk, response, parameters = assess(data)
    return News2Score(
        score=total,
        risk=risk,
        single_parameter_3=red_score,
        response=response,
        advice=run.gettext(ADVICE[response]),
        parameters=parameters,
    )


AGENT = Agent(
    industry="healthcare",
    title=N_("NEWS2 early-warning score"),
    description=N_(
        "Scores a patient's vital signs on the Royal College of Physicians' NEWS2 chart and "
        "gives the clinical risk, the response it calls for and how often to observe."
    ),
    input=VitalSigns,
    output=News2Score,
    run=run,
    health_data=True,
    subject="patient_id",
)
