"""The rules as pure functions: status moves, SLA deadlines and misses, choosing an agent,
filling placeholders."""

from __future__ import annotations

import pytest
from mindframe_plugins.support.assignment import Candidate, choose, least_loaded, round_robin, taken
from mindframe_plugins.support.canned import BUILTINS, PLACEHOLDERS, fill
from mindframe_plugins.support.sla import deadlines, missed
from mindframe_plugins.support.states import (
    STATUSES,
    StatusMoveRefused,
    after_customer_wrote,
    check_move,
)

# --- statuses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        ("open", "pending"),
        ("pending", "open"),
        ("open", "resolved"),
        ("resolved", "open"),
        ("resolved", "closed"),
        ("pending", "closed"),
    ],
)
def test_the_workflow_allows_these_moves(current, wanted):
    check_move(current, wanted)


@pytest.mark.parametrize("wanted", STATUSES)
def test_a_closed_ticket_is_final(wanted):
    with pytest.raises(StatusMoveRefused):
        check_move("closed", wanted)


def test_staying_in_place_is_not_a_move():
    for status in STATUSES:
        with pytest.raises(StatusMoveRefused):
            check_move(status, status)


def test_a_customers_message_reopens_a_waiting_or_resolved_ticket_only():
    assert [after_customer_wrote(s) for s in STATUSES] == [None, "open", "open", None]


# --- SLA --------------------------------------------------------------------------------

MINUTES = {"urgent": 15, "normal": 240}


def test_deadlines_follow_the_priority_and_a_priority_without_target_has_none():
    urgent = deadlines(1000.0, "urgent", MINUTES, {"urgent": 60})
    assert (urgent.first_response, urgent.resolution) == (1000 + 15 * 60, 1000 + 3600)
    low = deadlines(1000.0, "low", MINUTES, {"urgent": 60})
    assert (low.first_response, low.resolution) == (None, None)


def ticket(**moments):
    return {"first_response_due": 100.0, "resolution_due": 200.0, **moments}


@pytest.mark.parametrize(
    ("moments", "now", "expected"),
    [
        ({}, 50.0, []),  # nothing is due yet
        ({}, 150.0, ["first_response"]),  # no answer and past due
        ({"first_response_at": 90.0}, 150.0, []),  # answered in time
        ({"first_response_at": 120.0}, 150.0, ["first_response"]),  # answered late
        ({"first_response_at": 90.0}, 250.0, ["resolution"]),
        ({"first_response_at": 90.0, "resolved_at": 190.0}, 250.0, []),
        ({"closed_at": 80.0}, 250.0, []),  # closed before anything was due
        ({"closed_at": 150.0}, 250.0, ["first_response"]),
    ],
)
def test_a_deadline_is_missed_when_its_moment_came_after_it(moments, now, expected):
    assert missed(ticket(**moments), now) == expected


def test_a_ticket_without_deadlines_misses_nothing():
    assert missed({"first_response_due": None, "resolution_due": None}, 1e12) == []


# --- choosing an agent ------------------------------------------------------------------

ADA, BO, CY = Candidate("ada", 0, 2), Candidate("bo", 1, 2), Candidate("cy", 2, 2)


def test_round_robin_takes_the_next_agent_with_room_and_wraps_around():
    assert round_robin([ADA, BO, CY], None) == ADA
    assert round_robin([ADA, BO, CY], "ada") == BO
    assert round_robin([ADA, BO, CY], "bo") == ADA  # cy is full: wrap to ada
    assert round_robin([CY, BO, ADA], "zed") == ADA  # someone who left: start over


def test_round_robin_goes_round_when_assigning_many_in_a_row():
    candidates, last, order = [Candidate(a, 0, 5) for a in ("c", "a", "b")], None, []
    for _ in range(6):
        chosen = round_robin(candidates, last)
        assert chosen is not None
        order.append(chosen.agent_id)
        candidates, last = taken(candidates, chosen.agent_id), chosen.agent_id
    assert order == ["a", "b", "c", "a", "b", "c"]


def test_least_loaded_takes_the_agent_with_fewest_open_tickets():
    assert least_loaded([CY, BO, ADA]) == ADA
    assert least_loaded([Candidate("b", 1, 3), Candidate("a", 1, 3)]).agent_id == "a"


def test_nobody_is_chosen_when_everyone_is_at_their_limit():
    full = [CY, Candidate("dee", 3, 3)]
    assert round_robin(full, None) is None
    assert least_loaded(full) is None


def test_the_limit_holds_however_many_tickets_come():
    candidates, last, given = [ADA, BO], None, 0
    while (chosen := choose("least_loaded", candidates, last)) is not None:
        candidates, last, given = taken(candidates, chosen.agent_id), chosen.agent_id, given + 1
    assert given == 3  # ada 0 -> 2, bo 1 -> 2
    assert all(c.load == c.limit for c in candidates)


def test_manual_assignment_chooses_nobody():
    assert choose("manual", [ADA], None) is None


# --- placeholders -----------------------------------------------------------------------


def test_placeholders_are_filled():
    text = "Hi {visitor_name}, I'm {agent_name}. Ticket {ticket_id}: {subject}."
    values = {"visitor_name": "Kari", "agent_name": "Ola", "ticket_id": 7, "subject": "Late"}
    assert fill(text, values) == "Hi Kari, I'm Ola. Ticket 7: Late."


def test_an_unknown_value_is_left_out_and_the_sentence_tidied():
    assert fill("Hi {visitor_name}, thanks!", {}) == "Hi, thanks!"
    assert fill("Thanks, {visitor_name}. Next", {}) == "Thanks. Next"
    assert fill("Regards, {agent_name}", {"agent_name": ""}) == "Regards"


def test_only_the_known_placeholders_are_touched():
    text = "{visitor_name.__class__} {0} {unknown} {visitor_name!r}"
    assert fill(text, {"visitor_name": "Kari"}) == text


def test_every_builtin_uses_only_known_placeholders_and_has_a_unique_shortcut():
    assert len(BUILTINS) >= 6
    assert len({b.shortcut for b in BUILTINS}) == len(BUILTINS)
    for builtin in BUILTINS:
        names = {part.split("}")[0] for part in builtin.text.split("{")[1:]}
        assert names <= set(PLACEHOLDERS), builtin.key
