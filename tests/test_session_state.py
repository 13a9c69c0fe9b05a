"""The page script's view of the session (courses/web/views/session.py): signed in or not, for how
long, and a fresh CSRF token; never cached, nothing about any record, GET only."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_signed_out_it_says_so_and_nothing_else(client):
    response = client.get(reverse("session-state"))
    assert response.status_code == 200 and response.json() == {"signed_in": False}
    assert "no-store" in response["Cache-Control"]


def test_signed_in_it_gives_the_idle_time_and_a_token_that_posts_a_form(client, therapist, settings):
    settings.SESSION_COOKIE_AGE = 1800
    client.force_login(therapist)
    state = client.get(reverse("session-state")).json()
    assert state["signed_in"] is True and state["idle_seconds"] == 1800
    assert set(state) == {"signed_in", "idle_seconds", "csrf_token"}

    strict = type(client)(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    token = strict.get(reverse("session-state")).json()["csrf_token"]
    assert strict.post(reverse("logout"), {"csrfmiddlewaretoken": token}).status_code == 302
    assert strict.post(reverse("logout"), {"csrfmiddlewaretoken": "x" * 64}).status_code == 403


def test_only_get(client, therapist):
    client.force_login(therapist)
    assert client.post(reverse("session-state")).status_code == 405


def test_every_staff_page_carries_the_idle_time_for_the_script(client, therapist, settings):
    settings.SESSION_COOKIE_AGE = 1800
    html = client.get(reverse("login")).content.decode()
    assert "data-session-idle" not in html and "js/session.js" not in html  # signed out: no timer
    client.force_login(therapist)
    html = client.get(reverse("caseload")).content.decode()
    assert 'data-session-idle="1800"' in html and "js/session.js" in html
