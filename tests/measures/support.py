"""Helpers for the measures tests: doses placed on given days, through the course services."""

import datetime as dt
from decimal import Decimal

from courses import services as course_services
from courses.choices import VitalPhase
from measures.models import Administration, AdministrationStatus
from tests.conftest import DISCHARGE_CHECKLIST, normal_vitals


def at_day(base: dt.datetime, days: int, hour_offset: int = 0) -> dt.datetime:
    return base + dt.timedelta(days=days, hours=hour_offset)


def book_dose(course, provider, therapist, starts_at: dt.datetime, *, now: dt.datetime | None = None):
    """A dosing session at `starts_at` with this course's dose planned in it, on the patient's
    recorded weight (weighed again when that is more than 30 days old at the session)."""
    now = now or starts_at - dt.timedelta(days=1)
    latest = course.patient.weights.active().order_by("-measured_on").first()
    if latest is None or (starts_at.date() - latest.measured_on).days > 30:
        # Weighed on the morning of the session (recorded then), as the clinic would.
        course_services.weight_record(
            patient=course.patient, by=provider, measured_on=starts_at.date(), weight_kg=Decimal("70"), now=starts_at
        )
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


def give_dose(participant, provider, *, discharge: bool = True):
    """Pre-dose vitals and the dose, at the session's start; then (`discharge`) the reading at 40
    minutes, a full set before discharge and the discharge, 65 minutes after the dose."""
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
    participant = course_services.dose_administer(participant=participant, by=provider, dosed_at=dosed, now=dosed)
    if not discharge:
        return participant
    peak, ready = dosed + dt.timedelta(minutes=40), dosed + dt.timedelta(minutes=65)
    for phase, at in ((VitalPhase.DURING, peak), (VitalPhase.PRE_DISCHARGE, ready)):
        course_services.vital_reading_record(
            participant=participant, by=provider, phase=phase, taken_at=at, now=at, **normal_vitals()
        )
    return course_services.participant_discharge(participant=participant, by=provider, now=ready, **DISCHARGE_CHECKLIST)


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


def ad_hoc(course, by, instrument: str = "phq9"):
    """An additional questionnaire open from today for a week, opened by the tick: the kind a
    clinician may cancel (a baseline is waived instead, never cancelled)."""
    from django.utils import timezone

    from measures import services

    today = timezone.localdate()
    added = services.administration_add(
        course=course, by=by, instrument=instrument, open_from=today, missed_after=today + dt.timedelta(days=7)
    )
    services.tick()
    added.refresh_from_db()
    return added
