"""What is due next on a course: a pure function of a few plain facts, shown on every course page.

What the course's next dose waits for is not decided here: it is courses.safety.course_blockers,
the same answer the services enforce, passed in as `blockers`. This module only orders it with
the stage's own next step, so it is tested with a table of cases.
"""

from dataclasses import dataclass

from courses.choices import CourseStatus
from courses.safety import Blocker

# What the first dose waits for beyond the evaluations: shown from the preparation stage on.
FIRST_DOSE_CODES = {"preparation_missing", "baseline_open"}


@dataclass(frozen=True)
class CourseFacts:
    status: str
    blockers: tuple[Blocker, ...] = ()  # courses.safety.course_blockers of the course, today
    doses_given: int = 0  # acute series only: maintenance doses do not count
    planned_sessions: int = 6
    integration_sessions: int = 0
    open_serious_events: int = 0
    doses_awaiting_signature: int = 0


def next_steps(f: CourseFacts) -> list[str]:
    """Short sentences, most urgent first; empty when nothing is due."""
    steps = []
    if f.open_serious_events:
        n = f.open_serious_events
        steps.append(f"{n} serious adverse event{'s' if n != 1 else ''} awaiting the practice lead's acknowledgement.")
    if f.doses_awaiting_signature:
        n = f.doses_awaiting_signature
        steps.append(f"{n} given dose{'s' if n != 1 else ''} not yet signed: discharge, then sign (medical provider).")
    if f.status == CourseStatus.COMPLETED:
        return steps + ["Course completed: nothing further is due."]
    if f.status == CourseStatus.DISCONTINUED:
        return steps + ["Course discontinued: nothing further is due."]

    waiting = [b.message for b in f.blockers]
    evaluation = [b.message for b in f.blockers if b.code not in FIRST_DOSE_CODES]
    if f.status == CourseStatus.EVALUATION:
        steps += evaluation or ["Evaluations signed: move the course to preparation."]
    elif f.status == CourseStatus.PREPARATION:
        steps += waiting or ["Ready for the first dose: schedule the first dosing session, then move to dosing."]
    elif f.status == CourseStatus.DOSING:
        steps += waiting
        if f.doses_given < f.planned_sessions:
            steps.append(f"Dosing session {f.doses_given + 1} of {f.planned_sessions} planned.")
        else:
            steps.append(f"All {f.planned_sessions} planned dosing sessions given: move the course to integration.")
    elif f.status == CourseStatus.INTEGRATION:
        if f.integration_sessions == 0:
            steps.append("Hold the first integration session.")
        else:
            n = f.integration_sessions
            steps.append(
                f"{n} integration session{'s' if n != 1 else ''} held: move to follow-up when integration is complete."
            )
    elif f.status == CourseStatus.FOLLOW_UP:
        steps.append("Follow-up measures at +1, +3 and +6 months; mark the course completed after the last.")
    return steps
