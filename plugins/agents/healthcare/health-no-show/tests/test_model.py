"""The no-show model on generated appointments whose true no-show probabilities are known:
it must beat the base rate (AUC 0.5, the base rate's Brier score) on appointments it
never saw, come close to the true probabilities' own AUC, and own up when there is no
signal at all."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from mindframe_plugins.health_no_show.agent import PastAppointment, UpcomingAppointment
from mindframe_plugins.health_no_show.model import AGE_BANDS, fit_and_predict
from sklearn.metrics import brier_score_loss, roc_auc_score

AGE_EFFECT = {"0-17": 0.2, "18-34": 0.5, "35-49": 0.1, "50-64": -0.2, "65-79": -0.4, "80+": 0.0}


def generate(count: int, seed: int, signal: bool = True) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Appointments and each one's true no-show probability: a logistic function of what
    the model sees (the patient's missed share of past visits, lead time, Monday, age band),
    with the coefficients below; the patients' own propensities drive their history."""
    rng = np.random.default_rng(seed)
    propensity = rng.beta(2, 8, count)
    prior = rng.poisson(5, count)
    missed = rng.binomial(prior, propensity)
    lead = rng.geometric(1 / 15, count) - 1
    weekday = rng.choice(7, count, p=[0.22, 0.2, 0.2, 0.2, 0.16, 0.01, 0.01])
    band = rng.choice(AGE_BANDS, count)
    logit = (
        4.0 * (missed + 1) / (prior + 2)
        + 0.5 * np.log1p(lead)
        - 3.6
        + 0.4 * (weekday == 0)
        + np.array([AGE_EFFECT[b] for b in band])
    )
    truth = 1 / (1 + np.exp(-logit)) if signal else np.full(count, 0.2)
    rows = [
        {
            "prior_appointments": int(prior[i]),
            "prior_no_shows": int(missed[i]),
            "lead_days": int(min(lead[i], 730)),
            "weekday": int(weekday[i]),
            "age_band": str(band[i]),
        }
        for i in range(count)
    ]
    return rows, truth


def split(seed: int, signal: bool = True) -> dict[str, Any]:
    rows, truth = generate(3000, seed, signal)
    outcomes = np.random.default_rng(seed + 1).random(len(rows)) < truth
    history = [
        PastAppointment(**row, no_show=bool(o))
        for row, o in zip(rows[:2000], outcomes[:2000], strict=True)
    ]
    upcoming = [
        UpcomingAppointment(appointment_id=f"a{i}", patient_id=f"p{i}", **row)
        for i, row in enumerate(rows[2000:])
    ]
    return {
        "history": history,
        "outcomes": outcomes[:2000],
        "upcoming": upcoming,
        "actual": outcomes[2000:],
        "truth": truth[2000:],
    }


@pytest.mark.parametrize("seed", [11, 12])
def test_the_model_beats_the_base_rate_on_appointments_it_never_saw(seed):
    data = split(seed)
    fitted = fit_and_predict(data["history"], list(data["outcomes"]), data["upcoming"])
    predicted, actual = np.array(fitted.probabilities), data["actual"]
    base_rate = data["outcomes"].mean()
    auc = roc_auc_score(actual, predicted)
    oracle_auc = roc_auc_score(actual, data["truth"])
    brier = brier_score_loss(actual, predicted)
    base_brier = brier_score_loss(actual, np.full(len(actual), base_rate))
    assert auc > 0.68  # the base rate ranks no better than chance: 0.5
    assert auc > oracle_auc - 0.02  # close to what the true probabilities achieve
    assert brier < 0.93 * base_brier
    # the cross-validated figures the agent reports agree with the held-out ones
    assert fitted.auc == pytest.approx(auc, abs=0.04)
    assert fitted.brier == pytest.approx(brier, abs=0.015)
    assert fitted.base_rate_brier == pytest.approx(base_brier, abs=0.015)
    # the history raises the odds, and a longer lead time too
    assert fitted.odds_ratios["no_show_history"] > 1.2
    assert fitted.odds_ratios["lead_days"] > 1.1


def test_without_signal_the_model_is_no_better_than_the_base_rate_and_says_so():
    data = split(13, signal=False)
    fitted = fit_and_predict(data["history"], list(data["outcomes"]), data["upcoming"])
    assert fitted.auc == pytest.approx(0.5, abs=0.05)
    assert fitted.brier >= fitted.base_rate_brier - 0.002
