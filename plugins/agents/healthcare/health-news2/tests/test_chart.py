"""NEWS2 against the Royal College of Physicians' chart (2017), case by case: both edges
of every band of every parameter, SpO2 scales 1 and 2, new confusion, the single-
parameter-3 rule and the response thresholds. The expected scores are read off the
printed chart, not from the agent's table."""

from __future__ import annotations

from typing import Any

import pytest
from mindframe_plugins.health_news2.agent import VitalSigns, assess

NORMAL: dict[str, Any] = {
    "patient_id": "p-1",
    "respiration_rate": 16,
    "spo2": 97,
    "on_oxygen": False,
    "spo2_scale": 1,
    "systolic_bp": 120,
    "pulse": 70,
    "consciousness": "alert",
    "temperature": 37.0,
}

# (parameter, value, score on the chart), the lowest and highest value of each band
CHART = [
    *[("respiration_rate", v, 3) for v in (4, 8)],
    *[("respiration_rate", v, 1) for v in (9, 11)],
    *[("respiration_rate", v, 0) for v in (12, 20)],
    *[("respiration_rate", v, 2) for v in (21, 24)],
    *[("respiration_rate", v, 3) for v in (25, 45)],
    *[("systolic_bp", v, 3) for v in (60, 90)],
    *[("systolic_bp", v, 2) for v in (91, 100)],
    *[("systolic_bp", v, 1) for v in (101, 110)],
    *[("systolic_bp", v, 0) for v in (111, 219)],
    *[("systolic_bp", v, 3) for v in (220, 260)],
    *[("pulse", v, 3) for v in (25, 40)],
    *[("pulse", v, 1) for v in (41, 50)],
    *[("pulse", v, 0) for v in (51, 90)],
    *[("pulse", v, 1) for v in (91, 110)],
    *[("pulse", v, 2) for v in (111, 130)],
    *[("pulse", v, 3) for v in (131, 180)],
    *[("temperature", v, 3) for v in (33.0, 35.0)],
    *[("temperature", v, 1) for v in (35.1, 36.0)],
    *[("temperature", v, 0) for v in (36.1, 38.0)],
    *[("temperature", v, 1) for v in (38.1, 39.0)],
    *[("temperature", v, 2) for v in (39.1, 41.5)],
    ("consciousness", "alert", 0),
    ("consciousness", "confusion", 3),
    ("consciousness", "voice", 3),
    ("consciousness", "pain", 3),
    ("consciousness", "unresponsive", 3),
]

# (SpO2, scale, on oxygen, SpO2 score on the chart); oxygen itself adds 2 to the total
SPO2_CHART = [
    *[(v, 1, False, 3) for v in (80, 91)],
    *[(v, 1, False, 2) for v in (92, 93)],
    *[(v, 1, False, 1) for v in (94, 95)],
    *[(v, 1, False, 0) for v in (96, 100)],
    *[(v, 1, True, 0) for v in (96, 100)],
    *[(v, 1, True, 3) for v in (85, 91)],
    *[(v, 2, False, 3) for v in (75, 83)],
    *[(v, 2, False, 2) for v in (84, 85)],
    *[(v, 2, False, 1) for v in (86, 87)],
    *[(v, 2, False, 0) for v in (88, 92)],
    *[(v, 2, False, 0) for v in (93, 100)],  # 93 or more on air: 0 on scale 2
    *[(v, 2, True, 0) for v in (88, 92)],
    *[(v, 2, True, 1) for v in (93, 94)],
    *[(v, 2, True, 2) for v in (95, 96)],
    *[(v, 2, True, 3) for v in (97, 100)],
    *[(v, 2, True, 3) for v in (80, 83)],
]


def scored(**changes: Any) -> tuple[int, bool, str, str, dict[str, int]]:
    total, red, risk, response, parameters = assess(VitalSigns(**{**NORMAL, **changes}))
    return total, red, risk, response, {p.parameter: p.score for p in parameters}


def test_a_patient_with_normal_vital_signs_scores_zero_and_routine_monitoring():
    assert scored()[:4] == (0, False, "low", "routine")


@pytest.mark.parametrize(("parameter", "value", "expected"), CHART)
def test_every_band_of_every_parameter_scores_as_on_the_chart(parameter, value, expected):
    total, red, _, _, by_parameter = scored(**{parameter: value})
    assert by_parameter[parameter] == expected
    assert total == expected
    assert red == (expected == 3)


@pytest.mark.parametrize(("spo2", "scale", "on_oxygen", "expected"), SPO2_CHART)
def test_spo2_on_scales_1_and_2_scores_as_on_the_chart(spo2, scale, on_oxygen, expected):
    total, _, _, _, by_parameter = scored(spo2=spo2, spo2_scale=scale, on_oxygen=on_oxygen)
    assert by_parameter["spo2"] == expected
    assert by_parameter["on_oxygen"] == (2 if on_oxygen else 0)
    assert total == expected + (2 if on_oxygen else 0)


def test_new_confusion_alone_is_a_red_score_needing_an_urgent_ward_response():
    total, red, risk, response, _ = scored(consciousness="confusion")
    assert (total, red, risk, response) == (3, True, "low_medium", "urgent_ward")


@pytest.mark.parametrize(
    ("changes", "total", "risk", "response"),
    [
        ({"pulse": 95}, 1, "low", "ward"),
        ({"pulse": 95, "temperature": 38.5, "respiration_rate": 22}, 4, "low", "ward"),
        ({"systolic_bp": 85}, 3, "low_medium", "urgent_ward"),
        ({"systolic_bp": 85, "pulse": 95}, 4, "low_medium", "urgent_ward"),
        ({"respiration_rate": 22, "spo2": 93, "pulse": 95}, 5, "medium", "urgent"),
        ({"respiration_rate": 26, "pulse": 95, "temperature": 38.5}, 5, "medium", "urgent"),
        ({"respiration_rate": 22, "spo2": 93, "pulse": 115}, 6, "medium", "urgent"),
        (
            {"respiration_rate": 22, "spo2": 93, "pulse": 115, "temperature": 38.5},
            7,
            "high",
            "emergency",
        ),
        (
            {
                "respiration_rate": 30,
                "spo2": 88,
                "systolic_bp": 85,
                "pulse": 135,
                "consciousness": "pain",
                "temperature": 34.5,
                "on_oxygen": True,
            },
            20,
            "high",
            "emergency",
        ),
    ],
)
def test_the_response_thresholds_are_the_charts(changes, total, risk, response):
    got_total, _, got_risk, got_response, _ = scored(**changes)
    assert (got_total, got_risk, got_response) == (total, risk, response)


def test_a_worked_example_on_oxygen_scores_ten_and_calls_for_an_emergency_response():
    # RR 24 (2), SpO2 93 on scale 1 (2), on oxygen (2), systolic 105 (1), pulse 115 (2),
    # alert (0), 38.5 °C (1): 10, high risk
    total, red, risk, response, _ = scored(
        respiration_rate=24, spo2=93, on_oxygen=True, systolic_bp=105, pulse=115, temperature=38.5
    )
    assert (total, red, risk, response) == (10, False, "high", "emergency")
