"""The no-show model: logistic regression on a clinic's own past appointments.

Features are the patient's no-show history (a smoothed rate and how many visits it rests
on), the lead time from booking to appointment, the weekday and the age band. Quality is
measured by cross-validation against the base rate, the forecast that knows nothing.
scikit-learn is imported inside `fit_and_predict`, so loading the plugin stays fast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

AGE_BANDS = ("0-17", "18-34", "35-49", "50-64", "65-79", "80+")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FEATURES = (
    "no_show_history",
    "prior_appointments",
    "lead_days",
    *(f"weekday_{day}" for day in WEEKDAYS),
    *(f"age_{band}" for band in AGE_BANDS),
)
MAX_FOLDS = 5


class Appointment(Protocol):
    prior_appointments: int
    prior_no_shows: int
    lead_days: int
    weekday: int
    age_band: str


@dataclass(frozen=True)
class Fitted:
    """What the model predicts for the upcoming appointments, and how well it did on the
    history it never saw while fitting (cross-validated) next to the base rate."""

    probabilities: list[float]
    base_rate: float
    auc: float
    brier: float
    base_rate_brier: float
    odds_ratios: dict[str, float]


def features(rows: Sequence[Appointment]) -> np.ndarray:
    """One row of `FEATURES` per appointment. The history is a rate smoothed towards one
    half (one kept and one missed visit added), so a first visit is not a certain show."""
    table = np.zeros((len(rows), len(FEATURES)))
    for i, row in enumerate(rows):
        table[i, 0] = (row.prior_no_shows + 1) / (row.prior_appointments + 2)
        table[i, 1] = math.log1p(row.prior_appointments)
        table[i, 2] = math.log1p(row.lead_days)
        table[i, 3 + row.weekday] = 1.0
        table[i, 3 + len(WEEKDAYS) + AGE_BANDS.index(row.age_band)] = 1.0
    return table


def model() -> Any:
    """Standardised features into an L2-regularised logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))


def fit_and_predict(
    history: Sequence[Appointment], outcomes: Sequence[bool], upcoming: Sequence[Appointment]
) -> Fitted:
    """Fit on all of `history`, predict `upcoming`; score out-of-fold predictions against
    the base rate of each training fold. Needs both outcomes at least twice."""
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    x, y = features(history), np.asarray(outcomes, dtype=int)
    splits = min(MAX_FOLDS, int(np.bincount(y, minlength=2).min()))
    folds = StratifiedKFold(n_splits=splits, shuffle=True, random_state=0)
    out_of_fold, base = np.zeros(len(y)), np.zeros(len(y))
    for train, test in folds.split(x, y):
        out_of_fold[test] = model().fit(x[train], y[train]).predict_proba(x[test])[:, 1]
        base[test] = y[train].mean()
    fitted = model().fit(x, y)
    coefficients = fitted[-1].coef_[0]
    predicted = fitted.predict_proba(features(upcoming))[:, 1] if upcoming else np.array([])
    return Fitted(
        probabilities=[float(p) for p in predicted],
        base_rate=float(y.mean()),
        auc=float(roc_auc_score(y, out_of_fold)),
        brier=float(brier_score_loss(y, out_of_fold)),
        base_rate_brier=float(brier_score_loss(y, base)),
        odds_ratios={
            name: float(math.exp(c)) for name, c in zip(FEATURES, coefficients, strict=True)
        },
    )
