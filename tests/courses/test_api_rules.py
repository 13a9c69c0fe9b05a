"""Every rule of the course record through the REST API, refused and allowed."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from courses import services
from courses.models import AdverseEvent, Amendment, MedicalEvaluation, VitalReading
from devtools.builders import (
    SERIOUS_EVENT,
    SIGNABLE_EVALUATION,
    cleared_course_for,
    group_session_with,
    normal_vitals,
    session,
)

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _iso(value: dt.datetime) -> str:
    return value.isoformat()


def _dose_body(course, **overrides):
    body = {"course": str(course.pk), "route": "iv", "dose_mg": "35", "weight_kg": "70", "fasting_confirmed": True}
    body.update(overrides)
    return body


def _evaluation_body(**overrides):
    body = {k: str(v) for k, v in SIGNABLE_EVALUATION.items()}
    body.update(overrides)
    return body


# --- screen and clearance ---------------------------------------------------------------------


def test_dosing_is_refused_before_a_cleared_screen(course, dosing_session, provider):
    response = api(provider).post(f"/api/dosing-sessions/{dosing_session.pk}/doses/", _dose_body(course))
    assert response.status_code == 400
    assert "medical evaluation" in response.json()["errors"]["course"][0]


def test_dosing_is_refused_while_the_screen_is_unsigned(course, dosing_session, provider):
    client = api(provider)
    created = client.post(f"/api/courses/{course.pk}/medical-evaluation/", _evaluation_body(decision="cleared"))
    assert created.status_code == 201, created.json()
    response = client.post(f"/api/dosing-sessions/{dosing_session.pk}/doses/", _dose_body(course))
    assert response.status_code == 400
    assert "not signed" in response.json()["errors"]["course"][0]


def test_dosing_is_allowed_after_a_cleared_and_signed_screen(cleared_course, dosing_session, provider):
    response = api(provider).post(f"/api/dosing-sessions/{dosing_session.pk}/doses/", _dose_body(cleared_course))
    assert response.status_code == 201, response.json()
    assert response.json()["dose_mg_per_kg"] == "0.500"


def test_a_screen_with_an_absolute_item_cannot_be_cleared(course, provider):
    client = api(provider)
    response = client.post(
        f"/api/courses/{course.pk}/medical-evaluation/",
        _evaluation_body(ci_pregnancy="yes", childbearing_potential="yes", decision="cleared"),
    )
    assert response.status_code == 400
    assert "absolute contraindication" in response.json()["errors"]["decision"][0]
    allowed = client.post(
        f"/api/courses/{course.pk}/medical-evaluation/",
        _evaluation_body(ci_pregnancy="yes", childbearing_potential="yes", decision="not_cleared"),
    )
    assert allowed.status_code == 201


def test_cautions_need_cleared_with_cautions_and_a_note(course, provider):
    client = api(provider)
    url = f"/api/courses/{course.pk}/medical-evaluation/"
    plain = client.post(url, _evaluation_body(caution_breastfeeding="yes", decision="cleared"))
    assert plain.status_code == 400
    assert "cleared with cautions" in plain.json()["errors"]["decision"][0]
    no_note = client.post(url, _evaluation_body(caution_breastfeeding="yes", decision="cleared_with_cautions"))
    assert no_note.status_code == 400
    assert "caution_note" in no_note.json()["errors"]
    ok = client.post(
        url,
        _evaluation_body(
            caution_breastfeeding="yes", decision="cleared_with_cautions", caution_note="Pump and discard 24 h."
        ),
    )
    assert ok.status_code == 201, ok.json()


def test_only_a_medical_provider_records_the_screen(course, therapist):
    response = api(therapist).post(
        f"/api/courses/{course.pk}/medical-evaluation/", _evaluation_body(decision="cleared")
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "Only a medical provider can record a medical evaluation."
    assert response.json()["errors"] == {}


# --- doses ------------------------------------------------------------------------------------


def test_a_dose_above_the_route_maximum_needs_a_reason(cleared_course, dosing_session, provider):
    client = api(provider)
    url = f"/api/dosing-sessions/{dosing_session.pk}/doses/"
    refused = client.post(url, _dose_body(cleared_course, dose_mg="84"))
    assert refused.status_code == 400
    message = refused.json()["errors"]["over_maximum_reason"][0]
    assert "1.200 mg/kg" in message and "1.00 mg/kg" in message
    allowed = client.post(url, _dose_body(cleared_course, dose_mg="84", over_maximum_reason="Partial response at 1.0"))
    assert allowed.status_code == 201, allowed.json()
    assert allowed.json()["is_over_maximum"] is True


# --- vitals, hold, alerts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value, shown",
    [
        ("systolic_bp", 300, "50–260 mmHg"),
        ("diastolic_bp", 20, "30–160 mmHg"),
        ("heart_rate", 230, "25–220 /min"),
        ("spo2", 40, "50–100 %"),
        ("respiratory_rate", 70, "4–60 /min"),
    ],
)
def test_vitals_outside_the_plausible_range_are_refused_naming_it(dose, provider, field, value, shown):
    body = {"phase": "pre_dose", **normal_vitals(**{field: value})}
    response = api(provider).post(f"/api/doses/{dose.pk}/vitals/", body)
    assert response.status_code == 400
    assert shown in response.json()["errors"][field][0]
    assert not VitalReading.objects.exists()


def test_a_pre_dose_hold_blocks_administration_until_overridden(dose, provider):
    client = api(provider)
    reading = client.post(f"/api/doses/{dose.pk}/vitals/", {"phase": "pre_dose", **normal_vitals(systolic_bp=150)})
    assert reading.status_code == 201
    assert reading.json()["alerts"] == ["pre_dose_hold"]
    shown = client.get(f"/api/doses/{dose.pk}/").json()
    assert shown["hold"]["active"] is True and shown["hold"]["reading"] == reading.json()["id"]
    assert [b["code"] for b in shown["blockers"]] == ["hold"] and shown["ready_to_dose"] is False

    refused = client.post(f"/api/doses/{dose.pk}/administer/", {})
    assert refused.status_code == 400
    assert "Pre-dose hold" in refused.json()["errors"]["non_field_errors"][0]

    no_reason = client.post(f"/api/doses/{dose.pk}/hold-override/", {"reason": ""})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    override = client.post(f"/api/doses/{dose.pk}/hold-override/", {"reason": "Anxious; repeat BP 138/86."})
    assert override.status_code == 200
    assert override.json()["hold"] == {
        **shown["hold"],
        "active": False,
        "lifted_by": "override",
        "recheck_from": None,
        "message": "",
    }
    assert [o["reason"] for o in override.json()["hold_overrides"]] == ["Anxious; repeat BP 138/86."]
    assert override.json()["ready_to_dose"] is True

    given = client.post(f"/api/doses/{dose.pk}/administer/", {})
    assert given.status_code == 200, given.json()
    assert given.json()["dosed_at"] is not None


def test_an_intra_session_alert_is_flagged_on_the_reading_and_the_timeline(given_dose, provider, clock):
    clock.shift(dt.timedelta(minutes=40))
    client = api(provider)
    response = client.post(
        f"/api/doses/{given_dose.pk}/vitals/", {"phase": "during", **normal_vitals(systolic_bp=190, spo2=90)}
    )
    assert response.status_code == 201
    assert response.json()["alerts"] == ["high_bp", "low_spo2"]
    timeline = client.get(f"/api/courses/{given_dose.course_id}/timeline/").json()
    assert [a["alerts"] for a in timeline["alerts"]] == [["high_bp", "low_spo2"]]
    readings = timeline["doses"][0]["vitals"]
    assert readings[-1]["alerts"] == ["high_bp", "low_spo2"]


# --- group sessions and overlap ---------------------------------------------------------------


def test_a_group_of_three_cannot_start_and_a_group_of_four_can(therapist, provider):
    group, doses = group_session_with(3, therapist=therapist, provider=provider)
    client = api(provider)
    for p in doses:
        assert client.post(f"/api/doses/{p.pk}/vitals/", {"phase": "pre_dose", **normal_vitals()}).status_code == 201
    refused = client.post(f"/api/doses/{doses[0].pk}/administer/", {})
    assert refused.status_code == 400
    assert "4–12 participants; it has 3" in refused.json()["errors"]["non_field_errors"][0]

    fourth = cleared_course_for(n=200, therapist=therapist, provider=provider, format="group")
    added = client.post(f"/api/dosing-sessions/{group.pk}/doses/", _dose_body(fourth))
    assert added.status_code == 201
    assert client.post(f"/api/doses/{doses[0].pk}/administer/", {}).status_code == 200


def test_a_thirteenth_dose_is_refused(therapist, provider):
    group, _ = group_session_with(12, therapist=therapist, provider=provider)
    thirteenth = cleared_course_for(n=300, therapist=therapist, provider=provider, format="group")
    response = api(provider).post(f"/api/dosing-sessions/{group.pk}/doses/", _dose_body(thirteenth))
    assert response.status_code == 400
    assert "full (12 participant(s))" in response.json()["errors"]["course"][0]


def test_a_patient_cannot_be_in_two_overlapping_sessions(dose, cleared_course, therapist, provider):
    later = session(therapist=therapist, provider=provider, start=timezone.now() + dt.timedelta(hours=1))
    response = api(provider).post(f"/api/dosing-sessions/{later.pk}/doses/", _dose_body(cleared_course))
    assert response.status_code == 400
    assert "overlaps" in response.json()["errors"]["course"][0]

    next_day = session(therapist=therapist, provider=provider, start=timezone.now() + dt.timedelta(days=1))
    response = api(provider).post(f"/api/dosing-sessions/{next_day.pk}/doses/", _dose_body(cleared_course))
    assert response.status_code == 201


# --- adverse events ---------------------------------------------------------------------------


def test_a_serious_event_mails_the_lead_and_waits_for_acknowledgement(
    given_dose, provider, lead, therapist, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(provider).post(f"/api/doses/{given_dose.pk}/adverse-events/", SERIOUS_EVENT, format="json")
    assert response.status_code == 201, response.json()
    event_id = response.json()["id"]
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [lead.email]

    dashboard = api(lead).get("/api/adverse-events/unacknowledged/")
    assert [e["id"] for e in dashboard.json()["results"]] == [event_id]
    assert api(therapist).get("/api/adverse-events/unacknowledged/").status_code == 403

    refused = api(provider).post(f"/api/adverse-events/{event_id}/acknowledge/", {"note": "seen"})
    assert refused.status_code == 403
    acknowledged = api(lead).post(f"/api/adverse-events/{event_id}/acknowledge/", {"note": "Called the ED."})
    assert acknowledged.status_code == 200
    assert acknowledged.json()["acknowledged_by"]["id"] == lead.pk
    assert api(lead).get("/api/adverse-events/unacknowledged/").json()["results"] == []


def test_a_non_serious_event_sends_no_mail(given_dose, provider, lead, mailoutbox, django_capture_on_commit_callbacks):
    body = {"term": "nausea", "grade": 1, "relatedness": "probable", "expectedness": "expected"}
    with django_capture_on_commit_callbacks(execute=True):
        response = api(provider).post(f"/api/doses/{given_dose.pk}/adverse-events/", body, format="json")
    assert response.status_code == 201
    assert mailoutbox == []


def test_a_grade_four_event_must_be_marked_serious(given_dose, provider):
    body = {**SERIOUS_EVENT, "serious": False, "serious_criteria": []}
    response = api(provider).post(f"/api/doses/{given_dose.pk}/adverse-events/", body, format="json")
    assert response.status_code == 400
    assert "serious" in response.json()["errors"]
    assert not AdverseEvent.objects.exists()


# --- signing, amending, voiding ---------------------------------------------------------------


def _signed_evaluation(course, provider):
    evaluation = services.medical_evaluation_add(course=course, by=provider, decision="cleared", **SIGNABLE_EVALUATION)
    return services.record_sign(record=evaluation, by=provider)


def test_a_signed_record_is_locked_and_corrected_by_amendment(course, provider):
    evaluation = _signed_evaluation(course, provider)
    client = api(provider)
    base = f"/api/records/medical-evaluation/{evaluation.pk}"

    locked = client.patch(f"{base}/", {"heart_rate": 80, "version": evaluation.version}, format="json")
    assert locked.status_code == 400
    assert "locked" in locked.json()["errors"]["non_field_errors"][0]

    amended = client.post(
        f"{base}/amend/", {"changes": {"heart_rate": "80", "weight_kg": "71.5"}, "reason": "Typo"}, format="json"
    )
    assert amended.status_code == 201, amended.json()
    assert amended.json()["changes"] == {
        "heart_rate": {"from": 72, "to": 80},
        "weight_kg": {"from": "70.0", "to": "71.5"},
    }
    evaluation.refresh_from_db()
    assert evaluation.heart_rate == 80 and str(evaluation.weight_kg) == "71.5"

    listed = client.get(f"{base}/amendments/").json()
    assert [a["reason"] for a in listed] == ["Typo"]
    assert listed[0]["amended_by"]["id"] == provider.pk
    timeline = client.get(f"/api/courses/{course.pk}/timeline/").json()
    assert timeline["medical_evaluations"][0]["amendments"][0]["changes"]["heart_rate"] == {"from": 72, "to": 80}


def test_an_unsigned_record_is_edited_in_place(course, provider):
    evaluation = services.medical_evaluation_add(course=course, by=provider, **SIGNABLE_EVALUATION)
    response = api(provider).patch(
        f"/api/records/medical-evaluation/{evaluation.pk}/",
        {"heart_rate": "81", "decision": "cleared", "version": evaluation.version},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["heart_rate"] == 81
    assert Amendment.objects.count() == 0


def test_an_amendment_value_of_the_wrong_type_is_a_400_naming_the_field(course, provider):
    evaluation = _signed_evaluation(course, provider)
    for changes in (
        {"heart_rate": "fast"},
        {"heart_rate": [1]},
        {"evaluated_on": "yesterday"},
        {"ci_pregnancy": "maybe"},
        {"weight_kg": "heavy"},
    ):
        response = api(provider).post(
            f"/api/records/medical-evaluation/{evaluation.pk}/amend/",
            {"changes": changes, "reason": "x"},
            format="json",
        )
        assert response.status_code == 400, changes
        assert set(response.json()["errors"]) == set(changes)


def test_an_amendment_cannot_break_the_record_rules(course, provider):
    evaluation = _signed_evaluation(course, provider)
    response = api(provider).post(
        f"/api/records/medical-evaluation/{evaluation.pk}/amend/",
        {"changes": {"ci_pregnancy": "yes", "childbearing_potential": "yes"}, "reason": "Positive test"},
        format="json",
    )
    assert response.status_code == 400
    assert "absolute contraindication" in response.json()["errors"]["decision"][0]


def test_voiding_keeps_the_record(course, provider):
    evaluation = services.medical_evaluation_add(course=course, by=provider, **SIGNABLE_EVALUATION)
    client = api(provider)
    no_reason = client.post(f"/api/records/medical-evaluation/{evaluation.pk}/void/", {"reason": ""})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    voided = client.post(f"/api/records/medical-evaluation/{evaluation.pk}/void/", {"reason": "Wrong patient"})
    assert voided.status_code == 200
    assert voided.json()["is_voided"] is True and voided.json()["void_reason"] == "Wrong patient"
    assert MedicalEvaluation.objects.filter(pk=evaluation.pk).exists()
    timeline = client.get(f"/api/courses/{course.pk}/timeline/").json()
    assert timeline["medical_evaluations"][0]["is_voided"] is True
    again = client.post(f"/api/records/medical-evaluation/{evaluation.pk}/void/", {"reason": "twice"})
    assert again.status_code == 400


def test_course_stages_move_forward_only_and_discontinue_needs_a_reason(course, therapist):
    client = api(therapist)
    skip = client.post(f"/api/courses/{course.pk}/status/", {"to_status": "integration"})
    assert skip.status_code == 400 and "to_status" in skip.json()["errors"]
    forward = client.post(f"/api/courses/{course.pk}/status/", {"to_status": "preparation"})
    assert forward.status_code == 200 and forward.json()["status"] == "preparation"
    no_reason = client.post(f"/api/courses/{course.pk}/status/", {"to_status": "discontinued"})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    stopped = client.post(f"/api/courses/{course.pk}/status/", {"to_status": "discontinued", "reason": "Moved away"})
    assert stopped.json()["discontinued_reason"] == "Moved away"


def test_a_course_cannot_enter_dosing_without_a_cleared_screen(course, therapist):
    client = api(therapist)
    client.post(f"/api/courses/{course.pk}/status/", {"to_status": "preparation"})
    response = client.post(f"/api/courses/{course.pk}/status/", {"to_status": "dosing"})
    assert response.status_code == 400
    assert "medical evaluation" in response.json()["errors"]["to_status"][0]


def test_at_most_two_preparatory_sessions(course, therapist):
    client = api(therapist)
    body = {"held_at": _iso(timezone.now()), "note": "Set and setting.", "topics": ["set_setting"]}
    for _ in range(2):
        assert client.post(f"/api/courses/{course.pk}/preparatory-sessions/", body, format="json").status_code == 201
    third = client.post(f"/api/courses/{course.pk}/preparatory-sessions/", body, format="json")
    assert third.status_code == 400
    assert "at most 2" in third.json()["errors"]["non_field_errors"][0]


def test_reading_a_session_through_the_generic_route_audits_each_patient(dose, therapist):
    from courses.models import AuditAction, AuditEvent

    response = api(therapist).get(f"/api/records/dosing-session/{dose.session_id}/")
    assert response.status_code == 200
    rows = AuditEvent.objects.filter(action=AuditAction.VIEW, record_id=str(dose.session_id))
    assert [r.patient_id for r in rows] == [dose.course.patient_id]


def test_an_amended_time_is_read_in_the_clinic_zone(given_dose, provider):
    reading = services.vital_reading_add(dose=given_dose, by=provider, phase="during", **normal_vitals())
    client = api(provider)
    edited = client.patch(
        f"/api/records/vital-reading/{reading.pk}/",
        {"taken_at": "2026-03-10T11:05:00", "version": reading.version},
        format="json",
    )
    assert edited.status_code == 405  # a reading is never edited in place: PATCH is not offered
    assert "amend" in edited.json()["detail"]
    response = client.post(
        f"/api/records/vital-reading/{reading.pk}/amend/",
        {"changes": {"taken_at": "2026-03-10T11:05:00"}, "reason": "Monitor clock read wrongly."},
        format="json",
    )
    assert response.status_code == 201, response.json()
    reading.refresh_from_db()
    # A naive time is the clinic's (America/New_York, on daylight time from 8 March 2026).
    assert reading.taken_at == dt.datetime(2026, 3, 10, 15, 5, tzinfo=dt.UTC)


def _prep(course, therapist):
    return services.preparatory_session_add(course=course, by=therapist, held_at=timezone.now(), note="Prep.")


def test_editing_a_preparatory_session_refuses_unknown_topics(course, therapist):
    prep = _prep(course, therapist)
    response = api(therapist).patch(
        f"/api/records/preparatory-session/{prep.pk}/",
        {"topics": ["astrology"], "version": prep.version},
        format="json",
    )
    assert response.status_code == 400


def test_editing_a_preparatory_session_refuses_a_future_time(course, therapist):
    prep = _prep(course, therapist)
    response = api(therapist).patch(
        f"/api/records/preparatory-session/{prep.pk}/",
        {"held_at": "2099-01-01T00:00:00Z", "version": prep.version},
        format="json",
    )
    assert response.status_code == 400
