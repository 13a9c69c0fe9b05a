"""Caseload scoping: who sees which course, patient and record; 404 outside it."""

import pytest
from django.http import Http404

from courses import selectors, services
from courses.choices import Indication
from courses.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_a_therapist_sees_their_caseload(course, therapist):
    assert list(selectors.courses_for(therapist)) == [course]
    assert selectors.course_get(user=therapist, course_id=course.pk) == course


def test_another_therapist_gets_404(course, other_therapist):
    assert not selectors.courses_for(other_therapist).exists()
    with pytest.raises(Http404):
        selectors.course_get(user=other_therapist, course_id=course.pk)
    with pytest.raises(Http404):
        selectors.patient_get(user=other_therapist, patient_id=course.patient.pk)
    assert not AuditEvent.objects.filter(action="view").exists()


def test_a_provider_sees_assigned_courses_only(course, provider, other_provider):
    assert selectors.course_get(user=provider, course_id=course.pk) == course
    with pytest.raises(Http404):
        selectors.course_get(user=other_provider, course_id=course.pk)


def test_a_lead_sees_everything_and_an_outsider_nothing(course, lead, outsider):
    assert selectors.course_get(user=lead, course_id=course.pk) == course
    assert not selectors.courses_for(outsider).exists()
    assert not selectors.patients_for(outsider).exists()
    with pytest.raises(Http404):
        selectors.course_get(user=outsider, course_id=course.pk)


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", None])
def test_a_malformed_or_unknown_id_is_404(course, lead, bad_id):
    with pytest.raises(Http404):
        selectors.course_get(user=lead, course_id=bad_id)


def test_records_are_scoped_by_their_course(dose, therapist, other_therapist, provider):
    assert selectors.record_get(user=therapist, record_type="dose", record_id=dose.pk)
    evaluation = dose.course.medical_evaluations.get()
    assert selectors.record_get(user=provider, record_type="medical-evaluation", record_id=evaluation.pk)
    for record_type, pk in [("dose", dose.pk), ("medical-evaluation", evaluation.pk)]:
        with pytest.raises(Http404):
            selectors.record_get(user=other_therapist, record_type=record_type, record_id=pk)
    with pytest.raises(Http404):
        selectors.record_get(user=therapist, record_type="no-such-type", record_id=dose.pk)


def test_a_group_session_read_audits_every_patient(therapist, provider, lead):
    from devtools import builders

    group, doses = builders.group_session_with(4, therapist=therapist, provider=provider)
    selectors.dosing_session_get(user=lead, session_id=group.pk)
    patients = set(AuditEvent.objects.filter(action="view").values_list("patient", flat=True))
    assert patients == {p.course.patient.pk for p in doses}


def test_the_registering_therapist_loses_a_patient_assigned_to_another_caseload(
    patient, therapist, other_therapist, provider
):
    # Visible while the patient has no course yet, so the registration can be finished.
    assert selectors.patient_get(user=therapist, patient_id=patient.pk) == patient
    services.course_open(
        patient=patient,
        by=therapist,
        indication=Indication.PTSD,
        therapists=[other_therapist],
        medical_provider=provider,
    )
    with pytest.raises(Http404):
        selectors.patient_get(user=therapist, patient_id=patient.pk)
    assert selectors.patient_get(user=other_therapist, patient_id=patient.pk) == patient
