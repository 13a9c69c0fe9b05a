"""Patients, weights and dose corrections through the API."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from courses.models import AuditAction, AuditEvent
from devtools.builders import normal_vitals

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_patient_is_updated_and_the_change_audited(patient, therapist):
    response = api(therapist).patch(
        f"/api/patients/{patient.pk}/", {"phone": "555-0100", "preferred_channel": "sms", "version": patient.version}
    )
    assert response.status_code == 200, response.json()
    assert response.json()["preferred_channel"] == "sms"
    row = AuditEvent.objects.filter(action=AuditAction.UPDATE, patient=patient).get()
    assert row.detail == "fields: phone, preferred_channel"
    no_phone = api(therapist).patch(f"/api/patients/{patient.pk}/", {"phone": "", "version": patient.version + 1})
    assert no_phone.status_code == 400 and "phone" in no_phone.json()["errors"]


def test_weights_are_listed_and_recorded(patient, therapist, clock):
    client = api(therapist)
    url = f"/api/patients/{patient.pk}/weights/"
    assert [w["weight_kg"] for w in client.get(url).json()] == ["70.0"]
    clock.shift(dt.timedelta(days=1))
    created = client.post(url, {"measured_on": "2026-03-11", "weight_kg": "71.2"})
    assert created.status_code == 201
    for body, field in (
        ({"measured_on": "2026-03-09", "weight_kg": "500"}, "weight_kg"),
        ({"measured_on": "2026-04-01", "weight_kg": "70"}, "measured_on"),
        ({"measured_on": "soon", "weight_kg": "70"}, "measured_on"),
        ({"measured_on": "2026-03-09"}, "weight_kg"),
    ):
        response = client.post(url, body)
        assert response.status_code == 400 and field in response.json()["errors"], body
    assert client.get(f"/api/patients/{patient.pk}/").json()["latest_weight"]["weight_kg"] == "71.2"


def test_the_patient_lists_only_courses_the_reader_may_open(course, therapist, other_therapist, provider, lead):
    from courses import services

    services.course_open(
        patient=course.patient, by=lead, indication="ptsd", therapists=[other_therapist], medical_provider=provider
    )
    mine = api(therapist).get(f"/api/patients/{course.patient_id}/").json()["courses"]
    assert [c["id"] for c in mine] == [str(course.pk)]
    assert len(api(lead).get(f"/api/patients/{course.patient_id}/").json()["courses"]) == 2


def test_a_dose_is_corrected_before_it_is_given_and_not_after(dose, provider, therapist):
    client = api(provider)
    url = f"/api/doses/{dose.pk}/"
    v = dose.version
    over = client.patch(url, {"dose_mg": "84", "version": v})
    assert over.status_code == 400 and "over_maximum_reason" in over.json()["errors"]
    fixed = client.patch(url, {"dose_mg": "42", "lot_number": "LOT-9", "version": v})
    assert fixed.status_code == 200 and fixed.json()["dose_mg_per_kg"] == "0.600"
    assert api(therapist).patch(url, {"lot_number": "X", "version": fixed.json()["version"]}).status_code == 403

    partial = client.post(
        f"/api/doses/{dose.pk}/vitals/", {"phase": "pre_dose", "systolic_bp": 120, "diastolic_bp": 80}
    )
    assert partial.status_code == 400 and set(partial.json()["errors"]) == {"heart_rate", "spo2"}
    client.post(f"/api/doses/{dose.pk}/vitals/", {"phase": "pre_dose", **normal_vitals()})
    assert client.post(f"/api/doses/{dose.pk}/administer/", {}).status_code == 200
    late = client.patch(url, {"dose_mg": "40", "version": client.get(url).json()["version"]})
    assert late.status_code == 400
    assert "amend the dose record" in late.json()["errors"]["dose_mg"][0]
    again = client.post(f"/api/doses/{dose.pk}/administer/", {})
    assert again.status_code == 400 and "already been recorded as given" in str(again.json()["errors"])


def test_a_therapist_reads_but_cannot_record_vitals(dose, therapist):
    client = api(therapist)
    assert client.get(f"/api/doses/{dose.pk}/").status_code == 200
    response = client.post(f"/api/doses/{dose.pk}/vitals/", {"phase": "pre_dose", "heart_rate": 70})
    assert response.status_code == 403
    assert response.json()["detail"] == "Only a medical provider can record vital signs."


def test_only_a_facilitator_writes_and_signs_the_session_note(dosing_session, other_therapist, therapist, lead):
    url = f"/api/dosing-sessions/{dosing_session.pk}/note/"
    # The second therapist does not even see the session.
    v = dosing_session.version
    assert api(other_therapist).post(url, {"facilitation_note": "x", "version": v}).status_code == 404
    assert api(lead).post(url, {"facilitation_note": "x", "version": v}).status_code == 403
    unsigned = api(therapist).post(f"/api/records/dosing-session/{dosing_session.pk}/sign/")
    assert unsigned.status_code == 400 and "facilitation_note" in unsigned.json()["errors"]
    assert api(therapist).post(url, {"facilitation_note": "Quiet room.", "version": v}).status_code == 200


def test_sessions_are_listed_by_day(dosing_session, therapist, other_therapist):
    day = dosing_session.starts_at.date().isoformat()
    assert api(therapist).get(f"/api/dosing-sessions/?day={day}").json()["count"] == 1
    assert api(therapist).get("/api/dosing-sessions/?day=2001-01-01").json()["count"] == 0
    assert api(other_therapist).get("/api/dosing-sessions/").json()["count"] == 0
