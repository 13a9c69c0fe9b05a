"""The patient's self-report page: no login, one step, every problem link answered clearly."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from courses.models import AuditEvent
from measures import services
from measures.models import AdministrationStatus, Response, ResponseSource, SafetyAlert
from tests.measures.web_helpers import answers, link, open_administrations


@pytest.fixture
def phq9(course):
    return open_administrations(course)["phq9"]


def test_it_shows_only_the_first_name_and_the_instrument(client, phq9):
    response = client.get(link(phq9))
    text = response.content.decode()
    assert response.status_code == 200
    assert "Hello Alice," in text and "Testpatient" not in text and "TEST-0001" not in text
    assert "Patient Health Questionnaire (PHQ-9)" in text and "Over the last 2 weeks" in text
    assert text.count("<fieldset") == 9 and text.count('type="radio"') == 36
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    title = text.split("<title>")[1].split("</title>")[0]
    assert "Alice" not in title and "PHQ-9" in title
    assert 'href="/worklist/"' not in text and "Sign out" not in text  # no staff navigation
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"


def test_opening_the_link_is_audited_without_an_actor(client, phq9):
    client.get(link(phq9))
    event = AuditEvent.objects.get(detail="self-report link opened")
    assert event.actor is None and event.action == "view" and event.record_id == str(phq9.pk)
    assert event.patient_id == phq9.course.patient_id


def test_it_saves_the_answers_in_one_step_and_thanks_the_patient(client, phq9):
    response = client.post(link(phq9), answers(9, 1, item_9=0))
    text = response.content.decode()
    assert response.status_code == 200 and "Thank you, Alice." in text
    assert "988" not in text  # no crisis block when item 9 is 0
    stored = Response.objects.get(administration=phq9)
    assert stored.source == ResponseSource.SELF_REPORT and stored.entered_by is None
    assert stored.total == 8 and stored.band == "Mild"
    assert stored.answers == {str(n): (0 if n == 9 else 1) for n in range(1, 10)}
    phq9.refresh_from_db()
    assert phq9.status == AdministrationStatus.COMPLETED
    assert response["Cache-Control"] == "no-store"


def test_a_browser_post_with_origin_null_is_accepted(phq9):
    # Under `Referrer-Policy: no-referrer` browsers send `Origin: null`; the link is the authority.
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(link(phq9), answers(9, 0), HTTP_ORIGIN="null")
    assert response.status_code == 200 and "Thank you" in response.content.decode()


def test_item_9_above_0_shows_crisis_resources_and_raises_the_alert(client, phq9):
    text = client.post(link(phq9), answers(9, 0, item_9=2)).content.decode()
    assert 'href="tel:988"' in text and 'href="sms:988"' in text and 'href="tel:911"' in text
    alert = SafetyAlert.objects.get(course=phq9.course)
    assert alert.item_value == 2 and alert.acknowledged_at is None


def test_a_missing_item_is_flagged_next_to_it_and_the_other_answers_are_kept(client, phq9):
    data = answers(9, 2)
    del data["item_4"]
    response = client.post(link(phq9), data)
    text = response.content.decode()
    assert response.status_code == 400
    assert 'id="q-4-error"' in text and "Please choose an answer for this question." in text
    assert 'href="#q-4"' in text and "Your other answers are kept." in text
    assert text.count("checked") == 8  # the eight answers given stay chosen
    assert not Response.objects.filter(administration=phq9).exists()  # nothing partial stored
    phq9.refresh_from_db()
    assert phq9.status == AdministrationStatus.OPEN


def test_a_tampered_link_is_not_valid_404(client, phq9):
    url = link(phq9)
    token = url.split("/")[2]
    position = len(token) - 10
    tampered = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
    response = client.get(reverse("self-report", args=[tampered]))
    text = response.content.decode()
    assert response.status_code == 404 and "This link is not valid" in text and "contact your care team" in text
    assert response["Referrer-Policy"] == "no-referrer"
    assert client.get("/r/not-a-token-at-all/").status_code == 404


def test_an_expired_link_says_ask_for_a_new_one_410(client, phq9, clock):
    url = link(phq9)
    clock.shift(dt.timedelta(days=8))
    response = client.get(url)
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert "ask your care team for a new link" in response.content.decode()
    assert client.post(url, answers(9)).status_code == 410
    assert not Response.objects.exists()


def test_a_used_link_is_refused_and_the_first_answers_are_kept(client, phq9):
    url = link(phq9)
    assert client.post(url, answers(9, 1, item_9=0)).status_code == 200
    second = client.post(url, answers(9, 3))
    assert second.status_code == 410
    assert "we already have your answers" in second.content.decode()
    stored = Response.objects.get(administration=phq9)
    assert stored.total == 8
    assert client.get(url).status_code == 410


def test_a_closed_questionnaire_says_the_window_has_closed_410(client, phq9, therapist):
    url = link(phq9)
    services.administration_waive(administration=phq9, by=therapist, reason="Patient asked to pause")
    response = client.get(url)
    assert response.status_code == 410
    assert "This questionnaire is closed" in response.content.decode()
    assert "contact your care team" in response.content.decode()


def test_an_out_of_range_answer_is_refused_on_the_page(client, phq9):
    response = client.post(link(phq9), answers(9, 1, item_2=7))
    assert response.status_code == 400
    assert 'id="q-2-error"' in response.content.decode()
    assert not Response.objects.exists()
