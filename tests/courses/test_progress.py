"""What is due next on a course, from plain facts."""

import pytest

from courses.progress import CourseFacts, next_steps
from courses.safety import Blocker


def blocker(code: str, message: str, field: str = "course") -> Blocker:
    return Blocker(code, message, field)


SCREEN = blocker("screen_unsigned", "The contraindication screen is not signed: a medical provider signs it.")
PSYCH = blocker("psych_missing", "Record the psychiatric evaluation (with its suicide-risk review).")
PREPARATION = blocker("preparation_missing", "No signed preparatory session: the first dose follows one.")
BASELINE = blocker("baseline_open", "Baseline questionnaires not answered: PHQ-9.")
EXPIRED = blocker("screen_expired", "The contraindication screen expired: a new one before the next dose.")

CASES = [
    (CourseFacts(status="evaluation", blockers=(SCREEN, PSYCH)), ["screen is not signed", "Record the psychiatric"]),
    # What only the first dose waits for is not the evaluation stage's business.
    (CourseFacts(status="evaluation", blockers=(PREPARATION, BASELINE)), ["move the course to preparation"]),
    (CourseFacts(status="evaluation"), ["move the course to preparation"]),
    (CourseFacts(status="preparation", blockers=(PREPARATION, BASELINE)), ["preparatory session", "Baseline"]),
    (CourseFacts(status="preparation"), ["Ready for the first dose"]),
    (CourseFacts(status="dosing", doses_given=2, planned_sessions=4, blockers=(EXPIRED,)), ["expired", "3 of 4"]),
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
        ["1 serious adverse event awaiting", "1 given dose not yet signed", "Dosing session 2 of 4"],
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
