"""API tokens: stored as digests, expiring, revocable, listed without their keys, and behind the
second factor where the account has one (accounts/tokens.py, courses/api/views/auth.py)."""

import datetime as dt
import hashlib

import pytest
from django.db import connection
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token as OldToken
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tokens import token_issue
from courses.models import AuditEvent
from devtools.builders import PASSWORD

pytestmark = pytest.mark.django_db


def _sign_in(username, **extra):
    return APIClient().post("/api/auth/token/", {"username": username, "password": PASSWORD, **extra}, format="json")


def _client(key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_the_database_holds_a_digest_of_the_key_never_the_key(therapist):
    response = _sign_in("therapist")
    assert response.status_code == 200, response.content
    key = response.json()["token"]
    assert len(key) == 64
    row = ApiToken.objects.get(user=therapist)
    assert row.digest == hashlib.sha512(key.encode()).hexdigest()
    # Not in any column of the table, read back as the database stores it.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
        stored = " ".join(str(value) for value in cursor.fetchone())
    assert key not in stored
    assert _client(key).get("/api/courses/").status_code == 200
    assert AuditEvent.objects.filter(record_type="API token", actor=therapist, detail__startswith="issued").exists()


def test_a_token_expires_after_the_configured_hours_and_is_kept(therapist, settings):
    assert settings.API_TOKEN_TTL_HOURS == 10
    response = _sign_in("therapist")
    expiry = dt.datetime.fromisoformat(response.json()["expiry"])
    assert dt.timedelta(hours=9, minutes=59) < expiry - timezone.now() <= dt.timedelta(hours=10)

    old, key = token_issue(user=therapist, now=timezone.now() - dt.timedelta(hours=10, seconds=1))
    refused = _client(key).get("/api/courses/")
    assert refused.status_code == 401
    assert "expired" in refused.json()["detail"]
    # Refused, not deleted: the history stays whole.
    assert ApiToken.objects.filter(pk=old.pk).exists()

    fresh, key = token_issue(user=therapist, now=timezone.now() - dt.timedelta(hours=9, minutes=59))
    assert _client(key).get("/api/courses/").status_code == 200


def test_logout_revokes_the_current_token_only(therapist):
    first = _sign_in("therapist").json()["token"]
    second = _sign_in("therapist").json()["token"]
    answer = _client(first).post("/api/auth/logout/")
    assert answer.status_code == 200 and answer.json() == {"revoked": 1}
    refused = _client(first).get("/api/courses/")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert _client(second).get("/api/courses/").status_code == 200
    assert ApiToken.objects.filter(user=therapist).count() == 2
    assert ApiToken.objects.filter(user=therapist, revoked_at__isnull=False).count() == 1


def test_logout_all_revokes_every_token_of_the_caller_and_no_one_elses(therapist, provider):
    mine = [_sign_in("therapist").json()["token"] for _ in range(3)]
    theirs = _sign_in("provider").json()["token"]
    answer = _client(mine[0]).post("/api/auth/logout-all/")
    assert answer.json() == {"revoked": 3}
    assert all(_client(key).get("/api/courses/").status_code == 401 for key in mine)
    assert _client(theirs).get("/api/courses/").status_code == 200


def test_logout_needs_the_token_itself(therapist):
    client = APIClient()
    client.force_login(therapist)
    assert client.post("/api/auth/logout/").status_code == 401


def test_the_list_shows_dates_and_never_a_key(therapist):
    first = _sign_in("therapist").json()["token"]
    second = _sign_in("therapist").json()["token"]
    _client(first).post("/api/auth/logout/")
    listed = _client(second).get("/api/auth/tokens/")
    assert listed.status_code == 200
    rows = listed.json()
    assert [sorted(row) for row in rows] == [["created", "current", "expiry", "live", "revoked_at"]] * 2
    assert [(row["current"], row["live"], row["revoked_at"] is None) for row in rows] == [
        (True, True, True),
        (False, False, False),
    ]
    assert first not in listed.content.decode() and second not in listed.content.decode()


def test_a_token_from_before_the_upgrade_no_longer_works(therapist):
    old = OldToken.objects.create(user=therapist)
    refused = _client(old.key).get("/api/courses/")
    assert refused.status_code == 401
    assert "POST /api/auth/token/" in refused.json()["detail"]
    assert OldToken.objects.filter(pk=old.pk).exists()


def test_a_deactivated_member_of_staff_loses_api_access_at_once(therapist):
    key = _sign_in("therapist").json()["token"]
    therapist.is_active = False
    therapist.save()
    assert _client(key).get("/api/courses/").status_code == 401


# --- the second factor --------------------------------------------------------------------------


def _enrol(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def _code(device, offset: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


def test_a_lead_gets_a_token_only_with_the_code_from_the_app(lead):
    device = _enrol(lead)
    missing = _sign_in("lead")
    assert missing.status_code == 400
    assert list(missing.json()["errors"]) == ["otp"]
    wrong = _sign_in("lead", otp="000000" if _code(device) != "000000" else "111111")
    assert wrong.status_code == 400 and "wrong" in wrong.json()["errors"]["otp"][0]
    assert not ApiToken.objects.filter(user=lead).exists()
    # django-otp's own back-off refuses any code for a second after a wrong one; let it pass.
    device.refresh_from_db()
    device.throttle_reset()
    right = _sign_in("lead", otp=_code(device))
    assert right.status_code == 200, right.content
    assert _client(right.json()["token"]).get("/api/settings/").status_code == 200
    # A code works once: the same one again gets no second token.
    assert _sign_in("lead", otp=_code(device)).status_code == 400


def test_a_lead_without_an_enrolled_app_is_told_to_enrol_first(lead):
    response = _sign_in("lead", otp="123456")
    assert response.status_code == 400
    assert "set up" in response.json()["errors"]["otp"][0]


def test_a_therapist_who_enrolled_must_give_the_code_too(therapist):
    device = _enrol(therapist)
    assert _sign_in("therapist").status_code == 400
    assert _sign_in("therapist", otp=_code(device)).status_code == 200


def test_the_schema_documents_the_token_endpoints(client, therapist):
    client.force_login(therapist)
    paths = client.get("/api/schema/?format=json").json()["paths"]
    token = paths["/api/auth/token/"]["post"]
    body = token["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    schema = client.get("/api/schema/?format=json").json()["components"]["schemas"]
    assert "otp" in schema[body]["properties"]
    issued = token["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema[issued]["properties"]) == {"token", "expiry"}
    assert "post" in paths["/api/auth/logout/"]
    assert "post" in paths["/api/auth/logout-all/"]
    assert "get" in paths["/api/auth/tokens/"]


def test_a_new_password_or_a_deactivation_ends_every_token(therapist, lead, client, mailoutbox):
    """Found by review: a token outlived a password reset, and came back with a reactivation."""
    from courses import services

    _, before_reset = token_issue(user=therapist)
    _, other = token_issue(user=therapist)
    assert _client(before_reset).get("/api/courses/").status_code == 200
    therapist.set_password("a-new-long-enough-passphrase-7")
    therapist.save()
    assert _client(before_reset).get("/api/courses/").status_code == 401
    assert _client(other).get("/api/courses/").status_code == 401
    assert AuditEvent.objects.filter(record_type="API token", detail="2 revoked (password changed)").exists()

    _, before_deactivation = token_issue(user=therapist)
    services.staff_set_active(by=lead, user=therapist, active=False)
    services.staff_set_active(by=lead, user=therapist, active=True)
    assert _client(before_deactivation).get("/api/courses/").status_code == 401
    # Saving with nothing changed ends nothing.
    _, fresh = token_issue(user=therapist)
    therapist.first_name = "Renamed"
    therapist.save()
    assert _client(fresh).get("/api/courses/").status_code == 200
