"""The second factor for staff (issue 13, finding 6): TOTP with recovery codes, required for
practice leads and superusers, switchable on for everyone, and asked before any staff page,
the admin or the session API opens. These tests sign in through the login page (a real request):
client.force_login stands for a finished sign-in (tests/conftest.py)."""

import re

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import lockout, mfa
from accounts.models import User
from courses.models import AuditEvent
from devtools.builders import PASSWORD
from tests.otp import code_at, enrolled, next_code

pytestmark = pytest.mark.django_db

CODE_PAGE = reverse("second-factor")
ENROL_PAGE = reverse("second-factor-enrol")


def sign_in(client, username):
    return client.post(reverse("login"), {"username": username, "password": PASSWORD})


def second_factor_events(user):
    return list(AuditEvent.objects.filter(actor=user, record_type="second factor").values_list("detail", flat=True))


def secret_on(page: str) -> str:
    return re.search(r'data-secret="([A-Z2-7]+)"', page).group(1)


def enrol_through_the_page(client, user) -> list[str]:
    page = client.get(ENROL_PAGE).content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert secret_on(page)
    response = client.post(ENROL_PAGE, {"code": next_code(device)})
    assert response.status_code == 200
    return re.findall(r"<code>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})</code>", response.content.decode())


# --- who must give one --------------------------------------------------------------------------


def test_leads_and_superusers_must_others_may(lead, therapist, provider, settings):
    superuser = User.objects.create_superuser("root", "root@kapclinic.invalid", PASSWORD)
    assert mfa.second_factor_required(lead) and mfa.second_factor_required(superuser)
    assert not mfa.second_factor_required(therapist) and not mfa.second_factor_required(provider)
    enrolled(therapist)
    assert mfa.second_factor_required(therapist)  # enrolled of their own accord: asked from then on
    settings.MFA_REQUIRED_FOR_ALL = True
    assert mfa.second_factor_required(provider)


def test_a_therapist_without_a_device_signs_in_with_the_password(client, therapist):
    response = sign_in(client, "therapist")
    assert response["Location"] == reverse("home")
    assert client.get(reverse("caseload")).status_code == 200


def test_with_mfa_for_all_a_therapist_enrols_before_anything_else(client, therapist, settings):
    settings.MFA_REQUIRED_FOR_ALL = True
    sign_in(client, "therapist")
    response = client.get(reverse("caseload"))
    assert response.status_code == 302 and response["Location"].startswith(CODE_PAGE)
    assert client.get(response["Location"])["Location"].startswith(ENROL_PAGE)


# --- enrolment ------------------------------------------------------------------------------------


def test_a_lead_enrols_at_first_sign_in_and_gets_ten_recovery_codes(client, lead):
    response = sign_in(client, "lead")
    assert response.status_code == 302
    landing = client.get(response["Location"])
    assert landing.status_code == 302 and landing["Location"].startswith(CODE_PAGE)
    to_enrol = client.get(landing["Location"])
    assert to_enrol["Location"].startswith(ENROL_PAGE)
    page = client.get(ENROL_PAGE).content.decode()
    assert "<svg" in page and "otpauth" not in page.split("<svg")[0]  # the QR is drawn here, inline
    assert "http" not in re.search(r"<svg.*?</svg>", page, re.S).group(0).replace("http://www.w3.org", "")

    wrong = client.post(ENROL_PAGE, {"code": "000000"})
    assert wrong.status_code == 400 and "Code: not the one the app shows now" in wrong.content.decode()
    codes = enrol_through_the_page(client, lead)
    assert len(codes) == mfa.RECOVERY_CODE_COUNT == len(set(codes))
    assert client.get(reverse("lead-dashboard")).status_code == 200
    assert "second factor enrolled (authenticator app)" in second_factor_events(lead)
    # Stored as hashes: the database does not give the codes away.
    stored = set(StaticToken.objects.filter(device__user=lead).values_list("token", flat=True))
    assert len(stored) == 10 and not stored & {c.replace("-", "") for c in codes} and not stored & set(codes)


def test_a_password_alone_cannot_replace_the_phone(client, lead):
    enrolled(lead)
    sign_in(client, "lead")
    response = client.get(ENROL_PAGE)
    assert response.status_code == 302 and response["Location"].startswith(CODE_PAGE)
    assert client.post(ENROL_PAGE, {"code": "123456"})["Location"].startswith(CODE_PAGE)
    assert TOTPDevice.objects.filter(user=lead).count() == 1


# --- what a pending session reaches ---------------------------------------------------------------


def test_a_pending_session_reaches_no_page_admin_or_api(client, lead):
    enrolled(lead)
    sign_in(client, "lead")
    for path in (reverse("lead-dashboard"), reverse("patient-list"), reverse("staff"), "/admin/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith(CODE_PAGE), path
    api = client.get("/api/patients/")
    assert api.status_code == 403
    assert api.json()["detail"].startswith("Second factor required")
    assert client.post("/api/patients/", {}, content_type="application/json").status_code == 403
    # The session probe and signing out still work.
    assert client.get(reverse("session-state")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302


def test_the_admin_signs_in_through_the_same_login(client):
    User.objects.create_superuser("root", "root@kapclinic.invalid", PASSWORD)
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    sign_in(client, "root")
    assert client.get("/admin/")["Location"].startswith(CODE_PAGE)
    enrol_through_the_page(client, User.objects.get(username="root"))
    assert client.get("/admin/").status_code == 200


# --- the code after the password -----------------------------------------------------------------


def test_a_right_code_makes_a_full_session_under_a_new_key(client, lead, settings):
    device = enrolled(lead)
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no 1-second back-off after the typo below
    sign_in(client, "lead")
    before = client.session.session_key
    wrong = client.post(CODE_PAGE, {"code": "000000", "next": reverse("staff")})
    assert wrong.status_code == 400 and "Not a valid code" in wrong.content.decode()
    response = client.post(CODE_PAGE, {"code": next_code(device), "next": reverse("staff")})
    assert response.status_code == 302 and response["Location"] == reverse("staff")
    assert client.session.session_key != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.get(reverse("staff")).status_code == 200
    assert "second factor code refused" in second_factor_events(lead)


def test_a_code_is_good_once(client, lead):
    device = enrolled(lead)
    with time_machine.travel(1_800_000_000, tick=False):
        code = code_at(device.bin_key, 1_800_000_000 // 30)
        sign_in(client, "lead")
        assert client.post(CODE_PAGE, {"code": code})["Location"] == reverse("home")
        again = Client()
        sign_in(again, "lead")
        assert again.post(CODE_PAGE, {"code": code}).status_code == 400


def test_an_offsite_next_is_not_followed(client, lead):
    device = enrolled(lead)
    sign_in(client, "lead")
    response = client.post(CODE_PAGE, {"code": next_code(device), "next": "https://evil.example/"})
    assert response["Location"] == reverse("home")


def test_a_recovery_code_works_once(client, lead):
    enrolled(lead)
    codes = mfa.regenerate_recovery_codes(lead)
    sign_in(client, "lead")
    assert client.post(CODE_PAGE, {"code": codes[3].upper()})["Location"] == reverse("home")
    assert "recovery code used; 9 left" in second_factor_events(lead)
    again = Client()
    sign_in(again, "lead")
    assert again.post(CODE_PAGE, {"code": codes[3]}).status_code == 400
    assert mfa.recovery_codes_left(lead) == 9


def test_new_recovery_codes_replace_the_old(client, lead):
    enrolled(lead)
    old = mfa.regenerate_recovery_codes(lead)
    client.force_login(lead)
    response = client.post(reverse("recovery-codes-new"), {"password": PASSWORD})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    new = re.findall(r"<code>([a-z0-9-]{14})</code>", response.content.decode())
    assert len(new) == 10
    assert mfa.verify_second_factor(lead, new[0])
    assert not mfa.verify_second_factor(lead, old[0])


# --- failed codes count towards the lockout ----------------------------------------------------


def test_wrong_codes_lock_the_sign_in_like_wrong_passwords(client, lead, settings):
    device = enrolled(lead)
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the lockout, not django-otp's back-off, is under test
    sign_in(client, "lead")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(CODE_PAGE, {"code": "000000"}).status_code == 400
    locked = client.post(CODE_PAGE, {"code": "000000"})
    assert locked.status_code == 429 and "locked for 15 minutes" in locked.content.decode()
    # Even the right code is refused now, and so is the password from here.
    assert client.post(CODE_PAGE, {"code": next_code(device)}).status_code == 429
    assert sign_in(Client(), "lead").status_code == 429
    assert "second factor refused: sign-in locked after repeated failures" in second_factor_events(lead)


def test_a_right_password_does_not_forgive_wrong_codes(client, lead, settings):
    enrolled(lead)
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        fresh = Client()
        sign_in(fresh, "lead")
        fresh.post(CODE_PAGE, {"code": "000000"})
    last = Client()
    sign_in(last, "lead")
    assert last.post(CODE_PAGE, {"code": "000000"}).status_code == 429


def test_django_otp_backs_off_between_wrong_codes(client, lead):
    device = enrolled(lead)
    assert not mfa.verify_second_factor(lead, "000000")
    # Within the back-off even the right code is refused, so guessing is slow.
    assert not mfa.verify_second_factor(lead, next_code(device))


def test_a_right_code_retyped_during_the_back_off_is_told_to_wait_and_not_counted(client, lead, settings):
    """Found by review: a lead who mistyped and retyped at once got "not a valid code", and each
    such try counted towards the lockout, so right codes could lock the lead out."""
    device = enrolled(lead)
    settings.OTP_TOTP_THROTTLE_FACTOR = 60  # a back-off long enough to land in
    sign_in(client, "lead")
    assert client.post(CODE_PAGE, {"code": "000000"}).status_code == 400
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        waiting = client.post(CODE_PAGE, {"code": next_code(device, wait=False)})
        assert waiting.status_code == 429 and "Wait" in waiting.content.decode()
    assert "locked" not in waiting.content.decode()
    assert not lockout.is_locked(waiting.wsgi_request, "lead")
    assert any(e.startswith("second factor code not checked") for e in second_factor_events(lead))
    api = APIClient().post(
        "/api/auth/token/", {"username": "lead", "password": PASSWORD, "otp": next_code(device, wait=False)}
    )
    assert api.status_code == 400 and api.json()["errors"]["otp"][0].startswith("Wait ")


# --- changing the second factor asks for the password again (found by review) -------------------


def test_an_unlocked_screen_cannot_move_the_second_factor_to_another_phone(client, lead, mailoutbox):
    old_device = enrolled(lead)
    client.force_login(lead)  # a finished sign-in, left open at a bedside tablet
    page = client.get(ENROL_PAGE)
    assert page.status_code == 200 and 'name="password"' in page.content.decode()
    new_device = TOTPDevice.objects.get(user=lead, confirmed=False)
    refused = client.post(ENROL_PAGE, {"code": next_code(new_device), "password": "not-the-password"})
    assert refused.status_code == 400 and "Password: not the one" in refused.content.decode()
    without = client.post(ENROL_PAGE, {"code": next_code(new_device)})
    assert without.status_code == 400
    assert list(TOTPDevice.objects.filter(user=lead, confirmed=True)) == [old_device]
    assert "password asked again before a second-factor change: refused" in second_factor_events(lead)
    assert mailoutbox == []

    replaced = client.post(ENROL_PAGE, {"code": next_code(new_device), "password": PASSWORD})
    assert replaced.status_code == 200
    assert list(TOTPDevice.objects.filter(user=lead, confirmed=True)) == [TOTPDevice.objects.get(pk=new_device.pk)]
    (notice,) = mailoutbox
    assert notice.to == [lead.email] and "replaced" in notice.body


def test_new_recovery_codes_need_the_password_again(client, lead, mailoutbox):
    enrolled(lead)
    old = mfa.regenerate_recovery_codes(lead)
    client.force_login(lead)
    refused = client.post(reverse("recovery-codes-new"), {"password": "wrong"})
    assert refused.status_code == 400 and "Password: not the one" in refused.content.decode()
    assert client.post(reverse("recovery-codes-new")).status_code == 400
    assert mfa.verify_second_factor(lead, old[0])  # the old codes still stand
    assert mailoutbox == []
    assert client.post(reverse("recovery-codes-new"), {"password": PASSWORD}).status_code == 200
    assert "recovery codes replaced" in mailoutbox[0].body
