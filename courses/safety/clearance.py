"""Is this course cleared for dosing (the contraindication screen and the psychiatric evaluation,
still valid on the day)? Is the course ready for a dose at all (open, old enough, prepared, a
baseline before the first dose)?"""

from dataclasses import dataclass
from datetime import date

from courses import rules
from courses.choices import CLEARED_DECISIONS, ScreenDecision, SuicideRisk
from courses.safety.blockers import Blocker


@dataclass(frozen=True)
class Screen:
    """The course's current medical evaluation (contraindication screen)."""

    decision: str
    signed: bool
    evaluated_on: date | None
    recent_suicidality: str = ""  # the caution's answer: yes / no / unknown / ""
    childbearing_potential: str = ""


@dataclass(frozen=True)
class Psych:
    signed: bool
    suicide_risk: str = ""
    has_risk_plan: bool = False


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the last day of the month when that day does not exist)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=candidate)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover — day 28 exists in every month


def screen_expires_on(screen: Screen, valid_months: int) -> date | None:
    return add_months(screen.evaluated_on, valid_months) if screen.evaluated_on else None


def clearance_blockers(screen: Screen | None, psych: Psych | None, *, on: date, valid_months: int) -> list[Blocker]:
    """Is this course cleared for dosing on this day? Empty when it is.

    Cleared means: a signed screen with a cleared decision, not older than the clinic's validity;
    a signed psychiatric evaluation; and when the screen records recent suicidality, an evaluation
    whose risk level and safety plan address it (DOMAIN §2: "needs the psychiatric risk plan").
    """
    out: list[Blocker] = []
    if screen is None:
        out.append(
            Blocker(
                "screen_missing",
                "No medical evaluation: a medical provider records the contraindication screen first.",
                "course",
            )
        )
    elif not screen.signed:
        what = "decides and signs" if screen.decision == ScreenDecision.PENDING else "signs"
        out.append(
            Blocker(
                "screen_unsigned",
                f"The contraindication screen is not signed: a medical provider {what} the medical evaluation.",
                "course",
            )
        )
    elif screen.decision not in CLEARED_DECISIONS:
        out.append(
            Blocker(
                "screen_not_cleared",
                "The contraindication screen is signed as not cleared: no dosing. Discontinue the course, or "
                "re-evaluate.",
                "course",
            )
        )
    else:
        expires = screen_expires_on(screen, valid_months)
        if expires is not None and on >= expires:
            out.append(
                Blocker(
                    "screen_expired",
                    f"The contraindication screen of {screen.evaluated_on:%Y-%m-%d} expired on {expires:%Y-%m-%d} "
                    f"(valid {valid_months} months): a medical provider records a new medical evaluation before the "
                    "next dose.",
                    "course",
                )
            )
    if psych is None:
        out.append(
            Blocker("psych_missing", "Record the psychiatric evaluation (with its suicide-risk review).", "course")
        )
    elif not psych.signed:
        out.append(
            Blocker("psych_unsigned", "Sign the psychiatric evaluation (with its suicide-risk review).", "course")
        )
    if screen is not None and screen.recent_suicidality == rules.YES:
        addressed = (
            psych is not None
            and psych.signed
            and psych.suicide_risk in (SuicideRisk.MODERATE, SuicideRisk.HIGH)
            and psych.has_risk_plan
        )
        if not addressed:
            out.append(
                Blocker(
                    "suicidality_unaddressed",
                    "The screen records a recent suicide attempt or active suicidal intent, but no signed "
                    "psychiatric evaluation rates that risk (moderate or high) with a safety plan: amend the "
                    "psychiatric evaluation or the screen before dosing.",
                    "course",
                )
            )
    return out


@dataclass(frozen=True)
class CourseReadiness:
    """What a course must have before any of its doses (the patient aside)."""

    on: date  # the day of the dose asked about
    closed: bool = False
    status: str = ""
    screen: Screen | None = None
    psych: Psych | None = None
    screen_valid_months: int = 12
    first_dose: bool = True  # no dose given on the course yet
    signed_preparatory_sessions: int = 0
    baseline_open: tuple[str, ...] = ()  # instruments whose baseline is neither answered nor waived
    patient_age: int | None = None
    minimum_age: int = 18
    age_exception: bool = False


def course_blockers(c: CourseReadiness) -> list[Blocker]:
    """Is this course ready for a dose on this day? Cleared, old enough, and before the first dose
    prepared with a baseline (DOMAIN §1 and §6: a course with no baseline can never show a response)."""
    out: list[Blocker] = []
    if c.closed:
        out.append(Blocker("course_closed", f"The course is {c.status}: no dosing.", "course"))
    out.extend(clearance_blockers(c.screen, c.psych, on=c.on, valid_months=c.screen_valid_months))
    if c.patient_age is not None and c.patient_age < c.minimum_age and not c.age_exception:
        out.append(
            Blocker(
                "under_age",
                f"The patient is {c.patient_age}, under the clinic's minimum age of {c.minimum_age}: a practice lead "
                "records a documented exception on the course before dosing.",
                "course",
            )
        )
    if c.first_dose:
        if c.signed_preparatory_sessions < 1:
            out.append(
                Blocker(
                    "preparation_missing",
                    "No signed preparatory session: the first dose follows at least one preparatory session, "
                    "signed by its therapist.",
                    "course",
                )
            )
        if c.baseline_open:
            out.append(
                Blocker(
                    "baseline_open",
                    f"Baseline questionnaires not answered: {', '.join(c.baseline_open)}. Without them the course can "
                    "never show a response: have the patient answer, or a clinician waives each with a reason.",
                    "course",
                )
            )
    return out
