"""Who may reach what through the API: authentication, roles, caseloads, the audit trail, the schema."""

import pytest
import yaml
from django.core import mail
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import User
from courses.models import AuditAction, AuditEvent
from devtools.builders import PASSWORD, cleared_course_for

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- authentication ---------------------------------------------------------------------------


def test_a_token_works_for_later_requests(therapist, course):
    client = APIClient()
    response = client.post("/api/auth/token/", {"username": "therapist", "password": PASSWORD})
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    listed = client.get("/api/courses/")
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["results"]] == [str(course.pk)]


def test_a_wrong_password_gets_no_token(therapist):
    response = APIClient().post("/api/auth/token/", {"username": "therapist", "password": "nope"})
    assert response.status_code == 400
    assert response.json()["errors"]["non_field_errors"]


def test_an_account_without_a_role_gets_no_token(outsider):
    response = APIClient().post("/api/auth/token/", {"username": "outsider", "password": PASSWORD})
    assert response.status_code == 403


def test_repeated_failures_lock_the_account_without_a_server_error(therapist, settings):
    client = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/api/auth/token/", {"username": "therapist", "password": "wrong"})
        assert response.status_code == 400
    last = client.post("/api/auth/token/", {"username": "therapist", "password": "wrong"})
    assert last.status_code == 429
    locked = client.post("/api/auth/token/", {"username": "therapist", "password": PASSWORD})
    assert locked.status_code == 429
    assert "locked" in locked.json()["detail"]
    assert "token" not in locked.json()


def test_a_bad_token_is_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = client.get("/api/patients/")
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "errors"}


def test_anonymous_requests_are_401(course):
    for url in ("/api/patients/", "/api/courses/", f"/api/courses/{course.pk}/", "/api/settings/"):
        assert APIClient().get(url).status_code == 401, url


def test_an_account_without_a_role_is_403_everywhere(outsider, course):
    client = api(outsider)
    for url in ("/api/patients/", "/api/courses/", f"/api/courses/{course.pk}/", "/api/dosing-sessions/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert response.json()["detail"] == "Sign in with a clinic staff account."


# --- caseloads --------------------------------------------------------------------------------


def test_another_therapists_course_and_patient_are_404(course, other_therapist, other_provider):
    for user in (other_therapist, other_provider):
        client = api(user)
        for url in (
            f"/api/courses/{course.pk}/",
            f"/api/courses/{course.pk}/timeline/",
            f"/api/patients/{course.patient_id}/",
            f"/api/patients/{course.patient_id}/weights/",
            f"/api/records/course/{course.pk}/",
        ):
            response = client.get(url)
            assert response.status_code == 404, url
            assert response.json() == {"detail": "No such record on your caseload.", "errors": {}}
        assert client.get("/api/courses/").json()["results"] == []
        assert client.get("/api/patients/").json()["results"] == []


def test_writes_on_another_caseload_are_404_too(course, other_therapist):
    client = api(other_therapist)
    assert client.post(f"/api/courses/{course.pk}/status/", {"to_status": "preparation"}).status_code == 404
    assert client.patch(f"/api/patients/{course.patient_id}/", {"phone": "555"}).status_code == 404


def test_a_course_on_another_caseload_named_in_a_body_is_a_400_naming_it(
    dose, dosing_session, other_provider, therapist, provider
):
    other_course = cleared_course_for(n=1, therapist=therapist, provider=provider)
    response = api(other_provider).post(
        f"/api/dosing-sessions/{dosing_session.pk}/doses/",
        {"course": str(other_course.pk), "route": "iv", "dose_mg": "35", "weight_kg": "70"},
    )
    # The session itself is not on other_provider's list either.
    assert response.status_code == 404


def test_the_lead_sees_every_course(course, lead):
    assert [c["id"] for c in api(lead).get("/api/courses/").json()["results"]] == [str(course.pk)]


def test_a_malformed_id_is_a_json_404(therapist):
    client = api(therapist)
    for url in ("/api/courses/not-a-uuid/", "/api/patients/123/", "/api/doses/%00/", "/api/nowhere/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["detail"] == "Not found."


def test_an_unknown_record_type_is_404(course, therapist):
    assert api(therapist).get(f"/api/records/spaceship/{course.pk}/").status_code == 404


# --- the audit trail --------------------------------------------------------------------------


def test_reading_a_patient_writes_a_view_row(course, therapist, lead):
    api(therapist).get(f"/api/patients/{course.patient_id}/", REMOTE_ADDR="10.0.0.7")
    row = AuditEvent.objects.filter(action=AuditAction.VIEW, actor=therapist).get()
    assert row.patient_id == course.patient_id
    assert row.ip_address == "10.0.0.7"

    trail = api(lead).get(f"/api/patients/{course.patient_id}/audit/")
    assert trail.status_code == 200
    views = [e for e in trail.json()["results"] if e["action"] == "view" and e["actor"] == therapist.pk]
    assert len(views) == 1 and views[0]["ip_address"] == "10.0.0.7"


@pytest.mark.parametrize(
    "url",
    ["/api/courses/{course}/", "/api/courses/{course}/timeline/", "/api/patients/{patient}/"],
)
def test_every_read_of_a_record_is_audited(course, therapist, url):
    before = AuditEvent.objects.filter(action=AuditAction.VIEW).count()
    api(therapist).get(url.format(course=course.pk, patient=course.patient_id))
    assert AuditEvent.objects.filter(action=AuditAction.VIEW).count() == before + 1


def test_reading_a_dose_is_audited(dose, provider):
    api(provider).get(f"/api/doses/{dose.pk}/")
    assert AuditEvent.objects.filter(action=AuditAction.VIEW, record_id=str(dose.pk)).count() == 1


def test_the_audit_trail_is_for_the_lead_only(course, therapist, provider, lead):
    for user in (therapist, provider):
        response = api(user).get(f"/api/patients/{course.patient_id}/audit/")
        assert response.status_code == 403
    missing = api(lead).get("/api/patients/00000000-0000-0000-0000-000000000000/audit/")
    assert missing.status_code == 404


def test_clinic_settings_and_staff_are_for_the_lead_only(therapist, provider, lead):
    for user in (therapist, provider):
        client = api(user)
        assert client.get("/api/settings/").status_code == 403
        assert client.patch("/api/settings/", {"hold_systolic": 150}).status_code == 403
        assert client.get("/api/staff/").status_code == 403
        created = client.post("/api/staff/", {"username": "x", "email": "x@example.invalid", "role": "therapist"})
        assert created.status_code == 403
    assert api(lead).get("/api/settings/").json()["hold_systolic"] == 140


def test_the_lead_changes_settings_and_manages_staff(lead, therapist):
    client = api(lead)
    response = client.patch("/api/settings/", {"hold_systolic": 150, "max_iv_mg_per_kg": "0.80"})
    assert response.status_code == 200, response.json()
    assert response.json()["hold_systolic"] == 150 and response.json()["max_iv_mg_per_kg"] == "0.80"
    refused = client.patch("/api/settings/", {"hold_systolic": 200})
    assert refused.status_code == 400 and "hold_systolic" in refused.json()["errors"]

    created = client.post(
        "/api/staff/",
        {"username": "newdoc", "email": "newdoc@example.invalid", "role": "medical_provider", "credentials": "DO"},
    )
    assert created.status_code == 201, created.json()
    assert created.json()["invitation_sent"] is True
    newdoc = User.objects.get(username="newdoc")
    assert not newdoc.has_usable_password()  # nobody but the colleague ever knows it
    assert mail.outbox[-1].to == ["newdoc@example.invalid"] and "/invitation/" in mail.outbox[-1].body
    typed = client.post(
        "/api/staff/",
        {"username": "typed", "email": "t@x.invalid", "password": "a-long-enough-password-7", "role": "therapist"},
    )
    assert typed.status_code == 400 and "password" in typed.json()["errors"]
    assert not User.objects.filter(username="typed").exists()
    no_mail = client.post("/api/staff/", {"username": "nomail", "role": "therapist"})
    assert no_mail.status_code == 400 and "email" in no_mail.json()["errors"]
    taken = client.post("/api/staff/", {"username": "THERAPIST", "email": "t2@example.invalid", "role": "therapist"})
    assert taken.status_code == 400 and "username" in taken.json()["errors"]

    off = client.post(f"/api/staff/{therapist.pk}/active/", {"active": False})
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert client.post(f"/api/staff/{lead.pk}/active/", {"active": False}).status_code == 400
    assert client.post("/api/staff/999999/active/", {"active": True}).status_code == 404


# --- bounded queries --------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/courses/", "/api/patients/", "/api/dosing-sessions/"])
def test_list_queries_do_not_grow_with_the_list(url, therapist, provider, lead, django_assert_max_num_queries):
    from devtools.builders import dose_planned, session

    def grow(start, n):
        for i in range(start, start + n):
            course = cleared_course_for(n=i, therapist=therapist, provider=provider)
            dose_planned(session=session(therapist=therapist, provider=provider), course=course, provider=provider)

    grow(1, 1)
    client = api(lead)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    grow(10, 5)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert response.json()["count"] == 6


# --- the schema -------------------------------------------------------------------------------


def test_the_schema_is_served_and_valid(therapist, tmp_path):
    response = api(therapist).get("/api/schema/")
    assert response.status_code == 200
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert schema["openapi"].startswith("3.")
    post = schema["paths"]["/api/doses/{dose_id}/vitals/"]["post"]
    assert set(post["responses"]) == {"201", "400", "401", "403", "404", "409"}
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("VitalReadingInputRequest")


def test_the_docs_page_is_served(therapist):
    assert api(therapist).get("/api/docs/").status_code == 200


def test_timeline_queries_do_not_grow_with_the_course(therapist, provider, django_assert_max_num_queries):
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from courses import services
    from devtools.builders import dose_planned, normal_vitals, session

    course = cleared_course_for(n=1, therapist=therapist, provider=provider)

    def dose_on(day: int):
        start = timezone.now() + dt.timedelta(days=day)
        dose = dose_planned(
            session=session(therapist=therapist, provider=provider, start=start), course=course, provider=provider
        )
        services.vital_reading_add(
            dose=dose,
            by=provider,
            phase="pre_dose",
            taken_at=start,
            now=start,
            **normal_vitals(systolic_bp=150),
        )
        services.adverse_event_add(
            dose=dose,
            by=provider,
            term="nausea",
            grade=1,
            relatedness="possible",
            expectedness="expected",
            onset_at=start,
            now=start,
        )

    dose_on(-10)
    client = api(therapist)
    with CaptureQueriesContext(connection) as small:
        assert client.get(f"/api/courses/{course.pk}/timeline/").status_code == 200
    for day in (-8, -6, -4):
        dose_on(day)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(f"/api/courses/{course.pk}/timeline/")
    assert len(response.json()["doses"]) == 4
    assert len(response.json()["alerts"]) == 4
