"""A course's questionnaires through the staff API: the list, add, adjust, cancel, clinician entry, responses."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from courses.models import AuditAction, AuditEvent
from measures import services
from measures.models import Administration, AdministrationStatus, Response, ResponseSource, SafetyAlert
from tests.measures.support import ad_hoc

pytestmark = pytest.mark.django_db

PHQ9_MODERATE = {"1": 2, "2": 2, "3": 1, "4": 2, "5": 1, "6": 1, "7": 1, "8": 1, "9": 0}  # 11, moderate
TODAY = dt.date(2026, 3, 10)  # the clock fixture's day in the clinic


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def opened(course, instrument: str = "phq9") -> Administration:
    services.tick()
    return Administration.objects.get(course=course, instrument=instrument, timepoint="baseline")


def administrations_url(course) -> str:
    return f"/api/courses/{course.pk}/administrations/"


# --- the list ---------------------------------------------------------------------------------


def test_the_list_shows_each_administration_with_status_window_and_score(course, therapist):
    administration = opened(course)
    services.response_enter(administration=administration, by=therapist, answers=PHQ9_MODERATE)
    response = api(therapist).get(administrations_url(course))
    assert response.status_code == 200
    rows = {row["instrument"]: row for row in response.json()}
    assert set(rows) == {"phq9", "gad7", "pcl5"}
    phq9 = rows["phq9"]
    assert phq9["id"] == str(administration.pk)
    assert phq9["timepoint"] == "baseline"
    assert phq9["instrument_name"] == "PHQ-9"
    assert phq9["status"] == "completed"
    assert phq9["open_from"] == "2026-03-10"
    assert phq9["missed_after"] == "2026-04-09"
    assert phq9["score"]["total"] == 11
    assert phq9["score"]["band"] == "Moderate"
    assert phq9["score"]["complete"] is True
    assert phq9["score"]["source"] == "clinician"
    assert phq9["score"]["safety_alert"] is False
    assert rows["gad7"]["status"] == "open"
    assert rows["gad7"]["score"] is None


def test_reading_the_list_is_audited(course, therapist):
    api(therapist).get(administrations_url(course))
    assert AuditEvent.objects.filter(
        action=AuditAction.VIEW, actor=therapist, patient=course.patient, record_id=str(course.pk)
    ).exists()


def test_another_caseload_gets_404_and_no_role_403_and_anonymous_401(course, other_therapist, other_provider, outsider):
    opened(course)
    administration = Administration.objects.filter(course=course).first()
    urls = [
        administrations_url(course),
        f"/api/courses/{course.pk}/responses/",
    ]
    posts = [
        (administrations_url(course), {"instrument": "gad7", "open_from": "2026-03-10", "missed_after": "2026-03-20"}),
        (f"/api/administrations/{administration.pk}/cancel/", {"reason": "not needed"}),
        (
            f"/api/administrations/{administration.pk}/adjust/",
            {
                "target_date": "2026-03-12",
                "open_from": "2026-03-10",
                "due_by": "2026-03-14",
                "missed_after": "2026-03-20",
                "reason": "travel",
            },
        ),
        (f"/api/administrations/{administration.pk}/responses/", {"answers": PHQ9_MODERATE}),
    ]
    for user in (other_therapist, other_provider):
        for url in urls:
            response = api(user).get(url)
            assert response.status_code == 404, url
            assert response.json() == {"detail": "No such record on your caseload.", "errors": {}}
        for url, body in posts:
            assert api(user).post(url, body, format="json").status_code == 404, url
    for url in urls:
        assert api(outsider).get(url).status_code == 403, url
        assert APIClient().get(url).status_code == 401, url
    for url, body in posts:
        assert api(outsider).post(url, body, format="json").status_code == 403, url
        assert APIClient().post(url, body, format="json").status_code == 401, url
    administration.refresh_from_db()
    assert administration.status == AdministrationStatus.OPEN
    assert not Response.objects.exists()


def test_a_malformed_or_unknown_administration_id_is_a_json_404(course, therapist):
    client = api(therapist)
    for url in ("/api/administrations/not-a-uuid/cancel/", f"/api/administrations/{course.pk}/cancel/"):
        response = client.post(url, {"reason": "x"}, format="json")
        assert response.status_code == 404, url
        assert set(response.json()) == {"detail", "errors"}


def test_the_list_queries_do_not_grow_with_the_schedule(course, therapist, django_assert_max_num_queries):
    administration = opened(course)
    services.response_enter(administration=administration, by=therapist, answers=PHQ9_MODERATE)
    client = api(therapist)
    with CaptureQueriesContext(connection) as small:
        assert client.get(administrations_url(course)).status_code == 200
    for instrument in ("phq9", "gad7", "pcl5", "phq9", "gad7"):
        extra = services.administration_add(
            course=course, by=therapist, instrument=instrument, open_from=TODAY, missed_after=TODAY
        )
        services.response_enter(administration=extra, by=therapist, answers={"9": 1} if instrument == "phq9" else {})
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(administrations_url(course))
    assert len(response.json()) == 8


# --- adding, moving, cancelling ---------------------------------------------------------------


def test_a_clinician_adds_a_questionnaire_for_one_course(course, therapist):
    response = api(therapist).post(
        administrations_url(course),
        {"instrument": "gad7", "open_from": "2026-03-12", "missed_after": "2026-03-26"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["timepoint"] == "ad_hoc"
    assert body["instrument"] == "gad7"
    assert body["status"] == "scheduled"
    assert body["target_date"] == body["open_from"] == "2026-03-12"
    assert body["missed_after"] == "2026-03-26"
    assert Administration.objects.get(pk=body["id"]).course == course


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"instrument": "bdi", "open_from": "2026-03-12", "missed_after": "2026-03-26"}, "instrument"),
        ({"instrument": "gad7", "open_from": "2026-03-12"}, "missed_after"),
        ({"instrument": "gad7", "open_from": "12/03/2026", "missed_after": "2026-03-26"}, "open_from"),
        ({"instrument": "gad7", "open_from": "2026-03-20", "missed_after": "2026-03-12"}, "missed_after"),
        ({"instrument": "gad7", "open_from": "2026-03-01", "missed_after": "2026-03-05"}, "missed_after"),
        ({"instrument": "gad7", "open_from": "2026-03-10", "missed_after": "2026-12-31"}, "missed_after"),
    ],
)
def test_adding_with_a_bad_window_is_400_naming_the_field(course, therapist, body, field):
    response = api(therapist).post(administrations_url(course), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Administration.objects.filter(timepoint="ad_hoc").exists()


def test_no_questionnaire_is_added_to_a_closed_course(course, therapist):
    from courses import services as course_services

    course_services.course_change_status(course=course, by=therapist, to_status="discontinued", reason="moved away")
    response = api(therapist).post(
        administrations_url(course),
        {"instrument": "gad7", "open_from": "2026-03-12", "missed_after": "2026-03-26"},
        format="json",
    )
    assert response.status_code == 400
    assert "course" in response.json()["errors"]


def test_moving_a_window_marks_it_adjusted(course, therapist):
    administration = opened(course)
    body = {
        "target_date": "2026-03-20",
        "open_from": "2026-03-15",
        "due_by": "2026-03-22",
        "missed_after": "2026-03-30",
        "reason": "Patient travelling",
    }
    response = api(therapist).post(f"/api/administrations/{administration.pk}/adjust/", body, format="json")
    assert response.status_code == 200
    out = response.json()
    assert out["manually_adjusted"] is True
    assert out["adjustment_reason"] == "Patient travelling"
    assert (out["target_date"], out["open_from"], out["due_by"], out["missed_after"]) == (
        "2026-03-20",
        "2026-03-15",
        "2026-03-22",
        "2026-03-30",
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reason": "  "}, "reason"),
        ({"due_by": "2026-04-30"}, "due_by"),
        ({"target_date": "2026-03-01"}, "target_date"),
        (
            {
                "open_from": "2026-01-01",
                "target_date": "2026-01-02",
                "due_by": "2026-01-03",
                "missed_after": "2026-03-09",
            },
            "missed_after",
        ),
        ({"reason": None}, "reason"),
    ],
)
def test_a_bad_adjustment_is_400_naming_the_field(course, therapist, changes, field):
    administration = opened(course)
    body = {
        "target_date": "2026-03-20",
        "open_from": "2026-03-15",
        "due_by": "2026-03-22",
        "missed_after": "2026-03-30",
        "reason": "Patient travelling",
    } | changes
    response = api(therapist).post(f"/api/administrations/{administration.pk}/adjust/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    administration.refresh_from_db()
    assert administration.manually_adjusted is False


def test_an_answered_questionnaire_cannot_be_moved_or_cancelled(course, therapist):
    administration = opened(course)
    services.response_enter(administration=administration, by=therapist, answers=PHQ9_MODERATE)
    client = api(therapist)
    moved = client.post(
        f"/api/administrations/{administration.pk}/adjust/",
        {
            "target_date": "2026-03-20",
            "open_from": "2026-03-15",
            "due_by": "2026-03-22",
            "missed_after": "2026-03-30",
            "reason": "x",
        },
        format="json",
    )
    assert moved.status_code == 400
    assert "non_field_errors" in moved.json()["errors"]
    cancelled = client.post(f"/api/administrations/{administration.pk}/cancel/", {"reason": "x"}, format="json")
    assert cancelled.status_code == 400
    assert "already completed" in cancelled.json()["errors"]["non_field_errors"][0]


def test_cancelling_needs_a_reason_and_happens_once(course, therapist):
    baseline = opened(course)
    refused = api(therapist).post(f"/api/administrations/{baseline.pk}/cancel/", {"reason": "x"}, format="json")
    assert refused.status_code == 400 and "waive it" in refused.json()["errors"]["non_field_errors"][0]
    administration = ad_hoc(course, therapist)
    url = f"/api/administrations/{administration.pk}/cancel/"
    client = api(therapist)
    blank = client.post(url, {"reason": ""}, format="json")
    assert blank.status_code == 400
    assert "reason" in blank.json()["errors"]
    assert client.post(url, {}, format="json").status_code == 400
    response = client.post(url, {"reason": "Patient declined"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancelled_reason"] == "Patient declined"
    again = client.post(url, {"reason": "again"}, format="json")
    assert again.status_code == 400
    assert "already cancelled" in again.json()["errors"]["non_field_errors"][0]


def test_the_practice_lead_may_cancel_on_any_course(course, lead, therapist):
    administration = ad_hoc(course, therapist)
    response = api(lead).post(
        f"/api/administrations/{administration.pk}/cancel/", {"reason": "duplicate"}, format="json"
    )
    assert response.status_code == 200


# --- clinician entry --------------------------------------------------------------------------


def test_a_clinician_enters_answers_recorded_as_such(course, provider):
    administration = opened(course)
    response = api(provider).post(
        f"/api/administrations/{administration.pk}/responses/",
        {"answers": PHQ9_MODERATE, "answered_at": "2026-03-10T10:30:00-04:00"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["total"] == 11
    assert body["band"] == "Moderate"
    assert body["complete"] is True
    assert body["safety_alert"] is None
    assert body["source"] == "clinician"
    assert body["entered_by"]["username"] == "provider"
    assert body["answers"] == PHQ9_MODERATE
    stored = Response.objects.get(administration=administration)
    assert stored.source == ResponseSource.CLINICIAN
    assert stored.entered_by == provider
    assert stored.answered_at == dt.datetime(2026, 3, 10, 14, 30, tzinfo=dt.UTC)
    administration.refresh_from_db()
    assert administration.status == AdministrationStatus.COMPLETED


def test_a_clinician_may_store_an_incomplete_questionnaire_unscored(course, therapist):
    administration = opened(course)
    answers = {k: v for k, v in PHQ9_MODERATE.items() if k != "3"}
    response = api(therapist).post(
        f"/api/administrations/{administration.pk}/responses/", {"answers": answers}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["complete"] is False
    assert body["total"] is None
    assert body["band"] == ""
    assert body["answers"]["3"] is None


def test_item_9_entered_by_a_clinician_raises_the_alert_even_when_incomplete(
    course, therapist, provider, mailoutbox, django_capture_on_commit_callbacks
):
    administration = opened(course)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(therapist).post(
            f"/api/administrations/{administration.pk}/responses/", {"answers": {"9": 1}}, format="json"
        )
    assert response.status_code == 201
    alert = SafetyAlert.objects.get()
    assert response.json()["safety_alert"] == str(alert.pk)
    assert response.json()["complete"] is False
    assert sorted(m.to[0] for m in mailoutbox if m.subject.startswith("Safety alert")) == [
        provider.email,
        therapist.email,
    ]


def test_clinician_entry_refuses_bad_values_naming_the_item(course, therapist):
    administration = opened(course)
    response = api(therapist).post(
        f"/api/administrations/{administration.pk}/responses/",
        {"answers": PHQ9_MODERATE | {"4": 7}},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["item_4"]
    administration.refresh_from_db()
    assert administration.status == AdministrationStatus.OPEN


def test_clinician_entry_is_refused_twice_in_the_future_and_for_the_lead(course, therapist, lead):
    administration = opened(course)
    url = f"/api/administrations/{administration.pk}/responses/"
    future = api(therapist).post(url, {"answers": PHQ9_MODERATE, "answered_at": "2026-03-11T12:00:00Z"}, format="json")
    assert future.status_code == 400
    assert "answered_at" in future.json()["errors"]
    by_lead = api(lead).post(url, {"answers": PHQ9_MODERATE}, format="json")
    assert by_lead.status_code == 403
    assert api(therapist).post(url, {"answers": PHQ9_MODERATE}, format="json").status_code == 201
    again = api(therapist).post(url, {"answers": PHQ9_MODERATE | {"1": 0}}, format="json")
    assert again.status_code == 400
    assert "first answers are kept" in again.json()["errors"]["non_field_errors"][0]
    assert Response.objects.get().answers["1"] == 2


def test_a_cancelled_questionnaire_takes_no_answers(course, therapist):
    administration = ad_hoc(course, therapist)
    services.administration_cancel(administration=administration, by=therapist, reason="duplicate")
    response = api(therapist).post(
        f"/api/administrations/{administration.pk}/responses/", {"answers": PHQ9_MODERATE}, format="json"
    )
    assert response.status_code == 400
    assert "cancelled" in response.json()["errors"]["non_field_errors"][0]


# --- every response of a course ---------------------------------------------------------------


def test_the_responses_list_has_every_item_score_and_provenance(course, therapist):
    services.tick()
    phq9 = Administration.objects.get(course=course, instrument="phq9")
    pcl5 = Administration.objects.get(course=course, instrument="pcl5")
    services.response_enter(administration=phq9, by=therapist, answers=PHQ9_MODERATE)
    APIClient().post(
        f"/api/self-report/{services.self_report_token(pcl5)}/",
        {"answers": {str(n): 2 for n in range(1, 21)}},
        format="json",
    )
    response = api(therapist).get(f"/api/courses/{course.pk}/responses/")
    assert response.status_code == 200
    rows = {row["instrument"]: row for row in response.json()}
    assert rows["phq9"]["answers"] == PHQ9_MODERATE
    assert rows["phq9"]["source"] == "clinician"
    assert rows["phq9"]["entered_by"]["username"] == "therapist"
    assert rows["phq9"]["timepoint"] == "baseline"
    assert rows["phq9"]["safety_item_value"] == 0
    assert rows["phq9"]["scoring_version"]
    pcl = rows["pcl5"]
    assert pcl["source"] == "self_report"
    assert pcl["entered_by"] is None
    assert pcl["total"] == 40
    assert pcl["clusters"] == {"B": 10, "C": 4, "D": 14, "E": 12}
    assert pcl["provisional_ptsd_cutoff"] is True
    assert pcl["provisional_ptsd_symptom_rule"] is True
    assert pcl["administration"] == str(pcl5.pk)


def test_the_responses_list_queries_do_not_grow(course, therapist, django_assert_max_num_queries):
    opened(course)
    client = api(therapist)
    for administration in Administration.objects.filter(course=course, instrument="phq9"):
        services.response_enter(administration=administration, by=therapist, answers=PHQ9_MODERATE | {"9": 1})
    with CaptureQueriesContext(connection) as small:
        assert client.get(f"/api/courses/{course.pk}/responses/").status_code == 200
    for instrument in ("phq9", "gad7", "pcl5", "phq9"):
        extra = services.administration_add(
            course=course, by=therapist, instrument=instrument, open_from=TODAY, missed_after=TODAY
        )
        services.response_enter(administration=extra, by=therapist, answers={"9": 2} if instrument == "phq9" else {})
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(f"/api/courses/{course.pk}/responses/")
    assert len(response.json()) == 5


def test_staff_send_a_new_link_through_the_api(
    course, therapist, other_therapist, clock, django_capture_on_commit_callbacks
):
    from measures.models import MessageKind, OutboundMessage

    administration = opened(course)
    url = f"/api/administrations/{administration.pk}/new-link/"
    assert api(other_therapist).post(url).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = api(therapist).post(url)
    assert response.status_code == 200
    assert OutboundMessage.objects.filter(administration=administration, kind=MessageKind.NEW_LINK).count() == 1
    services.response_enter(administration=administration, by=therapist, answers=PHQ9_MODERATE)
    refused = api(therapist).post(url)
    assert refused.status_code == 400 and "open questionnaire" in refused.json()["errors"]["non_field_errors"][0]
