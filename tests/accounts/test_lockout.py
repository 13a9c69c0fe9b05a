"""Failed sign-ins lock a username from one address, and an address over all usernames; never a
named member of staff everywhere (issue 13, finding 4). Web login, API token and second factor
share the one count (accounts/lockout.py)."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.lockout import client_address
from accounts.models import Role, User
from devtools.builders import PASSWORD

pytestmark = pytest.mark.django_db

STRANGER = "203.0.113.5"
CLINIC = "198.51.100.7"


def web_login(client, username, password, address):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def api_token(username, password, address, **extra):
    return APIClient().post(
        "/api/auth/token/", {"username": username, "password": password}, format="json", REMOTE_ADDR=address, **extra
    )


def test_a_stranger_cannot_lock_the_lead_out_of_the_clinic(client, lead, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert web_login(client, "lead", "wrong", STRANGER).status_code in (200, 429)
    from_stranger = web_login(client, "lead", PASSWORD, STRANGER)
    assert from_stranger.status_code == 429
    text = from_stranger.content.decode()
    assert "locked for 15 minutes" in text and f"({settings.AXES_FAILURE_LIMIT} within 15 minutes)" in text
    assert from_stranger["Retry-After"] == "900"

    from_clinic = web_login(Client(), "lead", PASSWORD, CLINIC)
    # The password is accepted: on to the second factor, not the lockout page.
    assert from_clinic.status_code == 302 and from_clinic["Location"] == reverse("home")


def test_the_proxys_address_counts_not_the_one_the_client_claims(client, therapist, settings):
    settings.TRUST_X_FORWARDED_FOR = True
    proxy = "10.0.0.2"
    for claimed in range(settings.AXES_FAILURE_LIMIT):
        # Whatever the client puts on the left, the proxy appends the address it saw.
        client.post(
            reverse("login"),
            {"username": "therapist", "password": "wrong"},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{claimed}, {STRANGER}",
        )
    locked = client.post(
        reverse("login"),
        {"username": "therapist", "password": PASSWORD},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR=f"192.0.2.99, {STRANGER}",
    )
    assert locked.status_code == 429
    elsewhere = Client().post(
        reverse("login"),
        {"username": "therapist", "password": PASSWORD},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR=CLINIC,
    )
    assert elsewhere.status_code == 302 and elsewhere["Location"] == reverse("home")


def test_password_spraying_from_one_address_is_stopped(client, therapist, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 8
    for n in range(8):
        # One guess at each of many usernames: no single username reaches its limit.
        response = web_login(client, f"guess{n}", "Spring2026!", STRANGER)
    assert response.status_code == 429
    assert "from this network address (8 within 15 minutes, over all usernames)" in response.content.decode()
    # A real colleague at that address now waits too (the cost of a shared address) ...
    assert web_login(Client(), "therapist", PASSWORD, STRANGER).status_code == 429
    # ... but not from anywhere else.
    assert web_login(Client(), "therapist", PASSWORD, CLINIC).status_code == 302


def test_the_api_token_endpoint_follows_the_same_rules(therapist, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 8
    for _ in range(settings.AXES_FAILURE_LIMIT):
        api_token("therapist", "wrong", STRANGER)
    locked = api_token("therapist", PASSWORD, STRANGER)
    assert locked.status_code == 429 and "locked" in locked.json()["detail"]
    assert "token" not in locked.json()
    assert api_token("therapist", PASSWORD, CLINIC).status_code == 200

    other = "192.0.2.44"
    for n in range(8):
        last = api_token(f"guess{n}", "Spring2026!", other)
    assert last.status_code == 429
    refused = api_token("therapist", PASSWORD, other)
    assert refused.status_code == 429 and "token" not in refused.json()
    # The web login and the API share the count: the address is paused on the login page too.
    assert web_login(Client(), "therapist", PASSWORD, other).status_code == 429


def test_web_and_api_failures_add_up(therapist, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 2):
        api_token("therapist", "wrong", STRANGER)
    web_login(Client(), "therapist", "wrong", STRANGER)
    web_login(Client(), "therapist", "wrong", STRANGER)
    assert web_login(Client(), "therapist", PASSWORD, STRANGER).status_code == 429


def test_a_full_sign_in_forgives_that_usernames_failures_from_there(client, therapist, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        web_login(client, "therapist", "wrong", CLINIC)
    assert web_login(client, "therapist", PASSWORD, CLINIC).status_code == 302
    client.post(reverse("logout"), REMOTE_ADDR=CLINIC)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        web_login(client, "therapist", "wrong", CLINIC)
    assert web_login(client, "therapist", PASSWORD, CLINIC).status_code == 302


def test_failed_logins_write_no_password_or_name_to_the_lockout_page(client, db):
    User.objects.create_user(username="third", password=PASSWORD, role=Role.THERAPIST)
    for _ in range(5):
        web_login(client, "third", "hunter2-secret", STRANGER)
    page = web_login(client, "third", "hunter2-secret", STRANGER).content.decode()
    assert "hunter2-secret" not in page


@pytest.mark.parametrize(
    ("remote", "counted"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::"),
    ],
)
def test_an_ipv6_client_counts_by_its_64(rf, remote, counted):
    assert client_address(rf.get("/", REMOTE_ADDR=remote)) == counted
