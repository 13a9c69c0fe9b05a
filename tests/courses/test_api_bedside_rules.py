"""Issue 11's rules through the REST API: each refused with a 400 naming the field (or a 403 for
the wrong role), and allowed once done right. The service tests (test_bedside_rules.py) go case by
case; these prove the API reaches the same rules and says so in its one error shape."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from courses import rules, services
from devtools import builders
from devtools.builders import PASSWORD, SERIOUS_EVENT, SIGNABLE_EVALUATION, normal_vitals

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def errors(response, status=400) -> dict:
    assert response.status_code == status, (response.status_code, response.json())
    return response.json()["errors"]


def test_vitals_hold_override_and_correction(dose, provider, clock):
    p = api(provider)
    url = f"/api/doses/{dose.pk}"
    assert set(errors(p.post(f"{url}/vitals/", {"phase": "pre_dose", "heart_rate": 72}))) == {
        "systolic_bp",
        "diastolic_bp",
        "spo2",
    }
    assert "pre-dose" in errors(p.post(f"{url}/vitals/", {"phase": "during", **normal_vitals()}))["phase"][0]
    high = p.post(f"{url}/vitals/", {"phase": "pre_dose", **normal_vitals(systolic_bp=165, diastolic_bp=100)}).json()
    edited = p.patch(f"/api/records/vital-reading/{high['id']}/", {"systolic_bp": 130, "version": 1}, format="json")
    # Never edited in place: PATCH is not offered for a reading (405), which points at the amendment.
    assert edited.status_code == 405 and "amend" in edited.json()["detail"]
    assert p.get(f"{url}/").json()["hold"]["active"] is True
    amend = f"/api/records/vital-reading/{high['id']}/amend/"
    body = {"changes": {"systolic_bp": 132, "diastolic_bp": 84}, "reason": "Wrong cuff size; re-measured."}
    assert "would lift the pre-dose hold" in errors(p.post(amend, body, format="json"))["non_field_errors"][0]
    assert "reason" in errors(p.post(f"{url}/hold-override/", {"reason": ""}))
    assert (
        p.post(f"{url}/hold-override/", {"reason": "Large cuff reads 132/84; 165/100 was a small cuff."}).status_code
        == 200
    )
    corrected = p.post(amend, body, format="json")
    assert corrected.status_code == 201
    shown = p.get(f"{url}/").json()
    assert shown["hold"]["active"] is False and shown["ready_to_dose"] is True
    assert shown["vitals"][0]["amendments"][0]["changes"]["systolic_bp"] == {"from": 165, "to": 132}


def test_an_in_session_alert_is_closed_with_what_was_done(given_dose, provider, therapist, clock):
    p, url = api(provider), f"/api/doses/{given_dose.pk}"
    clock.shift(dt.timedelta(minutes=40))
    p.post(f"{url}/vitals/", {"phase": "during", **normal_vitals(heart_rate=128)})
    [alert] = p.get(f"{url}/").json()["in_session_alerts"]
    close = f"{url}/alerts/{alert['id']}/close/"
    assert api(therapist).post(close, {"action": "other", "note": "x"}).status_code == 403
    assert "note" in errors(p.post(close, {"action": "other"}))
    assert "action" in errors(p.post(close, {"action": "reading_voided"}))
    done = p.post(close, {"action": "other", "note": "Pain; analgesia given; HR settled."})
    assert done.status_code == 200 and done.json()["in_session_alerts"][0]["closed_by"]["id"] == provider.pk


def test_discharge_needs_its_readings_and_an_exception_for_an_alerting_set(given_dose, provider, clock):
    p, url = api(provider), f"/api/doses/{given_dose.pk}"
    body = {"alert_oriented": True, "escort_present": True, "no_driving_advised": True}
    clock.shift(dt.timedelta(minutes=70))
    early = errors(p.post(f"{url}/discharge/", body))["non_field_errors"]
    assert any("during monitoring" in m for m in early) and any("before discharge" in m for m in early)
    p.post(
        f"{url}/vitals/",
        {"phase": "during", "taken_at": (timezone.now() - dt.timedelta(minutes=30)).isoformat(), **normal_vitals()},
    )
    p.post(f"{url}/vitals/", {"phase": "pre_discharge", **normal_vitals(systolic_bp=185, diastolic_bp=112)})
    [alert] = [a for a in p.get(f"{url}/").json()["in_session_alerts"] if a["closed_at"] is None]
    p.post(f"{url}/alerts/{alert['id']}/close/", {"action": "other", "note": "Asymptomatic."})
    blockers = p.get(f"{url}/").json()["discharge_blockers"]
    assert [(b["code"], b["exceptionable"]) for b in blockers] == [("pre_discharge_alerting", True)]
    assert "exception_reason" in errors(p.post(f"{url}/discharge/", body))
    done = p.post(f"{url}/discharge/", {**body, "exception_reason": "Usual treated level; escort briefed."})
    assert done.status_code == 200 and done.json()["discharge_vitals_acceptable"] is False


def test_spacing_weight_and_ceiling(given_dose, ready_course, therapist, provider, dosing_session, clock):
    p = api(provider)
    later = builders.session(therapist=therapist, provider=provider, start=timezone.now() + dt.timedelta(hours=6))
    body = {"course": str(ready_course.pk), "route": "iv", "dose_mg": "35", "fasting_confirmed": True}
    assert "24 hours" in errors(p.post(f"/api/dosing-sessions/{later.pk}/doses/", body))["course"][0]
    other = builders.cleared_course_for(n=41, therapist=therapist, provider=provider)
    url = f"/api/dosing-sessions/{builders.session(therapist=therapist, provider=provider).pk}/doses/"
    body = {**body, "course": str(other.pk)}
    assert "recorded weight is 70.0 kg" in errors(p.post(url, {**body, "weight_kg": "110"}))["weight_kg"][0]
    assert (
        "absolute ceiling"
        in errors(p.post(url, {**body, "dose_mg": "1000", "over_maximum_reason": "Protocol"}))["dose_mg"][0]
    )
    # 'Weighed now' does not make a 70 kg patient 110 kg: a jump like that takes a reason.
    jump = errors(p.post(url, {**body, "dose_mg": "55", "weight_kg": "110", "weighed_now": True}))
    assert "differs by more than 10%" in jump["weight_kg"][0]
    weights = f"/api/patients/{other.patient_id}/weights/"
    today = timezone.localdate().isoformat()
    assert "weight_kg" in errors(p.post(weights, {"measured_on": today, "weight_kg": "110"}))
    clock.shift(dt.timedelta(minutes=1))
    assert (
        p.post(
            weights, {"measured_on": today, "weight_kg": "110", "change_reason": "Re-weighed twice; old entry wrong."}
        ).status_code
        == 201
    )
    weighed = p.post(url, {**body, "dose_mg": "55", "weight_kg": "110.0"})
    assert weighed.status_code == 201, weighed.json()
    assert weighed.json()["dose_mg_per_kg"] == "0.500" and weighed.json()["weight_measurement"]


def test_the_screen_age_and_first_dose_rules(course, therapist, provider, lead):
    p, t = api(provider), api(therapist)
    url = f"/api/courses/{course.pk}/medical-evaluation/"
    bare = {k: str(v) for k, v in SIGNABLE_EVALUATION.items() if k not in rules.SCREEN_NOTHING_FOUND}
    assert set(errors(p.post(url, {**bare, "decision": "cleared"}))) == {
        *rules.ABSOLUTE_ITEMS,
        *rules.CAUTION_ITEMS,
        "childbearing_potential",
    }
    high = {**SIGNABLE_EVALUATION, "systolic_bp": 200, "diastolic_bp": 120, "decision": "cleared"}
    assert "caution_uncontrolled_hypertension" in errors(p.post(url, high, format="json"))
    unknown = {**SIGNABLE_EVALUATION, "ci_pregnancy": "unknown", "childbearing_potential": "unknown"}
    assert "ci_pregnancy" in errors(p.post(url, {**unknown, "decision": "cleared"}, format="json"))

    child = t.post(
        "/api/patients/",
        {
            "mrn": "API-0012",
            "given_name": "Young",
            "family_name": "Minor-Demo",
            "date_of_birth": "2014-01-05",
            "sex": "male",
            "email": "young@example.invalid",
        },
        format="json",
    ).json()
    team = {
        "patient": child["id"],
        "indication": "mdd_trd",
        "therapists": [therapist.pk],
        "medical_provider": provider.pk,
    }
    assert "minimum age of 18" in errors(t.post("/api/courses/", team, format="json"))["age_exception_reason"][0]
    opened = api(lead).post("/api/courses/", {**team, "age_exception_reason": "Adolescent programme."}, format="json")
    assert opened.status_code == 201

    summary = t.get(f"/api/courses/{course.pk}/").json()["summary"]
    assert {b["code"] for b in summary["dosing_blockers"]} >= {"screen_missing", "baseline_open", "preparation_missing"}


def test_roles_an_administrator_and_the_author(dose, therapist, other_therapist, lead, course):
    root = User.objects.create_superuser("root", "root@kapclinic.invalid", PASSWORD)
    r = api(root)
    url = f"/api/doses/{dose.pk}"
    r.get(f"{url}/")
    refused = r.post(f"{url}/administer/", {})
    assert refused.status_code == 403 and "without a clinical role" in refused.json()["detail"]
    assert r.post(f"{url}/hold-override/", {"reason": "x"}).status_code == 403
    assert api(lead).post(f"/api/staff/{root.pk}/active/", {"active": False}).status_code == 403
    course.therapists.add(other_therapist)
    note = services.preparatory_session_add(course=course, by=therapist, held_at=timezone.now(), note="Prep.")
    services.record_sign(record=note, by=therapist)
    voided = api(other_therapist).post(f"/api/records/preparatory-session/{note.pk}/void/", {"reason": "Mine now."})
    assert voided.status_code == 403 and "only its author or a practice lead" in voided.json()["detail"]


def test_alerts_close_the_loop(given_dose, provider, therapist, lead):
    event = api(provider).post(f"/api/doses/{given_dose.pk}/adverse-events/", SERIOUS_EVENT, format="json")
    assert event.status_code == 201
    acknowledge = f"/api/adverse-events/{event.json()['id']}/acknowledge/"
    assert "note" in errors(api(lead).post(acknowledge, {"note": ""}))
    assert api(lead).post(acknowledge, {"note": "ED called; admitted overnight."}).status_code == 200
    fatal = {**SERIOUS_EVENT, "grade": 5, "serious_criteria": ["death"], "outcome": "resolved"}
    assert "outcome" in errors(api(provider).post(f"/api/doses/{given_dose.pk}/adverse-events/", fatal, format="json"))
    no_expectedness = {k: v for k, v in SERIOUS_EVENT.items() if k != "expectedness"}
    assert "expectedness" in errors(
        api(provider).post(f"/api/doses/{given_dose.pk}/adverse-events/", no_expectedness, format="json")
    )
    heard = api(therapist).post(
        f"/api/courses/{given_dose.course_id}/adverse-events/",
        {"term": "headache", "grade": 1, "relatedness": "possible", "expectedness": "expected"},
        format="json",
    )
    assert heard.status_code == 201 and heard.json()["dose"] is None
    timeline = api(therapist).get(f"/api/courses/{given_dose.course_id}/timeline/").json()
    assert [e["id"] for e in timeline["adverse_events"]] == [heard.json()["id"]]


def test_settings_keep_the_labels_floor(lead):
    assert (
        "at least 120"
        in errors(api(lead).patch("/api/settings/", {"monitoring_minutes_esketamine": 60}, format="json"))[
            "monitoring_minutes_esketamine"
        ][0]
    )
