"""Helpers for the measures tests: doses placed on given days, through the course services."""

import datetime as dt
from decimal import Decimal

from courses import services as course_services
from courses.choices import VitalPhase
from measures.models import Administration, AdministrationStatus
from tests.conftest import normal_vitals


def at_day(base: dt.datetime, days: int, hour_offset: int = 0) -> dt.datetime:
    return base + dt.timedelta(days=days, hours=hour_offset)


def book_dose(course, provider, therapist, starts_at: dt.datetime, *, now: dt.datetime | None = None):
    """A dosing session at `starts_at` with this course's dose planned in it."""
    now = now or starts_at - dt.timedelta(days=1)
    session = course_services.dosing_session_schedule(
        by=provider,
        now=now,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=3),
        medical_provider=provider,
        facilitators=[therapist],
    )
    return course_services.dosing_participant_add(
        session=session,
        course=course,
        by=provider,
        now=now,
        route="iv",
        dose_mg=Decimal("35"),
        weight_kg=Decimal("70"),
        lot_number="LOT-MEASURES",
        fasting_confirmed=True,
    )


def give_dose(participant, provider):
    """Pre-dose vitals and the dose, at the session's start."""
    start = participant.session.starts_at
    course_services.vital_reading_record(
        participant=participant,
        by=provider,
        phase=VitalPhase.PRE_DOSE,
        taken_at=start,
        now=start + dt.timedelta(minutes=1),
        **normal_vitals(),
    )
    dosed = start + dt.timedelta(minutes=10)
    return course_services.dose_administer(participant=participant, by=provider, dosed_at=dosed, now=dosed)


def rows(course, **filters):
    return list(Administration.objects.filter(course=course, **filters).order_by("timepoint", "instrument"))


def summary(course, *, exclude_cancelled=True) -> list[tuple]:
    qs = Administration.objects.filter(course=course)
    if exclude_cancelled:
        qs = qs.exclude(status=AdministrationStatus.CANCELLED)
    return sorted((a.timepoint, a.instrument, a.status) for a in qs)


PHQ9_ZERO = dict.fromkeys(range(1, 10), 0)
GAD7_ZERO = dict.fromkeys(range(1, 8), 0)
PCL5_ZERO = dict.fromkeys(range(1, 21), 0)
ZERO = {"phq9": PHQ9_ZERO, "gad7": GAD7_ZERO, "pcl5": PCL5_ZERO}
