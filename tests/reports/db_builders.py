"""Whole courses in the past, through the real services: a patient, a cleared screen, the
induction doses given, questionnaires answered on given days, maintenance doses, discontinuation.

Every service gets the historical `now`, so the schedule the measures app plans is the one it
would have planned at the time, and the answers land in its windows."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from courses import services as course_services
from courses.choices import CourseStatus, Indication, SessionFormat, Sex
from devtools import builders
from measures import services as measures
from measures.models import Administration

# Day 0 is the day the course opens; the six infusions of Feder 2025 over two weeks.
DOSE_DAYS = (7, 9, 11, 14, 16, 18)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@dataclass
class Cast:
    therapist: object
    provider: object
    count: int = 0


@dataclass
class Plan:
    """What happens on a course, in days from its opening (`scores`: day → {instrument: total})."""

    opened_on: dt.date
    indication: str = Indication.PTSD
    format: str = SessionFormat.INDIVIDUAL
    route: str = "iv"
    dose_days: tuple[int, ...] = DOSE_DAYS
    planned: int | None = None
    maintenance_days: tuple[int, ...] = ()
    scores: dict = field(default_factory=dict)
    discontinue_on: int | None = None
    sex: str = Sex.FEMALE
    race_ethnicity: str = ""
    date_of_birth: dt.date = dt.date(1980, 5, 17)
    therapist: object = None
    patient: object = None  # a second course for a patient already registered
    opened_hour: int = 10
    move_on: bool = True  # to integration the day after the last dose, to follow-up later

    def day(self, n: int) -> dt.date:
        return self.opened_on + dt.timedelta(days=n)


def _dose(course, cast: Cast, therapist, start: dt.datetime, route: str, maintenance: bool | None = None):
    """A whole dose, as the bedside records it: vitals before, the dose, the reading at 40 minutes,
    a full set before discharge and the discharge after the protocol's minimum monitoring (the next
    dose waits for it)."""
    latest = course.patient.weights.active().order_by("-measured_on").first()
    stale = (timezone.localdate(start) - latest.measured_on).days > 30
    session = builders.dosing_session(
        provider=cast.provider,
        facilitators=[therapist],
        start=start,
        hours=3,
        now=start - dt.timedelta(days=2),
        format=course.format,
    )
    dose = builders.dose_planned(
        session=session,
        course=course,
        provider=cast.provider,
        now=start - dt.timedelta(days=1),
        is_maintenance=maintenance,
        route=route,
        dose_mg=Decimal("35") if route in ("iv", "im") else Decimal("56") if route == "intranasal" else Decimal("300"),
        weighed_now=stale,
        lot_number="LOT-REPORTS",
    )
    return builders.dose_given(dose, cast.provider, monitored=None)


def _prepare(course, therapist, plan: "Plan") -> None:
    """A signed preparatory session on day 3."""
    held = local(plan.day(3), 10)
    note = course_services.preparatory_session_add(
        course=course, by=therapist, held_at=held, note="Synthetic preparation.", now=held + dt.timedelta(hours=1)
    )
    course_services.record_sign(record=note, by=therapist, now=held + dt.timedelta(hours=1))


def _answer(course, therapist, instrument: str, total: int, at: dt.datetime) -> None:
    """Answer the scheduled questionnaire whose window holds `at` (or an added one if none does)."""
    day = timezone.localdate(at)
    administration = (
        Administration.objects.filter(
            course=course, instrument=instrument, open_from__lte=day, missed_after__gte=day, response__isnull=True
        )
        .exclude(status="cancelled")
        .order_by("target_date")
        .first()
    )
    if administration is None:
        administration = measures.administration_add(
            course=course, by=therapist, instrument=instrument, open_from=day, missed_after=day, now=at
        )
    measures.response_enter(
        administration=administration,
        by=therapist,
        answers=builders.answers_summing_to(instrument, total),
        answered_at=at,
        now=at,
    )


def build_course(cast: Cast, plan: Plan):
    """Run the plan through the services, in the order the days come; returns the course."""
    cast.count += 1
    n = cast.count
    therapist = plan.therapist or cast.therapist
    opened = local(plan.opened_on, plan.opened_hour)
    patient = plan.patient or builders.patient(
        by=therapist,
        now=opened,
        mrn=f"RPT-{n:04d}",
        given_name=f"Report{n}",
        family_name="Cohort-Demo",
        date_of_birth=plan.date_of_birth,
        sex=plan.sex,
        race_ethnicity=plan.race_ethnicity,
        email=f"report{n}@example.invalid",
    )
    course = builders.course(
        patient,
        by=therapist,
        now=opened,
        indication=plan.indication,
        medical_provider=cast.provider,
        format=plan.format,
        planned_dosing_sessions=plan.planned or len(plan.dose_days) or 4,
    )
    builders.clear_course(
        course,
        cast.provider,
        therapist,
        at=local(plan.day(1), 11),
        evaluated_on=plan.day(1),
        diagnosis="Synthetic diagnosis",
        **builders.normal_vitals(),
    )
    _prepare(course, therapist, plan)

    # Everything that happens on a day, in a fixed order within the day: scores at 08:00 (before
    # the dose), doses at 09:00, status changes at 17:00.
    events = []
    for day, totals in plan.scores.items():
        for instrument, total in totals.items():
            events.append((day, 0, "score", (instrument, total)))
    for day in plan.dose_days:
        events.append((day, 1, "dose", False))
    for day in plan.maintenance_days:
        events.append((day, 1, "dose", True))
    last = max(plan.dose_days) if plan.dose_days else None
    if plan.discontinue_on is not None:
        events.append((plan.discontinue_on, 2, "discontinue", None))
    elif last is not None and plan.move_on:
        events.append((last + 1, 2, "status", CourseStatus.INTEGRATION))
        events.append((last + 20, 2, "status", CourseStatus.FOLLOW_UP))
    first_dose = True
    for day, _order, kind, what in sorted(events, key=lambda e: (e[0], e[1])):
        if kind == "score":
            _answer(course, therapist, what[0], what[1], local(plan.day(day), 8))
        elif kind == "dose":
            if first_dose:
                builders.waive_open_baselines(
                    course, therapist, reason="No baseline in this plan.", now=local(plan.day(day), 8, 30)
                )
                first_dose = False
            _dose(course, cast, therapist, local(plan.day(day), 9), plan.route, maintenance=what or None)
        elif kind == "discontinue":
            course_services.course_change_status(
                course=course,
                by=therapist,
                to_status=CourseStatus.DISCONTINUED,
                reason="Moved away",
                now=local(plan.day(day), 17),
            )
        else:
            course.refresh_from_db()
            if course.status != what:
                course_services.course_change_status(
                    course=course, by=therapist, to_status=what, now=local(plan.day(day), 17)
                )
        course.refresh_from_db()
    return course
