"""Right of access: a patient's full record as one JSON file, for the practice lead, audited."""

import datetime as dt
import json
import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from courses import services
from courses.choices import Indication, SessionFormat, VitalPhase
from courses.models import AuditAction, AuditEvent, ClinicSettings
from devtools import builders
from devtools.builders import (
    cleared_course_for,
    dose_given,
    dose_planned,
    normal_vitals,
    pre_dose_vitals,
    prepare_course,
    session,
)
from measures import services as measures
from measures.models import Administration, OutboundMessage, SafetyAlert
from reports.record_export import GROUP_NOTE_WITHHELD, patient_record_export
from tests.support import NOW

pytestmark = pytest.mark.django_db

REASON = "Patient request received 2026-03-02"
PHQ9_ITEM9 = {"1": 1, "2": 1, "3": 1, "4": 1, "5": 0, "6": 0, "7": 0, "8": 0, "9": 1}


def _clear(course, therapist, provider, medications=""):
    builders.clear_course(course, provider, therapist, diagnosis="Major depressive disorder", medications=medications)
    return course.medical_evaluations.get()


@pytest.fixture
def full_record(patient, therapist, provider, clock):
    """Alice's group course: a signed and amended screen, a voided preparatory session, a group dose
    with three other patients (vitals, an adverse event, discharge), a group integration session,
    questionnaires answered with a safety alert acknowledged, and the invitations sent to her."""
    course = services.course_open(
        patient=patient,
        by=therapist,
        indication=Indication.MDD_TRD,
        therapists=[therapist],
        medical_provider=provider,
        format=SessionFormat.GROUP,
    )
    evaluation = _clear(course, therapist, provider, medications="Sertraline 50 mg")
    services.record_amend(
        record=evaluation, by=provider, changes={"medications": "Sertraline 100 mg"}, reason="Pharmacy list checked"
    )
    prep = services.preparatory_session_add(
        course=course, by=therapist, held_at=NOW - dt.timedelta(days=3), note="Intentions set.", topics=["intentions"]
    )
    services.record_sign(record=prep, by=therapist)
    services.record_amend(
        record=prep, by=therapist, changes={"held_at": NOW - dt.timedelta(days=4)}, reason="Held a day earlier"
    )
    wrong = services.preparatory_session_add(
        course=course, by=therapist, held_at=NOW - dt.timedelta(days=2), note="Typed into the wrong chart."
    )
    services.record_void(record=wrong, by=therapist, reason="Entered on the wrong patient")

    measures.tick()
    for message in OutboundMessage.objects.filter(administration__course=course):
        measures.message_send(message_id=message.pk)
    baseline = Administration.objects.get(course=course, instrument="phq9", timepoint="baseline")
    response = measures.response_enter(administration=baseline, by=therapist, answers=PHQ9_ITEM9)
    measures.safety_alert_acknowledge(
        alert=SafetyAlert.objects.get(response=response), by=therapist, action_note="Called her; safety plan reviewed."
    )
    for other in Administration.objects.filter(course=course, timepoint="baseline").exclude(instrument="phq9"):
        measures.administration_waive(administration=other, by=therapist, reason="Time ran out at intake.")

    others = [
        cleared_course_for(n=201 + i, therapist=therapist, provider=provider, format=SessionFormat.GROUP)
        for i in range(3)
    ]
    group = session(therapist=therapist, provider=provider, format=SessionFormat.GROUP)
    mine = dose_planned(session=group, course=course, provider=provider)
    theirs = [dose_planned(session=group, course=c, provider=provider) for c in others]
    pre_dose_vitals(mine, provider)
    pre_dose_vitals(theirs[0], provider)
    services.dose_administer(dose=mine, by=provider)
    services.vital_reading_add(
        dose=mine,
        by=provider,
        phase=VitalPhase.DURING,
        taken_at=NOW + dt.timedelta(minutes=10),
        now=NOW + dt.timedelta(minutes=10),
        **normal_vitals(heart_rate=92),
    )
    services.adverse_event_add(
        dose=mine, by=provider, term="nausea", grade=1, relatedness="probable", expectedness="expected"
    )
    services.adverse_event_add(
        dose=theirs[0],
        by=provider,
        term="headache",
        grade=1,
        relatedness="possible",
        expectedness="expected",
        description="NOT-ALICE",
    )
    later = NOW + dt.timedelta(minutes=75)
    peak = NOW + dt.timedelta(minutes=40)
    services.vital_reading_add(
        dose=mine, by=provider, phase=VitalPhase.DURING, taken_at=peak, now=peak, **normal_vitals()
    )
    services.vital_reading_add(
        dose=mine, by=provider, phase=VitalPhase.PRE_DISCHARGE, taken_at=later, now=later, **normal_vitals()
    )
    services.dose_discharge(
        dose=mine,
        by=provider,
        alert_oriented=True,
        escort_present=True,
        no_driving_advised=True,
        discharged_at=later,
        now=later,
    )
    services.dosing_session_note(
        session=group,
        by=therapist,
        facilitation_note="Synthetic201 spoke first; everyone settled.",
        others_present="Synthetic202's sister in the waiting room",
        now=later,
    )
    services.record_sign(record=group, by=therapist, now=later)
    services.record_amend(
        record=group,
        by=therapist,
        changes={"facilitation_note": "Synthetic202 arrived late; everyone settled."},
        reason="Named the wrong participant",
        now=later,
    )
    services.integration_session_add(
        courses=[course, others[0]],
        by=therapist,
        held_at=later,
        note="Synthetic201 and Alice shared drawings.",
        format=SessionFormat.GROUP,
        now=later,
    )
    return course, others, theirs


def _export(patient, lead, reason=REASON):
    filename, content = patient_record_export(patient=patient, by=lead, reason=reason)
    return filename, content, json.loads(content)


def test_the_file_holds_every_section_of_the_record(full_record, patient, lead):
    course, _, _ = full_record
    filename, content, data = _export(patient, lead)

    assert list(data) == ["about", "patient", "weights", "courses", "messages", "access_log"]
    about = data["about"]
    assert about["clinic"] == ClinicSettings.load().clinic_name
    assert about["generated_by"] == {"name": "Lee Lead-Demo, MD", "role": "Practice lead"}
    assert about["reason"] == REASON
    assert about["format_version"] == "1" and about["scoring_version"] == "1.0"
    assert set(about["sections"]) >= {"patient", "weights", "courses", "messages", "access_log"}
    assert data["patient"]["mrn"] == "TEST-0001" and data["patient"]["date_of_birth"] == "1980-05-17"
    assert data["patient"]["sex"] == {"code": "female", "label": "Female"}
    assert len(data["weights"]) == 1 and data["weights"][0]["weight_kg"] == "70.0"

    [exported] = data["courses"]
    assert exported["id"] == str(course.pk)
    assert [c["to"]["code"] for c in exported["status_history"]] == ["preparation", "dosing"]
    assert len(exported["medical_evaluations"]) == 1 and len(exported["psychiatric_evaluations"]) == 1
    screen = exported["medical_evaluations"][0]["contraindication_screen"]
    assert len(screen) == 12 and {item["answer"] for item in screen} == {"no"}
    assert len(exported["preparatory_sessions"]) == 2
    assert len(exported["integration_sessions"]) == 1
    [dose] = exported["dosing"]
    assert dose["route"]["code"] == "iv" and dose["dose_mg"] == "35.0"
    assert [v["phase"]["code"] for v in dose["vital_signs"]] == ["pre_dose", "during", "during", "pre_discharge"]
    assert [e["term"]["code"] for e in dose["adverse_events"]] == ["nausea"]
    assert dose["discharged_at"] == "2026-03-10T12:15:00-04:00"
    assert dose["session"]["format"]["code"] == "group" and dose["session"]["starts_at"].endswith("-04:00")
    assert dose["session"]["facilitators"] == [{"name": "Tess Therapist-Demo, LCSW", "role": "Therapist"}]

    questionnaires = exported["questionnaires"]
    assert len(questionnaires) == Administration.objects.filter(course=course).count() > 0
    answered = [q for q in questionnaires if q["response"]]
    assert len(answered) == 1
    response = answered[0]["response"]
    assert response["total"] == 5 and response["band"] and response["scoring_version"] == "1.0"
    assert response["answers"][8] == {
        "item": 9,
        "question": response["answers"][8]["question"],
        "answer": 1,
        "answer_label": "Several days",
    }
    assert "better off dead" in response["answers"][8]["question"]
    alert = response["safety_alert"]
    assert alert["item_value"] == 1 and alert["action_note"] == "Called her; safety plan reviewed."
    assert alert["acknowledged_by"]["role"] == "Therapist" and alert["acknowledged_at"]

    to_alice = OutboundMessage.objects.filter(administration__course=course)
    assert len(data["messages"]) == to_alice.count() > 0
    assert {m["kind"]["code"] for m in data["messages"]} == {"invitation"}
    assert data["messages"][0]["to"] == "alice.testpatient@example.invalid"
    assert {m["status"]["code"] for m in data["messages"]} == {"sent"} and data["messages"][0]["sent_at"]

    assert len(data["access_log"]) == AuditEvent.objects.filter(patient=patient).count()
    [export] = [e for e in data["access_log"] if e["action"]["code"] == "export"]
    assert export["by"] == {"name": "Lee Lead-Demo, MD", "role": "Practice lead"}
    assert export["record_type"] == "patient" and export["at"] == "2026-03-10T11:00:00-04:00"
    assert content.decode("utf-8").startswith('{\n  "about": {')


def test_signed_records_show_who_signed_and_every_time_has_an_offset(full_record, patient, lead):
    _, content, data = _export(patient, lead)
    evaluation = data["courses"][0]["medical_evaluations"][0]
    assert evaluation["signed"] == {
        "at": "2026-03-10T11:00:00-04:00",
        "by": {"name": "Mona Medic-Demo, MD", "role": "Medical provider"},
    }
    assert evaluation["recorded"]["by"]["name"] == "Mona Medic-Demo, MD"
    assert evaluation["voided"] is None
    text = content.decode()
    times = re.findall(r'"(\d{4}-\d\d-\d\dT[^"]*)"', text)
    assert times and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d", t) for t in times)


def test_an_amendment_sits_beside_the_record_it_corrects(full_record, patient, lead):
    _, _, data = _export(patient, lead)
    evaluation = data["courses"][0]["medical_evaluations"][0]
    assert evaluation["medications"] == "Sertraline 100 mg"
    [amendment] = evaluation["amendments"]
    assert amendment["reason"] == "Pharmacy list checked"
    assert amendment["changes"] == {"medications": {"from": "Sertraline 50 mg", "to": "Sertraline 100 mg"}}
    assert amendment["by"] == {"name": "Mona Medic-Demo, MD", "role": "Medical provider"}


def test_an_amended_time_is_given_with_its_offset_like_every_other_time(full_record, patient, lead):
    _, _, data = _export(patient, lead)
    [prep] = [s for s in data["courses"][0]["preparatory_sessions"] if s["amendments"]]
    assert prep["held_at"] == "2026-03-06T10:00:00-05:00"
    assert prep["amendments"][0]["changes"] == {
        "held_at": {"from": "2026-03-07T10:00:00-05:00", "to": "2026-03-06T10:00:00-05:00"}
    }


def test_a_voided_record_is_in_the_file_marked_with_its_reason(full_record, patient, lead, therapist):
    _, _, data = _export(patient, lead)
    sessions = data["courses"][0]["preparatory_sessions"]
    voided = [s for s in sessions if s["voided"]]
    assert len(voided) == 1
    assert voided[0]["note"] == "Typed into the wrong chart."
    assert voided[0]["voided"]["reason"] == "Entered on the wrong patient"
    assert voided[0]["voided"]["by"]["name"] == str(therapist)
    assert [s["voided"] for s in sessions if s is not voided[0]] == [None]


def test_other_participants_appear_only_as_a_count(full_record, patient, lead):
    _, others, theirs = full_record
    _, content, data = _export(patient, lead)
    text = content.decode()
    for course in others:
        other = course.patient
        for secret in (other.given_name, other.family_name, other.mrn, other.email, str(other.pk), str(course.pk)):
            assert secret not in text, secret
    for dose in theirs:
        assert str(dose.pk) not in text
    assert "NOT-ALICE" not in text and "headache" not in text
    shown = data["courses"][0]["dosing"][0]
    assert shown["session"]["other_participants"] == 3
    assert shown["session"]["facilitation_note"] == shown["session"]["others_present"] == GROUP_NOTE_WITHHELD
    assert "Synthetic202's sister" not in text
    [amendment] = shown["session"]["amendments"]
    assert amendment["reason"] == "Named the wrong participant"
    assert amendment["changes"] == {"facilitation_note": {"from": GROUP_NOTE_WITHHELD, "to": GROUP_NOTE_WITHHELD}}
    assert shown["session"]["signed"]["by"]["name"] == "Tess Therapist-Demo, LCSW"
    integration = data["courses"][0]["integration_sessions"][0]
    assert integration["other_participants"] == 1 and integration["note"] == GROUP_NOTE_WITHHELD


def test_no_self_report_link_or_its_nonce_is_in_the_file(full_record, patient, lead):
    course, _, _ = full_record
    _, content, _ = _export(patient, lead)
    text = content.decode()
    nonces = [n for n in Administration.objects.filter(course=course).values_list("link_nonce", flat=True) if n]
    assert nonces
    for nonce in nonces:
        assert nonce not in text
    links = [m for message in mail.outbox for m in re.findall(r"/r/([^/\s]+)/", message.body)]
    assert links
    for token in links:
        assert token not in text
    assert "/r/" not in text


def test_the_export_is_audited_with_its_reason(patient, lead, clock):
    _export(patient, lead)
    event = AuditEvent.objects.get(action=AuditAction.EXPORT, patient=patient)
    assert event.actor == lead and event.record_id == str(patient.pk)
    assert event.detail == f"right of access: {REASON}"


def test_a_long_reason_is_kept_whole_in_the_file_and_shortened_in_the_audit_trail(patient, lead, clock):
    reason = "Request by letter. " * 26
    _, _, data = _export(patient, lead, reason=reason.strip())
    assert data["about"]["reason"] == reason.strip()
    event = AuditEvent.objects.get(action=AuditAction.EXPORT, patient=patient)
    assert len(event.detail) == 300 and event.detail.endswith("…")


def test_the_filename_carries_no_name_or_mrn(patient, lead, clock):
    filename, _, _ = _export(patient, lead)
    assert filename == f"kapclinic-record-{str(patient.pk)[:8]}-20260310.json"
    for secret in ("Alice", "Testpatient", "TEST-0001"):
        assert secret.lower() not in filename.lower()


def test_only_the_practice_lead_exports(patient, therapist, provider, outsider, clock):
    for user in (therapist, provider, outsider):
        with pytest.raises(PermissionDenied, match="Ask the practice lead"):
            patient_record_export(patient=patient, by=user, reason=REASON)
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_a_superuser_counts_as_the_lead_and_is_named_as_an_administrator(patient, django_user_model, clock):
    admin = django_user_model.objects.create_superuser("root", "root@kapclinic.invalid", "x", first_name="Ada")
    _, _, data = _export(patient, admin)
    assert data["about"]["generated_by"] == {"name": "Ada", "role": "Administrator"}


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_a_reason_is_required_and_bounded(patient, lead, clock, reason):
    with pytest.raises(ValidationError) as refused:
        patient_record_export(patient=patient, by=lead, reason=reason)
    assert "reason" in refused.value.message_dict
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def _course_with_doses(patient, therapist, provider, *, days_ago: int, doses: int):
    course = services.course_open(
        patient=patient,
        by=therapist,
        indication=Indication.PTSD,
        therapists=[therapist],
        medical_provider=provider,
        now=NOW - dt.timedelta(days=days_ago + 5),
    )
    _clear(course, therapist, provider)
    prepare_course(course, therapist, now=NOW - dt.timedelta(days=days_ago + 1))
    for k in range(doses):
        start = NOW - dt.timedelta(days=days_ago - 2 * k, hours=2)
        now = start - dt.timedelta(days=1)
        booked = services.dosing_session_schedule(
            by=provider,
            now=now,
            starts_at=start,
            ends_at=start + dt.timedelta(hours=3),
            medical_provider=provider,
            facilitators=[therapist],
        )
        dose = services.dose_add(
            session=booked,
            course=course,
            by=provider,
            now=now,
            route="iv",
            dose_mg=35,
            weight_kg=70,
            fasting_confirmed=True,
        )
        dose_given(dose, provider)
        services.adverse_event_add(
            dose=dose,
            by=provider,
            term="dizziness",
            grade=1,
            relatedness="probable",
            expectedness="expected",
            onset_at=start + dt.timedelta(minutes=20),
            now=start + dt.timedelta(minutes=30),
        )
    services.integration_session_add(
        courses=[course], by=therapist, held_at=NOW - dt.timedelta(days=days_ago - 5), note="Integration."
    )
    return course


def test_the_export_runs_the_same_number_of_queries_whatever_the_size_of_the_record(
    patient, therapist, provider, lead, django_assert_max_num_queries
):
    small = patient
    _course_with_doses(small, therapist, provider, days_ago=40, doses=1)
    large = services.patient_register(
        by=therapist,
        mrn="TEST-0002",
        given_name="Bea",
        family_name="Largerecord-Demo",
        date_of_birth=dt.date(1975, 2, 3),
        sex="female",
        email="bea@example.invalid",
        weight_kg=70,
    )
    for days_ago in (40, 25, 12):
        _course_with_doses(large, therapist, provider, days_ago=days_ago, doses=3)
    measures.tick()
    counts = {}
    for name, who in (("small", small), ("large", large)):
        with CaptureQueriesContext(connection) as queries:
            _, _, data = _export(who, lead)
        counts[name] = len(queries)
        assert sum(len(c["dosing"]) for c in data["courses"]) == (1 if name == "small" else 9)
        assert sum(len(c["integration_sessions"]) for c in data["courses"]) == len(data["courses"])
    assert counts["small"] == counts["large"], counts
    with django_assert_max_num_queries(counts["large"]):
        _export(large, lead)
    print(f"record export queries: {counts}")


# --- web ----------------------------------------------------------------------------------------


def test_the_patient_page_offers_the_export_to_the_lead_and_tells_clinicians_whom_to_ask(
    client, patient, therapist, lead
):
    url = reverse("patient-record-export", args=[patient.pk])
    client.force_login(lead)
    page = client.get(reverse("patient-detail", args=[patient.pk])).content.decode()
    assert url in page and "Export full record (right of access)" in page
    client.force_login(therapist)
    page = client.get(reverse("patient-detail", args=[patient.pk])).content.decode()
    assert url not in page and "ask the practice lead" in page


def test_the_lead_downloads_the_file_from_the_form(client, full_record, patient, lead):
    url = reverse("patient-record-export", args=[patient.pk])
    client.force_login(lead)
    form = client.get(url)
    assert form.status_code == 200
    page = form.content.decode()
    assert 'name="reason"' in page and "audit trail" in page and "Access log" in page

    for body in ({}, {"reason": "  "}, {"reason": "x" * 501}):
        refused = client.post(url, body)
        assert refused.status_code == 400 and 'id="id_reason_error"' in refused.content.decode(), body
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()

    response = client.post(url, {"reason": REASON})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"] == (
        f"attachment; filename*=UTF-8''kapclinic-record-{str(patient.pk)[:8]}-20260310.json"
    )
    data = json.loads(response.content)
    assert data["about"]["reason"] == REASON and len(data["courses"]) == 1
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, patient=patient, actor=lead).count() == 1


def test_clinicians_and_staff_without_a_role_get_403_from_the_form(client, patient, therapist, provider, outsider):
    url = reverse("patient-record-export", args=[patient.pk])
    for user in (therapist, provider, outsider):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"reason": REASON}).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


# --- API ----------------------------------------------------------------------------------------


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_answers_the_same_file_to_the_lead(full_record, patient, lead):
    url = f"/api/patients/{patient.pk}/record-export/"
    response = api(lead).post(url, {"reason": REASON}, format="json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="kapclinic-record-{str(patient.pk)[:8]}-20260310.json"'
    )
    assert response["Cache-Control"] == "no-store"
    data = json.loads(response.content)
    assert list(data) == ["about", "patient", "weights", "courses", "messages", "access_log"]
    exports = [e["detail"] for e in data["access_log"] if e["action"]["code"] == "export"]
    assert exports == [f"right of access: {REASON}"]


def test_the_api_refuses_other_roles_with_403_and_strangers_with_401(patient, therapist, provider, outsider, clock):
    url = f"/api/patients/{patient.pk}/record-export/"
    for user in (therapist, provider, outsider):
        response = api(user).post(url, {"reason": REASON}, format="json")
        assert response.status_code == 403, user
        assert "Ask the practice lead" in response.json()["detail"]
    assert APIClient().post(url, {"reason": REASON}, format="json").status_code == 401
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}, {"reason": ["a"]}])
def test_the_api_names_reason_when_it_is_missing_blank_or_too_long(patient, lead, clock, body):
    response = api(lead).post(f"/api/patients/{patient.pk}/record-export/", body, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["errors"]


def test_the_api_answers_404_for_no_such_patient(lead, clock):
    response = api(lead).post(
        "/api/patients/00000000-0000-4000-8000-000000000000/record-export/", {"reason": REASON}, format="json"
    )
    assert response.status_code == 404 and response.json()["errors"] == {}


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_file_is_read_from_one_snapshot_on_postgresql(patient, lead):
    with CaptureQueriesContext(connection) as queries:
        _, _, data = _export(patient, lead)
    # PostgreSQL refuses to change the isolation level after a transaction's first query: that it ran
    # at all, first after BEGIN, is the proof.
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] != "BEGIN"]
    if connection.vendor == "postgresql":
        assert statements[0] == "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"
    else:
        assert not any("ISOLATION" in s for s in statements)
    assert data["patient"]["id"] == str(patient.pk)
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, patient=patient).count() == 1
