"""Signed records are locked, corrections are amendments, and clinical rows are voided, never deleted."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import ProtectedError

from courses import bedside, rules, services
from courses.models import AdverseEvent, Amendment, AuditEvent, Course, Dose, MedicalEvaluation, Patient
from devtools.builders import DISCHARGE_CHECKLIST, monitor

pytestmark = pytest.mark.django_db

CHECKLIST = DISCHARGE_CHECKLIST


@pytest.fixture
def signed_dose(given_dose, provider, clock):
    clock.shift(dt.timedelta(minutes=60))
    monitor(given_dose, provider)
    services.dose_discharge(dose=given_dose, by=provider, **CHECKLIST)
    return services.record_sign(record=given_dose, by=provider)


@pytest.fixture
def signed_evaluation(cleared_course):
    return cleared_course.medical_evaluations.get()


def test_a_signed_record_cannot_be_updated(signed_evaluation, provider):
    with pytest.raises(ValidationError) as exc:
        services.record_update(record=signed_evaluation, by=provider, changes={"history": "Asthma"})
    assert "locked" in exc.value.messages[0] and "amendment" in exc.value.messages[0]


def test_an_unsigned_record_is_updated_under_its_rules(course, provider):
    evaluation = services.medical_evaluation_add(course=course, by=provider, evaluated_on=dt.date(2026, 3, 1))
    services.record_update(record=evaluation, by=provider, changes={"history": "Asthma"})
    with pytest.raises(ValidationError) as exc:
        services.record_update(
            record=evaluation,
            by=provider,
            changes={
                "decision": "cleared",
                **{**rules.SCREEN_NOTHING_FOUND, "ci_pregnancy": "yes", "childbearing_potential": "yes"},
            },
        )
    assert "decision" in exc.value.message_dict
    evaluation.refresh_from_db()
    assert (evaluation.history, evaluation.decision, evaluation.ci_pregnancy) == ("Asthma", "pending", "")


def test_an_amendment_stores_who_when_why_and_from_to(signed_evaluation, provider):
    amendment = services.record_amend(
        record=signed_evaluation, by=provider, changes={"heart_rate": 74}, reason="Transcription error from monitor."
    )
    assert amendment.changes == {"heart_rate": {"from": 72, "to": 74}}
    assert (amendment.amended_by, amendment.reason) == (provider, "Transcription error from monitor.")
    assert amendment.patient == signed_evaluation.course.patient
    signed_evaluation.refresh_from_db()
    assert signed_evaluation.heart_rate == 74 and signed_evaluation.is_signed


def test_an_amendment_needs_a_reason(signed_evaluation, provider):
    with pytest.raises(ValidationError) as exc:
        services.record_amend(record=signed_evaluation, by=provider, changes={"heart_rate": 74}, reason=" ")
    assert "reason" in exc.value.message_dict
    assert not Amendment.objects.exists()


def test_a_derived_or_signature_field_cannot_be_amended(signed_evaluation, signed_dose, provider):
    with pytest.raises(ValidationError) as exc:
        services.record_amend(record=signed_evaluation, by=provider, changes={"signed_by": None}, reason="x")
    assert "cannot be amended: signed_by" in exc.value.message_dict["changes"][0]
    with pytest.raises(ValidationError):
        services.record_amend(record=signed_dose, by=provider, changes={"dose_mg_per_kg": Decimal("0.1")}, reason="x")


def test_an_unsigned_record_is_not_amended(course, provider):
    evaluation = services.medical_evaluation_add(course=course, by=provider, evaluated_on=dt.date(2026, 3, 1))
    with pytest.raises(ValidationError) as exc:
        services.record_amend(record=evaluation, by=provider, changes={"history": "x"}, reason="x")
    assert "not signed yet" in exc.value.messages[0]


def test_an_amendment_reapplies_the_screen_rules(signed_evaluation, provider):
    with pytest.raises(ValidationError) as exc:
        services.record_amend(
            record=signed_evaluation,
            by=provider,
            changes={"ci_pregnancy": "yes", "childbearing_potential": "yes"},
            reason="Test positive",
        )
    assert "absolute contraindication" in exc.value.message_dict["decision"][0]
    services.record_amend(
        record=signed_evaluation,
        by=provider,
        changes={"ci_pregnancy": "yes", "childbearing_potential": "yes", "decision": "not_cleared"},
        reason="Positive pregnancy test on the day.",
    )
    assert not bedside.course_state(signed_evaluation.course).cleared


def test_amending_a_dose_above_the_maximum_needs_a_reason(signed_dose, provider):
    with pytest.raises(ValidationError) as exc:
        services.record_amend(record=signed_dose, by=provider, changes={"dose_mg": Decimal("80")}, reason="Pump log")
    assert "over_maximum_reason" in exc.value.message_dict
    services.record_amend(
        record=signed_dose,
        by=provider,
        changes={"dose_mg": Decimal("80"), "over_maximum_reason": "Ordered 80 mg after a partial response."},
        reason="Pump log shows 80 mg given.",
    )
    signed_dose.refresh_from_db()
    assert signed_dose.dose_mg_per_kg == Decimal("1.143")


def test_amending_a_reading_recomputes_its_alerts(signed_dose, provider):
    reading = signed_dose.vitals.get(phase="pre_discharge")
    with pytest.raises(ValidationError) as exc:
        services.record_amend(record=reading, by=provider, changes={"spo2": 101}, reason="typo")
    assert "50–100 %" in exc.value.message_dict["spo2"][0]
    services.record_amend(record=reading, by=provider, changes={"spo2": 90}, reason="Misread the monitor.")
    reading.refresh_from_db()
    assert reading.alerts == ["low_spo2"]


def test_readings_under_a_signed_dose_are_locked(signed_dose, provider):
    reading = signed_dose.vitals.first()
    with pytest.raises(ValidationError):
        services.record_update(record=reading, by=provider, changes={"heart_rate": 80})


def test_adverse_events_under_a_signed_dose_are_locked_too(signed_dose, provider):
    # Recording a new event after signing is allowed (safety first); changing one takes an amendment.
    event = services.adverse_event_add(
        dose=signed_dose, by=provider, term="nausea", grade=1, relatedness="probable", expectedness="expected"
    )
    with pytest.raises(ValidationError) as exc:
        services.record_update(record=event, by=provider, changes={"grade": 2})
    assert "locked" in exc.value.messages[0]
    services.record_amend(record=event, by=provider, changes={"grade": 2}, reason="Needed ondansetron.")
    assert AdverseEvent.objects.get(pk=event.pk).grade == 2


def test_voiding_keeps_the_row_with_who_and_why(dose, provider):
    with pytest.raises(ValidationError) as exc:
        services.record_void(record=dose, by=provider, reason="")
    assert "reason" in exc.value.message_dict
    services.record_void(record=dose, by=provider, reason="Added to the wrong session.")
    row = Dose.objects.get(pk=dose.pk)
    assert (row.is_voided, row.voided_by, row.void_reason) == (True, provider, "Added to the wrong session.")
    assert not Dose.objects.active().exists()
    with pytest.raises(ValidationError):
        services.record_void(record=dose, by=provider, reason="again")


def test_a_voided_record_cannot_be_edited_or_amended(dose, provider):
    services.record_void(record=dose, by=provider, reason="Entered in error.")
    with pytest.raises(ValidationError):
        services.record_update(record=dose, by=provider, changes={"lot_number": "X"})
    with pytest.raises(ValidationError):
        services.record_amend(record=dose, by=provider, changes={"lot_number": "X"}, reason="x")


def test_a_therapist_cannot_void_a_medical_record(signed_evaluation, therapist, provider):
    with pytest.raises(PermissionDenied):
        services.record_void(record=signed_evaluation, by=therapist, reason="Looks wrong to me.")
    assert not MedicalEvaluation.objects.get(pk=signed_evaluation.pk).is_voided


def test_a_patient_with_an_active_course_cannot_be_voided(course, therapist):
    with pytest.raises(ValidationError):
        services.record_void(record=course.patient, by=therapist, reason="Duplicate registration.")
    services.record_void(record=course, by=therapist, reason="Duplicate registration.")
    services.record_void(record=course.patient, by=therapist, reason="Duplicate registration.")
    assert Patient.objects.get(pk=course.patient.pk).is_voided


@pytest.mark.parametrize("model", [Patient, Course, MedicalEvaluation, Dose])
def test_clinical_rows_cannot_be_deleted(dose, model):
    row = model.objects.first()
    with pytest.raises(ProtectedError):
        row.delete()
    with pytest.raises(ProtectedError):
        model.objects.all().delete()
    assert model.objects.filter(pk=row.pk).exists()


def test_amendments_cannot_be_deleted(signed_evaluation, provider):
    amendment = services.record_amend(record=signed_evaluation, by=provider, changes={"spo2": 97}, reason="Re-read.")
    with pytest.raises(ProtectedError):
        amendment.delete()


@pytest.mark.parametrize(
    "service, kwargs, field",
    [
        ("course_open", {"indication": "other"}, "indication_detail"),
        ("course_open", {"indication": "ptsd", "planned_dosing_sessions": 30}, "planned_dosing_sessions"),
    ],
)
def test_row_constraints_answer_with_a_field_message(patient, therapist, provider, service, kwargs, field):
    with pytest.raises(ValidationError) as exc:
        getattr(services, service)(
            patient=patient, by=therapist, therapists=[therapist], medical_provider=provider, **kwargs
        )
    assert field in exc.value.message_dict
    assert "Constraint" not in exc.value.message_dict[field][0]


def test_other_adverse_event_term_needs_a_description(given_dose, provider):
    with pytest.raises(ValidationError) as exc:
        services.adverse_event_add(
            dose=given_dose,
            by=provider,
            term="other",
            grade=1,
            relatedness="possible",
            expectedness="expected",
        )
    assert exc.value.message_dict == {"term_other": ["Describe the event when the term is 'Other'."]}


def test_email_channel_needs_an_email(therapist, clock):
    with pytest.raises(ValidationError) as exc:
        services.patient_register(
            by=therapist,
            mrn="T-9",
            given_name="A",
            family_name="B",
            date_of_birth=dt.date(1990, 1, 1),
            sex="female",
            preferred_channel="email",
        )
    assert "email" in exc.value.message_dict


def test_every_service_write_is_audited_with_actor_and_patient(signed_dose, provider):
    patient = signed_dose.course.patient
    events = AuditEvent.objects.filter(patient=patient)
    assert events.exists()
    assert not events.filter(actor__isnull=True).exists()
    kinds = set(events.values_list("action", "record_type"))
    for expected in [
        ("create", "patient"),
        ("create", "course"),
        ("create", "medical evaluation"),
        ("sign", "medical evaluation"),
        ("create", "dose"),
        ("create", "vital reading"),
        ("update", "dose"),
        ("sign", "dose"),
        ("update", "course"),
    ]:
        assert expected in kinds, expected


def test_editing_a_dose_field_without_its_own_step_is_a_message_not_a_crash(dose, provider):
    with pytest.raises(ValidationError) as exc:
        services.record_update(record=dose, by=provider, changes={"dosed_at": dose.created_at})
    assert "dosed_at" in exc.value.messages[0]
    services.record_update(record=dose, by=provider, changes={"lot_number": "LOT-2"})
    assert Dose.objects.get(pk=dose.pk).lot_number == "LOT-2"
