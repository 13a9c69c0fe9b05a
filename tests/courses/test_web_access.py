"""Who reaches which page: each role's landing page, 404 outside the caseload, 403 without a role."""

import pytest
from django.urls import reverse

from courses.models import AuditAction, AuditEvent
from tests.courses.test_web_full_course import NO_SCREEN


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_login_page_renders_and_signs_in(client, therapist):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "therapist", "password": "correct-horse-battery-staple"})
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_repeated_failures_lock_the_account(client, therapist):
    for _ in range(5):
        client.post(reverse("login"), {"username": "therapist", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "therapist", "password": "correct-horse-battery-staple"})
    text = response.content.decode()
    assert "locked for 15 minutes" in text and "practice lead" in text


def test_logout_is_a_post(client, therapist):
    client.force_login(therapist)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("caseload")).status_code == 302


@pytest.mark.parametrize(
    ("user_fixture", "landing"),
    [("therapist", "caseload"), ("provider", "provider-today"), ("lead", "lead-dashboard")],
)
def test_each_role_lands_on_its_page(client, request, user_fixture, landing):
    client.force_login(request.getfixturevalue(user_fixture))
    response = client.get(reverse("home"))
    assert response["Location"] == reverse(landing)
    assert client.get(response["Location"]).status_code == 200


def test_an_account_without_a_role_gets_a_403_that_says_so(client, outsider):
    client.force_login(outsider)
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert "no clinical role" in response.content.decode()
    assert client.get(reverse("patient-list")).status_code == 403


def test_caseload_shows_own_courses_and_what_is_due(client, therapist, course):
    client.force_login(therapist)
    text = client.get(reverse("caseload")).content.decode()
    assert "Testpatient, Alice" in text and "No medical evaluation" in text


def test_provider_today_lists_todays_sessions(client, provider, dose):
    client.force_login(provider)
    text = client.get(reverse("provider-today")).content.decode()
    assert "Testpatient, Alice" in text and "Today" in text


def _course_pages(course, dose):
    return [
        reverse("patient-detail", args=[course.patient_id]),
        reverse("patient-edit", args=[course.patient_id]),
        reverse("course-open", args=[course.patient_id]),
        reverse("course-timeline", args=[course.pk]),
        reverse("course-status", args=[course.pk]),
        reverse("preparatory-session-new", args=[course.pk]),
        reverse("dosing-session", args=[dose.session_id]),
        reverse("dose", args=[dose.pk]),
        reverse("record-void", args=["course", course.pk]),
    ]


def test_pages_of_a_course_render_for_its_team(client, therapist, provider, dose):
    for user in (therapist, provider):
        client.force_login(user)
        for url in _course_pages(dose.course, dose):
            assert client.get(url).status_code == 200, url


def test_another_therapists_patient_is_a_404(client, other_therapist, dose):
    client.force_login(other_therapist)
    for url in _course_pages(dose.course, dose):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Testpatient" not in response.content.decode()
    response = client.post(reverse("dose-vitals", args=[dose.pk]), {"phase": "pre_dose"})
    assert response.status_code == 404


def test_reads_are_audited(client, therapist, course):
    client.force_login(therapist)
    client.get(reverse("course-timeline", args=[course.pk]))
    client.get(reverse("patient-detail", args=[course.patient_id]))
    views = AuditEvent.objects.filter(action=AuditAction.VIEW, actor=therapist, patient=course.patient)
    assert views.count() == 2


def test_the_audit_trail_is_for_the_lead_only(client, therapist, lead, course):
    client.force_login(therapist)
    assert client.get(reverse("patient-audit", args=[course.patient_id])).status_code == 403
    client.force_login(lead)
    response = client.get(reverse("patient-audit", args=[course.patient_id]))
    assert response.status_code == 200 and "Created" in response.content.decode()


def test_patient_search_is_a_post_and_finds_by_name_or_mrn(client, therapist, course):
    client.force_login(therapist)
    assert "Testpatient" in client.post(reverse("patient-list"), {"q": "testpat"}).content.decode()
    assert "Testpatient" in client.post(reverse("patient-list"), {"q": "TEST-0001"}).content.decode()
    assert "No patients found" in client.post(reverse("patient-list"), {"q": "nobody"}).content.decode()


def test_malformed_record_type_is_a_404(client, therapist, course):
    client.force_login(therapist)
    assert client.get(reverse("record-void", args=["nonsense", course.pk])).status_code == 404


def test_a_therapist_cannot_record_a_medical_evaluation(client, therapist, course):
    client.force_login(therapist)
    data = {"evaluated_on": "2026-03-01", "decision": "pending", **NO_SCREEN}
    response = client.post(reverse("medical-evaluation-new", args=[course.pk]), data)
    assert response.status_code == 403
    assert "Only a medical provider" in response.content.decode()
    assert not course.medical_evaluations.exists()
