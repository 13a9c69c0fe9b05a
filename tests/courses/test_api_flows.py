"""A whole individual course and a whole group dosing session, through the API alone."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from courses import rules
from devtools.builders import normal_vitals

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.json())
    return response.json()


def _version(client, url: str) -> int:
    """The version a client has read, as it would send it back with a write."""
    return ok(client.get(url))["version"]


def _now(offset_minutes: int = 0) -> str:
    return (timezone.now() + dt.timedelta(minutes=offset_minutes)).isoformat()


EVALUATION = {
    "evaluated_on": "2026-03-01",
    "systolic_bp": 124,
    "diastolic_bp": 78,
    "heart_rate": 72,
    "spo2": 98,
    "respiratory_rate": 14,
    "weight_kg": "70.0",
    "decision": "cleared",
    # Every item answered on purpose.
    **rules.SCREEN_NOTHING_FOUND,
}


def _waive_baselines(client, course_id: str) -> None:
    """The first dose waits for the baseline: here each is waived, with the reason, through the API."""
    administrations = ok(client.get(f"/api/courses/{course_id}/administrations/"))
    rows = administrations["results"] if isinstance(administrations, dict) else administrations
    for row in rows:
        if row["timepoint"] == "baseline":
            waived = ok(client.post(f"/api/administrations/{row['id']}/waive/", {"reason": "Answered on paper."}))
            assert waived["status"] == "waived" and waived["waived_reason"] == "Answered on paper."


def _cleared_course(t, p, n: int, therapist, provider, format="individual", prepared=False) -> str:
    """Register a patient and take their course through both signed evaluations (and, `prepared`,
    a signed preparatory session and the baseline waived); returns the course id."""
    patient = ok(
        t.post(
            "/api/patients/",
            {
                "mrn": f"FLOW-{n:04d}",
                "given_name": f"Flow{n}",
                "family_name": "Synthetic-Demo",
                "date_of_birth": "1984-06-01",
                "sex": "male",
                "race_ethnicity": "prefer_not_to_say",
                "email": f"flow{n}@example.invalid",
                "weight_kg": "70",
            },
            format="json",
        ),
        201,
    )
    course = ok(
        t.post(
            "/api/courses/",
            {
                "patient": patient["id"],
                "indication": "mdd_trd",
                "format": format,
                "therapists": [therapist.pk],
                "medical_provider": provider.pk,
                "planned_dosing_sessions": 4,
            },
            format="json",
        ),
        201,
    )
    course_id = course["id"]
    evaluation = ok(p.post(f"/api/courses/{course_id}/medical-evaluation/", EVALUATION, format="json"), 201)
    assert ok(p.post(f"/api/records/medical-evaluation/{evaluation['id']}/sign/"))["is_signed"] is True
    psych = ok(
        t.post(
            f"/api/courses/{course_id}/psychiatric-evaluation/",
            {"evaluated_on": "2026-03-02", "diagnosis": "MDD, recurrent", "suicide_risk": "low"},
            format="json",
        ),
        201,
    )
    ok(t.post(f"/api/records/psychiatric-evaluation/{psych['id']}/sign/"))
    if prepared:
        body = {"held_at": _now(-120), "note": "Set and setting.", "topics": ["set_setting"]}
        prep = ok(t.post(f"/api/courses/{course_id}/preparatory-sessions/", body, format="json"), 201)
        ok(t.post(f"/api/records/preparatory-session/{prep['id']}/sign/"))
        _waive_baselines(t, course_id)
    return course_id


def test_a_full_individual_course(therapist, provider, lead, clock):
    t, p = api(therapist), api(provider)
    course_id = _cleared_course(t, p, 1, therapist, provider)

    summary = ok(t.get(f"/api/courses/{course_id}/"))["summary"]
    assert summary["cleared_for_dosing"] is True and summary["psychiatric_evaluation_signed"] is True

    ok(t.post(f"/api/courses/{course_id}/status/", {"to_status": "preparation"}))
    # Each step at its own minute: the timeline orders status changes by time alone.
    clock.shift(dt.timedelta(minutes=1))
    prep = ok(
        t.post(
            f"/api/courses/{course_id}/preparatory-sessions/",
            {
                "held_at": _now(-60),
                "note": "Intentions and set and setting.",
                "topics": ["effects_risks", "set_setting", "intentions"],
                "intentions": "Reconnect with family.",
            },
            format="json",
        ),
        201,
    )
    ok(t.post(f"/api/records/preparatory-session/{prep['id']}/sign/"))
    refused = t.post(f"/api/courses/{course_id}/status/", {"to_status": "dosing"})
    assert refused.status_code == 400 and "Baseline questionnaires" in refused.json()["errors"]["to_status"][0]
    blockers = ok(t.get(f"/api/courses/{course_id}/"))["summary"]["dosing_blockers"]
    assert [b["code"] for b in blockers] == ["baseline_open"]
    _waive_baselines(t, course_id)
    assert ok(t.get(f"/api/courses/{course_id}/"))["summary"]["dosing_blockers"] == []
    assert ok(t.post(f"/api/courses/{course_id}/status/", {"to_status": "dosing"}))["status"] == "dosing"

    session = ok(
        p.post(
            "/api/dosing-sessions/",
            {
                "starts_at": _now(-15),
                "ends_at": _now(165),
                "medical_provider": provider.pk,
                "facilitators": [therapist.pk],
                "location": "Room 2",
            },
            format="json",
        ),
        201,
    )
    dose = ok(
        p.post(
            f"/api/dosing-sessions/{session['id']}/doses/",
            {
                "course": course_id,
                "route": "im",
                "dose_mg": "42",
                "weight_kg": "70",
                "lot_number": "LOT-A1",
                "fasting_confirmed": True,
            },
            format="json",
        ),
        201,
    )
    dose_id = dose["id"]
    assert dose["dose_mg_per_kg"] == "0.600" and dose["is_maintenance"] is False

    ok(p.post(f"/api/doses/{dose_id}/vitals/", {"phase": "pre_dose", **normal_vitals()}, format="json"), 201)
    assert ok(p.post(f"/api/doses/{dose_id}/administer/", {}))["dosed_at"] is not None
    clock.shift(dt.timedelta(minutes=40))
    peak = ok(p.post(f"/api/doses/{dose_id}/vitals/", {"phase": "during", **normal_vitals(systolic_bp=150)}), 201)
    assert peak["alerts"] == []
    ok(
        p.post(
            f"/api/doses/{dose_id}/adverse-events/",
            {
                "term": "dissociation",
                "grade": 1,
                "relatedness": "definite",
                "expectedness": "expected",
                "outcome": "resolved",
            },
            format="json",
        ),
        201,
    )
    early = p.post(
        f"/api/doses/{dose_id}/discharge/",
        {"alert_oriented": True, "escort_present": True, "no_driving_advised": True},
    )
    assert early.status_code == 400 and "discharged_at" in early.json()["errors"]
    clock.shift(dt.timedelta(minutes=25))
    ok(p.post(f"/api/doses/{dose_id}/vitals/", {"phase": "pre_discharge", **normal_vitals()}), 201)
    discharged = ok(
        p.post(
            f"/api/doses/{dose_id}/discharge/",
            {"alert_oriented": True, "escort_present": True, "no_driving_advised": True},
        )
    )
    assert discharged["discharged_at"] is not None
    ok(p.post(f"/api/records/dose/{dose_id}/sign/"))

    note = {
        "facilitation_note": "Calm journey; some grief.",
        "version": _version(t, f"/api/dosing-sessions/{session['id']}/"),
    }
    ok(t.post(f"/api/dosing-sessions/{session['id']}/note/", note))
    assert ok(t.post(f"/api/records/dosing-session/{session['id']}/sign/"))["is_signed"] is True

    ok(t.post(f"/api/courses/{course_id}/status/", {"to_status": "integration"}))
    clock.shift(dt.timedelta(days=1))
    integration = ok(
        t.post(
            "/api/integration-sessions/",
            {"courses": [course_id], "held_at": _now(-30), "note": "Processed grief.", "techniques": ["talk"]},
            format="json",
        ),
        201,
    )
    ok(t.post(f"/api/records/integration-session/{integration['id']}/sign/"))
    ok(t.post(f"/api/courses/{course_id}/status/", {"to_status": "follow_up"}))
    clock.shift(dt.timedelta(minutes=1))
    assert ok(t.post(f"/api/courses/{course_id}/status/", {"to_status": "completed"}))["status"] == "completed"

    timeline = ok(t.get(f"/api/courses/{course_id}/timeline/"))
    assert [c["to_status"] for c in timeline["status_changes"]] == [
        "preparation",
        "dosing",
        "integration",
        "follow_up",
        "completed",
    ]
    assert timeline["medical_evaluations"][0]["is_signed"] is True
    assert timeline["preparatory_sessions"][0]["topics"] == ["effects_risks", "set_setting", "intentions"]
    (dose_row,) = timeline["doses"]
    assert [v["phase"] for v in dose_row["vitals"]] == ["pre_dose", "during", "pre_discharge"]
    assert dose_row["adverse_events"][0]["term"] == "dissociation"
    assert dose_row["session"]["facilitators"][0]["id"] == therapist.pk
    assert dose_row["is_signed"] is True
    assert timeline["integration_sessions"][0]["techniques"] == ["talk"]

    # Done: the course is closed to new records, and the lead can read the whole trail.
    closed = t.post(
        f"/api/courses/{course_id}/preparatory-sessions/", {"held_at": _now(), "note": "late"}, format="json"
    )
    assert closed.status_code == 400
    patient_id = timeline["course"]["patient"]["id"]
    actions = {e["action"] for e in ok(api(lead).get(f"/api/patients/{patient_id}/audit/?limit=200"))["results"]}
    assert {"create", "view", "sign", "update"} <= actions


def test_a_group_dosing_session(therapist, provider, lead, clock, mailoutbox, django_capture_on_commit_callbacks):
    t, p = api(therapist), api(provider)
    courses = [_cleared_course(t, p, n, therapist, provider, format="group", prepared=True) for n in range(1, 6)]

    session = ok(
        p.post(
            "/api/dosing-sessions/",
            {
                "format": "group",
                "starts_at": _now(-10),
                "ends_at": _now(230),
                "medical_provider": provider.pk,
                "facilitators": [therapist.pk],
                "others_present": "Nurse (synthetic)",
            },
            format="json",
        ),
        201,
    )
    url = f"/api/dosing-sessions/{session['id']}/doses/"
    doses = [
        ok(
            p.post(
                url,
                {"course": c, "route": "sublingual", "dose_mg": "300", "weight_kg": "70", "fasting_confirmed": True},
                format="json",
            ),
            201,
        )["id"]
        for c in courses[:3]
    ]
    for dose_id in doses:
        ok(p.post(f"/api/doses/{dose_id}/vitals/", {"phase": "pre_dose", **normal_vitals()}), 201)
    too_few = p.post(f"/api/doses/{doses[0]}/administer/", {})
    assert too_few.status_code == 400

    fourth = ok(
        p.post(
            url,
            {
                "course": courses[3],
                "route": "sublingual",
                "dose_mg": "300",
                "weight_kg": "70",
                "fasting_confirmed": True,
            },
            format="json",
        ),
        201,
    )["id"]
    doses.append(fourth)
    held = ok(p.post(f"/api/doses/{fourth}/vitals/", {"phase": "pre_dose", **normal_vitals(diastolic_bp=95)}), 201)
    assert held["alerts"] == ["pre_dose_hold"]
    assert p.post(f"/api/doses/{fourth}/administer/", {}).status_code == 400
    ok(p.post(f"/api/doses/{fourth}/hold-override/", {"reason": "White-coat; home BP normal."}))

    detail = ok(t.get(f"/api/dosing-sessions/{session['id']}/"))
    assert detail["dose_count"] == 4 and len(detail["doses"]) == 4
    # Wrong format: an individual course cannot join a group session.
    individual = _cleared_course(t, p, 9, therapist, provider)
    wrong = p.post(url, {"course": individual, "route": "iv", "dose_mg": "35", "weight_kg": "70"}, format="json")
    assert wrong.status_code == 400 and "course" in wrong.json()["errors"]

    for dose_id in doses:
        ok(p.post(f"/api/doses/{dose_id}/administer/", {}))
    clock.shift(dt.timedelta(minutes=40))
    for dose_id in doses:
        if dose_id != doses[1]:
            ok(p.post(f"/api/doses/{dose_id}/vitals/", {"phase": "during", **normal_vitals()}), 201)
    alert = ok(p.post(f"/api/doses/{doses[1]}/vitals/", {"phase": "during", **normal_vitals(heart_rate=130)}), 201)
    assert alert["alerts"] == ["high_hr"]
    [open_alert] = ok(p.get(f"/api/doses/{doses[1]}/"))["in_session_alerts"]
    close_url = f"/api/doses/{doses[1]}/alerts/{open_alert['id']}/close/"
    too_soon = p.post(close_url, {"action": "recheck"})
    assert too_soon.status_code == 400 and "recheck reading first" in too_soon.json()["errors"]["action"][0]
    clock.shift(dt.timedelta(minutes=5))
    ok(p.post(f"/api/doses/{doses[1]}/vitals/", {"phase": "during", **normal_vitals(heart_rate=96)}), 201)
    closed = ok(p.post(close_url, {"action": "recheck", "note": "Settled with reassurance."}))
    assert closed["in_session_alerts"][0]["action"] == "recheck" and closed["discharge_blockers"]
    with django_capture_on_commit_callbacks(execute=True):
        ok(
            p.post(
                f"/api/doses/{doses[2]}/adverse-events/",
                {
                    "term": "emergent_suicidality",
                    "grade": 3,
                    "serious": True,
                    "serious_criteria": ["other_important"],
                    "relatedness": "possible",
                    "expectedness": "expected",
                    "action_taken": "session_stopped",
                },
                format="json",
            ),
            201,
        )
    assert len(mailoutbox) == 1

    clock.shift(dt.timedelta(minutes=30))
    for dose_id in doses:
        ok(p.post(f"/api/doses/{dose_id}/vitals/", {"phase": "pre_discharge", **normal_vitals()}), 201)
        ok(
            p.post(
                f"/api/doses/{dose_id}/discharge/",
                {"alert_oriented": True, "escort_present": True, "no_driving_advised": True},
            )
        )
        ok(p.post(f"/api/records/dose/{dose_id}/sign/"))
    note = {
        "facilitation_note": "Group held well; one SAE.",
        "version": _version(t, f"/api/dosing-sessions/{session['id']}/"),
    }
    ok(t.post(f"/api/dosing-sessions/{session['id']}/note/", note))
    ok(t.post(f"/api/records/dosing-session/{session['id']}/sign/"))

    # Each dose's own timeline shows their own vitals and events under the shared session.
    timeline = ok(t.get(f"/api/courses/{courses[1]}/timeline/"))
    assert timeline["alerts"][0]["alerts"] == ["high_hr"]
    assert timeline["doses"][0]["adverse_events"] == []
    other = ok(t.get(f"/api/courses/{courses[2]}/timeline/"))
    assert other["doses"][0]["adverse_events"][0]["serious"] is True
    assert other["course"]["status"] == "dosing"

    group_integration = ok(
        t.post(
            "/api/integration-sessions/",
            {
                "courses": courses[:4],
                "format": "group",
                "held_at": _now(),
                "note": "Circle.",
                "techniques": ["drawing"],
            },
            format="json",
        ),
        201,
    )
    assert len(group_integration["courses"]) == 4
    assert len(ok(api(lead).get("/api/adverse-events/unacknowledged/"))["results"]) == 1
