"""Small builders for the service tests: more patients, cleared courses and group sessions."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from courses import services
from courses.choices import Indication, SessionFormat, Sex, VitalPhase
from tests.conftest import SIGNABLE_EVALUATION, normal_vitals, prepare_course


def cleared_course_for(*, n: int, therapist, provider, format=SessionFormat.INDIVIDUAL, prepared=True):
    """A new patient (MRN BLD-n) with a course whose screen and psychiatric evaluation are signed,
    and (`prepared`) what the first dose waits for: a signed preparatory session, baseline waived."""
    patient = services.patient_register(
        by=therapist,
        mrn=f"BLD-{n:04d}",
        given_name=f"Synthetic{n}",
        family_name="Builder-Demo",
        date_of_birth=dt.date(1985, 1, 1),
        sex=Sex.MALE,
        email=f"p{n}@example.invalid",
        weight_kg=Decimal("70"),
    )
    course = services.course_open(
        patient=patient,
        by=therapist,
        indication=Indication.PTSD,
        therapists=[therapist],
        medical_provider=provider,
        format=format,
    )
    evaluation = services.medical_evaluation_record(
        course=course, by=provider, decision="cleared", **SIGNABLE_EVALUATION
    )
    services.record_sign(record=evaluation, by=provider)
    psych = services.psychiatric_evaluation_record(
        course=course, by=therapist, evaluated_on=dt.date(2026, 3, 2), diagnosis="PTSD", suicide_risk="low"
    )
    services.record_sign(record=psych, by=therapist)
    course.refresh_from_db()
    return prepare_course(course, therapist) if prepared else course


def session(*, therapist, provider, format=SessionFormat.INDIVIDUAL, start=None, hours=2):
    start = start or timezone.now() - dt.timedelta(minutes=30)
    return services.dosing_session_schedule(
        by=provider,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=hours),
        medical_provider=provider,
        facilitators=[therapist],
        format=format,
    )


def add_dose(*, session, course, provider, **dose):
    values = {"route": "iv", "dose_mg": Decimal("35"), "weight_kg": Decimal("70"), "fasting_confirmed": True}
    values.update(dose)
    return services.dosing_participant_add(session=session, course=course, by=provider, **values)


def group_session_with(n: int, *, therapist, provider, first: int = 100):
    group = session(therapist=therapist, provider=provider, format=SessionFormat.GROUP)
    participants = [
        add_dose(
            session=group,
            course=cleared_course_for(n=first + i, therapist=therapist, provider=provider, format=SessionFormat.GROUP),
            provider=provider,
        )
        for i in range(n)
    ]
    return group, participants


def pre_dose_vitals(participant, provider, **overrides):
    return services.vital_reading_record(
        participant=participant, by=provider, phase=VitalPhase.PRE_DOSE, **normal_vitals(**overrides)
    )
