"""What is due next on a course, from plain facts."""

import pytest

from courses.progress import CourseFacts, next_steps

PSYCH = "Record the psychiatric"

CASES = [
    (CourseFacts(status="evaluation"), ["Record the medical evaluation", "Record the psychiatric evaluation."]),
    (
        CourseFacts(status="evaluation", screen_decision="pending"),
        ["Decide the contraindication screen", PSYCH],
    ),
    (
        CourseFacts(status="evaluation", screen_decision="cleared"),
        ["Sign the medical evaluation", PSYCH],
    ),
    (
        CourseFacts(status="evaluation", screen_decision="not_cleared", screen_signed=True),
        ["not cleared: no dosing", PSYCH],
    ),
    (
        CourseFacts(status="evaluation", screen_decision="cleared", screen_signed=True, psych_recorded=True),
        ["Sign the psychiatric evaluation."],
    ),
    (
        CourseFacts(
            status="evaluation", screen_decision="cleared", screen_signed=True, psych_recorded=True, psych_signed=True
        ),
        ["move the course to preparation"],
    ),
    (
        CourseFacts(
            status="preparation",
            screen_decision="cleared_with_cautions",
            screen_signed=True,
            psych_recorded=True,
            psych_signed=True,
        ),
        ["Hold the first preparatory session"],
    ),
    (
        CourseFacts(
            status="preparation",
            screen_decision="cleared",
            screen_signed=True,
            psych_recorded=True,
            psych_signed=True,
            preparatory_sessions=1,
        ),
        ["Schedule the first dosing session"],
    ),
    (CourseFacts(status="dosing", doses_given=2, planned_sessions=4), ["Dosing session 3 of 4 planned."]),
    (CourseFacts(status="dosing", doses_given=4, planned_sessions=4), ["All 4 planned dosing sessions given"]),
    (CourseFacts(status="integration"), ["Hold the first integration session."]),
    (CourseFacts(status="integration", integration_sessions=2), ["2 integration sessions held"]),
    (CourseFacts(status="follow_up"), ["+1, +3 and +6 months"]),
    (CourseFacts(status="completed"), ["Course completed"]),
    (CourseFacts(status="discontinued"), ["Course discontinued"]),
    (
        CourseFacts(
            status="dosing", doses_given=1, planned_sessions=4, open_serious_events=1, doses_awaiting_signature=1
        ),
        ["1 serious adverse event awaiting", "1 dose record to discharge and sign", "Dosing session 2 of 4"],
    ),
]


@pytest.mark.parametrize(("facts", "expected"), CASES)
def test_it_says_what_is_due_next_in_order(facts, expected):
    steps = next_steps(facts)
    assert len(steps) == len(expected), steps
    for step, fragment in zip(steps, expected, strict=True):
        assert fragment in step


def test_serious_events_come_first_even_on_a_closed_course():
    steps = next_steps(CourseFacts(status="completed", open_serious_events=2))
    assert steps[0].startswith("2 serious adverse events")
