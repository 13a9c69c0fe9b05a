"""The patient's self-report link through the API: no sign-in, one step, single use, never a 500."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from courses.models import AuditAction, AuditEvent
from measures import services
from measures.models import (
    Administration,
    AdministrationStatus,
    MessageKind,
    OutboundMessage,
    Response,
    ResponseSource,
    SafetyAlert,
)

pytestmark = pytest.mark.django_db

PHQ9_MILD = {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1, "6": 1, "7": 0, "8": 0, "9": 0}  # total 6, mild


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def opened(course, instrument: str = "phq9") -> Administration:
    """Run the tick so the course's baseline opens, and return one of its administrations."""
    services.tick()
    return Administration.objects.get(course=course, instrument=instrument, timepoint="baseline")


def link(administration) -> str:
    return f"/api/self-report/{services.self_report_token(administration)}/"


def answers_with(**items) -> dict:
    return PHQ9_MILD | {k.removeprefix("item_"): v for k, v in items.items()}


# --- reading the form -------------------------------------------------------------------------


def test_the_form_shows_the_instrument_and_the_first_name_only(course):
    response = APIClient().get(link(opened(course)))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"clinic", "first_name", "instrument"}
    assert body["first_name"] == "Alice"
    assert body["clinic"] == "Demo KAP Practice"
    instrument = body["instrument"]
    assert set(instrument) == {"code", "name", "title", "stem", "recall", "items", "options"}
    assert instrument["code"] == "phq9"
    assert instrument["name"] == "PHQ-9"
    assert instrument["recall"] == "the last 2 weeks"
    assert [i["number"] for i in instrument["items"]] == list(range(1, 10))
    assert instrument["items"][8]["text"].startswith("Thoughts that you would be better off dead")
    assert instrument["options"] == [
        {"value": 0, "label": "Not at all"},
        {"value": 1, "label": "Several days"},
        {"value": 2, "label": "More than half the days"},
        {"value": 3, "label": "Nearly every day"},
    ]
    text = response.content.decode()
    assert "Testpatient" not in text and "TEST-0001" not in text and "alice.testpatient" not in text


def test_the_form_is_never_cached_and_leaks_no_referrer(course):
    response = APIClient().get(link(opened(course)))
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"


def test_opening_the_link_is_audited_without_an_actor(course):
    administration = opened(course)
    APIClient().get(link(administration), REMOTE_ADDR="10.0.0.9")
    row = AuditEvent.objects.filter(action=AuditAction.VIEW, record_id=str(administration.pk)).get()
    assert row.actor is None
    assert row.patient_id == course.patient_id
    assert row.detail == "self-report link opened via API"
    assert row.ip_address == "10.0.0.9"


def test_the_pcl5_form_has_twenty_items_and_five_options(course):
    body = APIClient().get(link(opened(course, "pcl5"))).json()
    assert len(body["instrument"]["items"]) == 20
    assert [o["value"] for o in body["instrument"]["options"]] == [0, 1, 2, 3, 4]
    assert body["instrument"]["recall"] == "the past month"


def test_a_signed_in_session_is_not_needed_nor_used(course, therapist):
    # Staff credentials on the request change nothing: the link is the only credential.
    administration = opened(course)
    response = api(therapist).post(link(administration), {"answers": PHQ9_MILD}, format="json")
    assert response.status_code == 201
    assert Response.objects.get(administration=administration).entered_by is None


# --- submitting -------------------------------------------------------------------------------


def test_answers_are_scored_and_stored_item_by_item(course):
    administration = opened(course)
    response = APIClient().post(link(administration), {"answers": PHQ9_MILD}, format="json")
    assert response.status_code == 201
    assert response.json() == {
        "instrument": "phq9",
        "complete": True,
        "total": 6,
        "band": "Mild",
        "safety_alert": False,
    }
    assert "no-store" in response["Cache-Control"]
    stored = Response.objects.get(administration=administration)
    assert stored.answers == PHQ9_MILD
    assert stored.source == ResponseSource.SELF_REPORT
    assert stored.entered_by is None
    assert stored.scoring_version
    administration.refresh_from_db()
    assert administration.status == AdministrationStatus.COMPLETED
    assert not SafetyAlert.objects.exists()


def test_string_values_from_a_form_post_are_accepted(course):
    administration = opened(course, "gad7")
    answers = {str(n): "3" for n in range(1, 8)}
    response = APIClient().post(link(administration), {"answers": answers}, format="json")
    assert response.status_code == 201
    assert response.json()["total"] == 21
    assert response.json()["band"] == "Severe"


def test_a_pcl5_at_the_cutoff_is_banded_as_provisional_ptsd(course):
    administration = opened(course, "pcl5")
    answers = {str(n): 2 for n in range(1, 21)}  # 40, every cluster met
    body = APIClient().post(link(administration), {"answers": answers}, format="json").json()
    assert body["total"] == 40
    assert body["band"] == "Above provisional PTSD cut-off"
    stored = Response.objects.get(administration=administration)
    assert stored.clusters == {"B": 10, "C": 4, "D": 14, "E": 12}
    assert stored.provisional_ptsd_symptom_rule is True


def test_item_9_above_zero_alerts_the_therapist_and_the_provider(
    course, therapist, provider, other_therapist, mailoutbox, django_capture_on_commit_callbacks
):
    administration = opened(course)
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post(link(administration), {"answers": answers_with(item_9=2)}, format="json")
    assert response.status_code == 201
    assert response.json()["safety_alert"] is True
    assert response.json()["total"] == 8

    alert = SafetyAlert.objects.get()
    assert alert.item_value == 2
    assert alert.course == course
    assert alert.acknowledged_at is None
    alert_mail = [m for m in mailoutbox if m.subject.startswith("Safety alert")]
    assert sorted(m.to[0] for m in alert_mail) == [provider.email, therapist.email]
    for mail in alert_mail:
        # The mail names no patient: the clinician signs in to see who.
        assert "Alice" not in mail.body and "Testpatient" not in mail.body
    assert OutboundMessage.objects.filter(kind=MessageKind.SAFETY_ALERT, status="sent").count() == 2

    listed = api(therapist).get("/api/safety-alerts/").json()["results"]
    assert [a["id"] for a in listed] == [str(alert.pk)]
    assert listed[0]["course"] == str(course.pk)
    assert api(provider).get("/api/safety-alerts/").json()["count"] == 1
    assert api(other_therapist).get("/api/safety-alerts/").json()["results"] == []


def test_item_9_at_zero_raises_no_alert(course):
    response = APIClient().post(link(opened(course)), {"answers": answers_with(item_9=0)}, format="json")
    assert response.json()["safety_alert"] is False
    assert not SafetyAlert.objects.exists()


# --- links that cannot be used ----------------------------------------------------------------


def test_a_second_submission_is_410_used_and_keeps_the_first_answers(course):
    administration = opened(course)
    url = link(administration)
    assert APIClient().post(url, {"answers": PHQ9_MILD}, format="json").status_code == 201
    again = APIClient().post(url, {"answers": answers_with(item_1=3, item_9=3)}, format="json")
    assert again.status_code == 410
    body = again.json()
    assert body["reason"] == "used"
    assert body["errors"] == {}
    assert "already been received" in body["detail"]
    stored = Response.objects.get(administration=administration)
    assert stored.answers == PHQ9_MILD
    assert stored.total == 6
    assert not SafetyAlert.objects.exists()
    assert APIClient().get(url).json()["reason"] == "used"


def test_a_tampered_token_is_404_invalid(course):
    token = services.self_report_token(opened(course))
    for bad in (token[:-2] + ("aa" if not token.endswith("aa") else "bb"), "not-a-token", token + "x"):
        for method in ("get", "post"):
            response = getattr(APIClient(), method)(
                f"/api/self-report/{bad}/", {"answers": PHQ9_MILD} if method == "post" else None, format="json"
            )
            assert response.status_code == 404, (bad, method)
            body = response.json()
            assert body["reason"] == "invalid"
            assert "new one" in body["detail"]
            assert "no-store" in response["Cache-Control"]
    assert not Response.objects.exists()


def test_a_link_for_a_reopened_nonce_is_invalid(course):
    administration = opened(course)
    url = link(administration)
    Administration.objects.filter(pk=administration.pk).update(link_nonce="0" * 32)
    assert APIClient().get(url).json()["reason"] == "invalid"


def test_an_expired_link_is_410_expired(course, clock):
    administration = opened(course)
    url = link(administration)
    clock.shift(dt.timedelta(days=8))
    for response in (APIClient().get(url), APIClient().post(url, {"answers": PHQ9_MILD}, format="json")):
        assert response.status_code == 410
        assert response.json()["reason"] == "expired"
        assert "ask for a new link" in response.json()["detail"]
    assert not Response.objects.exists()


def test_a_link_to_a_waived_questionnaire_is_410_closed(course, therapist):
    administration = opened(course)
    services.administration_waive(administration=administration, by=therapist, reason="Answered on paper in clinic.")
    response = APIClient().post(link(administration), {"answers": PHQ9_MILD}, format="json")
    assert response.status_code == 410
    assert response.json()["reason"] == "closed"


def test_a_link_answered_by_the_clinician_meanwhile_is_410_used(course, therapist):
    administration = opened(course)
    services.response_enter(administration=administration, by=therapist, answers=PHQ9_MILD)
    assert APIClient().get(link(administration)).json()["reason"] == "used"


# --- answers of the wrong shape ---------------------------------------------------------------


def test_an_incomplete_questionnaire_is_refused_naming_each_missing_item(course):
    administration = opened(course)
    answers = {k: v for k, v in PHQ9_MILD.items() if k not in ("4", "9")} | {"6": None}
    response = APIClient().post(link(administration), {"answers": answers}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"item_4", "item_6", "item_9"}
    assert errors["item_9"] == ["Please answer this question."]
    assert not Response.objects.exists()
    administration.refresh_from_db()
    assert administration.status == AdministrationStatus.OPEN
    # The link still works: the patient can finish the form.
    assert APIClient().post(link(administration), {"answers": PHQ9_MILD}, format="json").status_code == 201


def test_missing_and_out_of_range_items_are_named_together(course):
    answers = {k: v for k, v in PHQ9_MILD.items() if k != "2"} | {"5": 4}
    response = APIClient().post(link(opened(course)), {"answers": answers}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"item_2", "item_5"}


@pytest.mark.parametrize(
    ("item", "value"),
    [("item_3", 4), ("item_3", -1), ("item_9", "often"), ("item_1", True), ("item_7", [1]), ("item_2", 1.5)],
)
def test_an_out_of_range_answer_is_400_naming_the_item(course, item, value):
    administration = opened(course)
    response = APIClient().post(link(administration), {"answers": answers_with(**{item: value})}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert list(body["errors"]) == [item]
    assert not Response.objects.exists()
    administration.refresh_from_db()
    assert administration.status == AdministrationStatus.OPEN


def test_an_item_the_instrument_lacks_is_named(course):
    response = APIClient().post(link(opened(course)), {"answers": PHQ9_MILD | {"10": 1}}, format="json")
    assert response.status_code == 400
    assert "10" in response.json()["errors"]


@pytest.mark.parametrize(
    "body", [{}, {"answers": [0, 1, 2]}, {"answers": "0,1,2"}, {"answers": {str(n): 0 for n in range(60)}}]
)
def test_answers_that_are_not_a_mapping_are_400(course, body):
    response = APIClient().post(link(opened(course)), body, format="json")
    assert response.status_code == 400
    assert "answers" in response.json()["errors"]


def test_a_used_link_says_used_even_with_bad_answers(course):
    administration = opened(course)
    APIClient().post(link(administration), {"answers": PHQ9_MILD}, format="json")
    response = APIClient().post(link(administration), {"answers": {"1": 9}}, format="json")
    assert response.status_code == 410
    assert response.json()["reason"] == "used"


def test_the_schema_documents_the_link_without_sign_in_and_its_refusals(therapist):
    import yaml

    schema = yaml.safe_load(api(therapist).get("/api/schema/").content)
    path = schema["paths"]["/api/self-report/{token}/"]
    assert set(path["get"]["responses"]) == {"200", "404", "410", "429"}
    assert set(path["post"]["responses"]) == {"201", "400", "404", "410", "429"}
    staff = schema["paths"]["/api/courses/{course_id}/administrations/"]["get"]
    assert staff["security"]
    for method in ("get", "post"):
        assert path[method].get("security", []) in ([], [{}])
