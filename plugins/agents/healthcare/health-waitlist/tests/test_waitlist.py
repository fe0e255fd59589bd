"""The waiting list against its stated rules on fixed cases worked out by hand (breach
dates over Norwegian and Swedish Easter, the four ordering rules one at a time), and the
projected lateness against first come, first served and against every possible order."""

from __future__ import annotations

import random
from datetime import date, timedelta
from itertools import permutations

import pytest
from mindframe_plugins.health_waitlist.agent import PriorityRule, Referral, WaitlistRequest, order
from mindframe_plugins.health_waitlist.waitlist import (
    Calendar,
    Entry,
    breach_dates,
    first_come,
    lateness,
    ordered,
    project,
)

MONDAY = date(2026, 3, 2)
RULES = [
    {"priority": 1, "max_wait": 10, "unit": "working_days"},
    {"priority": 2, "max_wait": 30},
    {"priority": 3, "max_wait": 90},
]
# By hand, today Monday 2 March 2026: 1 November + 90 days is 30 January (past); Friday
# 20 February + 10 working days, 4 February + 30 days and 6 December + 90 days are all
# Friday 6 March; 10 February + 30 days is 12 March, the deadline set for own-deadline too.
REFERRALS = [
    {"referral_id": "b", "priority": 2, "referred": "2026-02-10"},
    {"referral_id": "pri3-early", "priority": 3, "referred": "2025-12-06"},
    {"referral_id": "a", "priority": 2, "referred": "2026-02-10"},
    {"referral_id": "pri2", "priority": 2, "referred": "2026-02-04"},
    {
        "referral_id": "own-deadline",
        "priority": 2,
        "referred": "2026-01-15",
        "breach_date": "2026-03-12",
    },
    {"referral_id": "urgent", "priority": 1, "referred": "2026-02-20"},
    {"referral_id": "old", "priority": 3, "referred": "2025-11-01"},
]
EXPECTED = ["old", "urgent", "pri2", "pri3-early", "own-deadline", "a", "b"]


def request(referrals=REFERRALS, **more) -> WaitlistRequest:
    """The request as structs (built directly: the kernel may have reloaded the module)."""
    return WaitlistRequest(
        list_id="ortho",
        country="NO",
        rules=[PriorityRule(**rule) for rule in RULES],
        referrals=[
            Referral(
                **{
                    **item,
                    "referred": date.fromisoformat(item["referred"]),
                    "breach_date": item.get("breach_date")
                    and date.fromisoformat(item["breach_date"]),
                }
            )
            for item in referrals
        ],
        **more,
    )


def test_the_order_follows_the_four_stated_rules():
    rows, projection = order(request(), MONDAY)
    assert [row.referral_id for row in rows] == EXPECTED
    assert projection is None
    by_id = {row.referral_id: row for row in rows}
    assert by_id["old"].breach_date == date(2026, 1, 30)  # rule 1: overdue first
    for name in ("urgent", "pri2", "pri3-early"):  # rule 2: same date, by priority
        assert by_id[name].breach_date == date(2026, 3, 6)
    assert by_id["own-deadline"].breach_date == by_id["a"].breach_date == date(2026, 3, 12)
    # rule 3 put own-deadline (waiting since January) before a; rule 4 put a before b
    assert [(r.status, r.working_days_left) for r in rows] == [
        ("breached", -21),  # the 20 working days of February, and Monday 2 March
        ("due_soon", 4),
        ("due_soon", 4),
        ("due_soon", 4),
        ("on_time", 8),
        ("on_time", 8),
        ("on_time", 8),
    ]


def test_the_order_does_not_depend_on_the_order_given():
    shuffled = REFERRALS[:]
    random.Random(3).shuffle(shuffled)
    assert [row.referral_id for row in order(request(shuffled), MONDAY)[0]] == EXPECTED


@pytest.mark.parametrize(
    ("country", "referred", "expected"),
    [
        # Wednesday 1 April 2026; Maundy Thursday, Good Friday and Easter Monday are public
        # holidays in Norway, so the third working day after is Thursday 9 April ...
        ("NO", date(2026, 4, 1), date(2026, 4, 9)),
        # ... while in Sweden Maundy Thursday is a working day: Wednesday 8 April
        ("SE", date(2026, 4, 1), date(2026, 4, 8)),
        # a referral on Easter Saturday: Tuesday 7 April is the first working day after it
        ("NO", date(2026, 4, 4), date(2026, 4, 9)),
        # Christmas Eve is a working day in Danish law; Christmas Day and the 26th are not
        ("DK", date(2026, 12, 23), date(2026, 12, 29)),
    ],
)
def test_working_days_skip_weekends_and_the_countrys_public_holidays(country, referred, expected):
    calendar = Calendar(country, 2026, 2027)
    assert breach_dates(calendar, [referred], [(3, "working_days")]) == [expected]


def test_ordering_by_breach_date_keeps_a_patient_in_time_whom_first_come_would_let_breach():
    calendar = Calendar("NO", 2026, 2026)
    slow = Entry("slow", 3, date(2026, 1, 1), date(2026, 4, 1))
    fast = Entry("fast", 1, date(2026, 2, 27), MONDAY)
    assert lateness(project(calendar, first_come([slow, fast]), MONDAY, 1)).breaches == 1
    assert lateness(project(calendar, ordered([slow, fast]), MONDAY, 1)).breaches == 0


def test_no_order_of_a_small_list_has_a_smaller_largest_lateness():
    """Jackson's rule, checked by trying all 5,040 orders of seven referrals."""
    calendar = Calendar("NO", 2025, 2026)
    rng = random.Random(11)
    entries = [
        Entry(
            f"r{i}",
            rng.randint(1, 3),
            MONDAY - timedelta(days=rng.randint(0, 60)),
            MONDAY + timedelta(days=rng.randint(-3, 6)),
        )
        for i in range(7)
    ]
    best = min(
        lateness(project(calendar, list(p), MONDAY, 1)).max_days_late for p in permutations(entries)
    )
    assert lateness(project(calendar, ordered(entries), MONDAY, 1)).max_days_late == best > 0


def test_a_list_seen_by_breach_date_is_never_later_at_worst_than_first_come_first_served():
    """Overloaded (300 waiting, five a day), breach-date order makes more patients a little
    late and none as late as first come, first served does: the projection shows both."""
    rng = random.Random(7)
    referrals = [
        {
            "referral_id": f"r{i:03d}",
            "priority": (priority := rng.choice([1, 2, 2, 3, 3, 3])),
            "referred": (
                MONDAY - timedelta(days=rng.randint(0, {1: 10, 2: 35, 3: 100}[priority]))
            ).isoformat(),
        }
        for i in range(300)
    ]
    _, projection = order(request(referrals, slots_per_working_day=5), MONDAY)
    assert projection is not None
    assert projection.max_days_late < projection.first_come_max_days_late
