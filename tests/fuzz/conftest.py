"""One small clinic with a record of every kind, so that every page, and every form on it, renders."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from courses import services
from courses.choices import VitalPhase
from courses.selectors import record_type_name
from devtools.builders import cleared_course_for, dose_planned, normal_vitals, pre_dose_vitals
from devtools.builders import session as dosing_session_at
from measures import services as measure_services
from measures.models import Administration, AdministrationStatus, OutboundMessage, SafetyAlert
from reports import services as report_services
from reports.models import ExportKind
from tests.measures.support import ad_hoc


@pytest.fixture
def world(lead, therapist, other_therapist, provider, patient, cleared_course, dosing_session, dose, clock):
    """The objects behind every URL placeholder, and the records behind the record pages."""
    course = cleared_course
    # A pre-dose hold on the fixture dose, so the override form is on its dose page, and
    # an alerting reading, so the form that closes an in-session alert is there too.
    services.vital_reading_add(dose=dose, by=provider, phase=VitalPhase.PRE_DOSE, **normal_vitals(systolic_bp=182))
    prep = services.preparatory_session_add(
        course=course, by=therapist, held_at=timezone.now() - dt.timedelta(days=2), duration_minutes=50, note="Prep."
    )
    integration = services.integration_session_add(
        courses=[course], by=therapist, format="individual", held_at=timezone.now() - dt.timedelta(days=1), note="Int."
    )

    # A second patient, dosed an hour ago, with a serious adverse event for the lead to acknowledge.
    second = cleared_course_for(n=1, therapist=therapist, provider=provider)
    earlier = dosing_session_at(therapist=therapist, provider=provider, start=timezone.now() - dt.timedelta(hours=2))
    dosed = dose_planned(session=earlier, course=second, provider=provider, lot_number="LOT-FUZZ")
    pre_dose_vitals(dosed, provider, taken_at=timezone.now() - dt.timedelta(minutes=70))
    services.dose_administer(dose=dosed, by=provider, dosed_at=timezone.now() - dt.timedelta(hours=1))
    event = services.adverse_event_add(
        dose=dosed,
        by=provider,
        term="elevated_bp",
        grade=3,
        relatedness="probable",
        expectedness="expected",
        onset_at=timezone.now() - dt.timedelta(minutes=40),
        serious=True,
        serious_criteria=["hospitalisation"],
        description="Raised pressure.",
    )
    reading = dosed.vitals.order_by("taken_at").first()

    # Questionnaires open on both courses (their baselines were waived before the first dose: an
    # additional one each); a PHQ-9 item 9 answer opens a safety alert on the second.
    for on in (course, second):
        ad_hoc(on, therapist)
    open_now = Administration.objects.filter(status=AdministrationStatus.OPEN)
    phq9_second = open_now.get(course=second, instrument="phq9")
    measure_services.response_submit_self_report(
        token=measure_services.self_report_token(phq9_second), answers={**dict.fromkeys(range(1, 9), 1), 9: 2}
    )
    administration = open_now.filter(course=course).order_by("instrument").first()
    alert = SafetyAlert.objects.get()
    message = OutboundMessage.objects.order_by("pk").first()
    export = report_services.export_request(by=lead, kind=ExportKind.PRACTICE_CSV)

    records = [
        course.patient,
        course,
        course.medical_evaluations.get(),
        course.psychiatric_evaluations.get(),
        prep,
        integration,
        dosing_session,
        dose,
        dosed,
        reading,
        event,
    ]
    return {
        "patient_id": [course.patient.pk],
        "course_id": [course.pk],
        "session_id": [dosing_session.pk],
        "dose_id": [dose.pk, dosed.pk],
        "event_id": [event.pk],
        "user_id": [other_therapist.pk],
        "alert_id": [alert.pk],
        "message_id": [message.pk] if message else [],
        "administration_id": [administration.pk],
        "export_id": [export.pk],
        ("record_type", "record_id"): [(record_type_name(r), r.pk) for r in records],
        "_objects": {
            "course": course,
            "second": second,
            "dose": dose,
            "dosed": dosed,
            "event": event,
            "alert": alert,
            "administration": administration,
            "weight": Decimal("70"),
        },
    }
