"""No-show risk: which upcoming appointments are likely to be missed, learnt from the
clinic's own past appointments, with the model's quality next to the base rate."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from mindframe.sdk.agents import Agent, AgentError, Run
from mindframe.sdk.i18n import N_, Localizer

AgeBand = Literal["0-17", "18-34", "35-49", "50-64", "65-79", "80+"]
MIN_HISTORY = 20
MIN_EACH_OUTCOME = 2
WEAK_AUC = 0.55

PriorAppointments = Annotated[
    int, msgspec.Meta(ge=0, description=N_("The patient's appointments before this one"))
]
PriorNoShows = Annotated[int, msgspec.Meta(ge=0, description=N_("How many of those were missed"))]
LeadDays = Annotated[
    int, msgspec.Meta(ge=0, le=730, description=N_("Days from booking to the appointment"))
]
Weekday = Annotated[
    int,
    msgspec.Meta(ge=0, le=6, description=N_("Weekday of the appointment, 0 Monday to 6 Sunday")),
]
Band = Annotated[AgeBand, msgspec.Meta(description=N_("The patient's age band"))]


class PastAppointment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    prior_appointments: PriorAppointments
    prior_no_shows: PriorNoShows
    lead_days: LeadDays
    weekday: Weekday
    age_band: Band
    no_show: Annotated[bool, msgspec.Meta(description=N_("Whether the patient missed it"))]


class UpcomingAppointment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    appointment_id: Annotated[str, msgspec.Meta(min_length=1, description=N_("The booking"))]
    patient_id: Annotated[str, msgspec.Meta(min_length=1, description=N_("Whose booking it is"))]
    prior_appointments: PriorAppointments
    prior_no_shows: PriorNoShows
    lead_days: LeadDays
    weekday: Weekday
    age_band: Band


class NoShowRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    history: Annotated[
        list[PastAppointment],
        msgspec.Meta(
            min_length=MIN_HISTORY,
            description=N_("Past appointments with their outcome, to learn from"),
        ),
    ]
    upcoming: Annotated[
        list[UpcomingAppointment], msgspec.Meta(description=N_("Appointments to assess"))
    ]
    flag_above: Annotated[
        float,
        msgspec.Meta(
            ge=0, le=1, description=N_("Flag appointments whose no-show risk is above this")
        ),
    ] = 0.3


class Prediction(msgspec.Struct, kw_only=True):
    appointment_id: str
    patient_id: str
    probability: Annotated[float, msgspec.Meta(description=N_("Probability of a no-show"))]
    flagged: bool


class Quality(msgspec.Struct, kw_only=True):
    appointments: int
    base_rate: Annotated[float, msgspec.Meta(description=N_("Share of past appointments missed"))]
    auc: Annotated[
        float,
        msgspec.Meta(description=N_("Cross-validated area under the ROC curve (0.5 is chance)")),
    ]
    brier: Annotated[
        float, msgspec.Meta(description=N_("Cross-validated Brier score (lower is better)"))
    ]
    base_rate_brier: Annotated[
        float, msgspec.Meta(description=N_("Brier score of always predicting the base rate"))
    ]


class NoShowRisk(msgspec.Struct, kw_only=True):
    predictions: list[Prediction]
    quality: Quality
    odds_ratios: Annotated[
        dict[str, float],
        msgspec.Meta(description=N_("Odds ratio of each feature per standard deviation")),
    ]
    summary: str


def patients(data: NoShowRequest) -> list[str]:
    """The audit's subjects: the patients whose upcoming appointments are assessed."""
    return sorted({item.patient_id for item in data.upcoming})


def refuse_inconsistent(data: NoShowRequest, run: Run) -> None:
    """A patient cannot have missed more visits than they had; the model needs both
    outcomes in the history."""
    for item in [*data.history, *data.upcoming]:
        if item.prior_no_shows > item.prior_appointments:
            raise AgentError(
                run.gettext(
                    "prior_no_shows ({missed}) is more than prior_appointments ({had})"
                ).format(missed=item.prior_no_shows, had=item.prior_appointments)
            )
    missed = sum(item.no_show for item in data.history)
    if min(missed, len(data.history) - missed) < MIN_EACH_OUTCOME:
        raise AgentError(
            run.gettext(
                "The history needs at least {count} kept and {count} missed appointments"
            ).format(count=MIN_EACH_OUTCOME)
        )


def summarise(quality: Quality, flagged: int, run: Run) -> str:
    number = Localizer(run.locale).format_number
    text = run.gettext(
        "Learnt from {count} past appointments, {rate} of them missed. Cross-validated AUC "
        "{auc} (0.5 is chance); Brier score {brier} against {base} for the base rate."
    ).format(
        count=quality.appointments,
        rate=Localizer(run.locale).format_percent(round(quality.base_rate, 3)),
        auc=number(round(quality.auc, 3)),
        brier=number(round(quality.brier, 4)),
        base=number(round(quality.base_rate_brier, 4)),
    )
    text += " " + run.ngettext(
        "{count} appointment is flagged.", "{count} appointments are flagged.", flagged
    ).format(count=flagged)
    if quality.auc < WEAK_AUC or quality.brier >= quality.base_rate_brier:
        text += " " + run.gettext(
            "The history carries little signal: the model is barely better than the base "
            "rate, so treat its risks with caution."
        )
    return text


async def run(data: NoShowRequest, run: Run) -> NoShowRisk:
    refuse_inconsistent(data, run)
    outcomes = [item.no_show for item in data.history]
    from .model import fit_and_predict  # numpy: imported at the first run, not at start-up

    fitted = await run.thread(fit_and_predict, data.history, outcomes, data.upcoming)
    predictions = [
        Prediction(
            appointment_id=item.appointment_id,
            patient_id=item.patient_id,
            probability=round(probability, 4),
            flagged=probability > data.flag_above,
        )
        for item, probability in zip(data.upcoming, fitted.probabilities, strict=True)
    ]
    quality = Quality(
        appointments=len(data.history),
        base_rate=round(fitted.base_rate, 4),
        auc=round(fitted.auc, 4),
        brier=round(fitted.brier, 4),
        base_rate_brier=round(fitted.base_rate_brier, 4),
    )
    flagged = sum(item.flagged for item in predictions)
    return NoShowRisk(
        predictions=predictions,
        quality=quality,
        odds_ratios={name: round(ratio, 3) for name, ratio in fitted.odds_ratios.items()},
        summary=summarise(quality, flagged, run),
    )


AGENT = Agent(
    industry="healthcare",
    title=N_("Appointment no-show risk"),
    description=N_(
        "Learns from a clinic's past appointments (the patient's no-show history, lead time, "
        "weekday and age band) by logistic regression and gives each upcoming appointment "
        "its risk of a no-show, with the model's quality against the base rate."
    ),
    input=NoShowRequest,
    output=NoShowRisk,
    run=run,
    health_data=True,
    subject=patients,
)
