"""What is due next on a course: a pure function of a few plain facts, shown on every course page.

The ORM layer (the timeline view, the caseload's annotations) gathers the facts; this module
only turns them into short sentences, so it is tested with a table of cases.
"""

from dataclasses import dataclass

from courses.choices import CLEARED_DECISIONS, CourseStatus, ScreenDecision


@dataclass(frozen=True)
class CourseFacts:
    status: str
    screen_decision: str | None = None  # None: no active medical evaluation
    screen_signed: bool = False
    psych_recorded: bool = False
    psych_signed: bool = False
    preparatory_sessions: int = 0
    doses_given: int = 0  # acute series only: maintenance doses do not count
    planned_sessions: int = 6
    integration_sessions: int = 0
    open_serious_events: int = 0
    doses_awaiting_signature: int = 0


def _evaluation_steps(f: CourseFacts) -> list[str]:
    steps = []
    if f.screen_decision is None:
        steps.append("Record the medical evaluation and contraindication screen (medical provider).")
    elif not f.screen_signed:
        if f.screen_decision == ScreenDecision.PENDING:
            steps.append("Decide the contraindication screen and sign the medical evaluation (medical provider).")
        else:
            steps.append("Sign the medical evaluation (medical provider).")
    elif f.screen_decision not in CLEARED_DECISIONS:
        steps.append("The screen is signed as not cleared: no dosing. Discontinue the course, or void and re-evaluate.")
    if not f.psych_recorded:
        steps.append("Record the psychiatric evaluation.")
    elif not f.psych_signed:
        steps.append("Sign the psychiatric evaluation.")
    return steps


def next_steps(f: CourseFacts) -> list[str]:
    """Short sentences, most urgent first; empty when nothing is due."""
    steps = []
    if f.open_serious_events:
        n = f.open_serious_events
        steps.append(f"{n} serious adverse event{'s' if n != 1 else ''} awaiting the practice lead's acknowledgement.")
    if f.doses_awaiting_signature:
        n = f.doses_awaiting_signature
        steps.append(f"{n} dose record{'s' if n != 1 else ''} to discharge and sign (medical provider).")
    if f.status == CourseStatus.COMPLETED:
        return steps + ["Course completed: nothing further is due."]
    if f.status == CourseStatus.DISCONTINUED:
        return steps + ["Course discontinued: nothing further is due."]

    evaluation = _evaluation_steps(f)
    if f.status == CourseStatus.EVALUATION:
        steps += evaluation or ["Evaluations signed: move the course to preparation."]
    elif f.status == CourseStatus.PREPARATION:
        steps += evaluation
        if f.preparatory_sessions == 0:
            steps.append("Hold the first preparatory session (1–2 before dosing).")
        elif not evaluation:
            steps.append("Schedule the first dosing session and move the course to dosing.")
    elif f.status == CourseStatus.DOSING:
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
