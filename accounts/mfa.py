"""The second factor for staff: who must give one, and whether a code is right.

Every entry point asks these functions: the web sign-in (accounts/views.py and the middleware in
accounts/middleware.py), the admin (its login is our login) and the API token endpoint.

- A confirmed TOTP device (django-otp, otp_totp) is the factor; ten one-time recovery codes
  (otp_static) stand in for a lost phone. Recovery codes are stored as hashes: a copy of the
  database does not give them away (the TOTP secret must stay readable to compute codes).
- Practice leads and superusers must have one; MFA_REQUIRED_FOR_ALL=true extends that to every
  member of staff; anyone else who enrols of their own accord is asked for a code from then on.
- A wrong code counts as a failed sign-in for the lockout (username with address, and address
  alone: accounts/lockout.py), on top of django-otp's own back-off per device.
"""

from __future__ import annotations

import hashlib
import logging
import secrets

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.mail import send_mail
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import ports

logger = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
# The session's second-factor state: "pending" after the password when a code is still owed,
# "passed" once given. Set on every login() (accounts/apps.py), so no sign-in path can skip it.
SESSION_KEY = "second_factor"
PENDING = "pending"
PASSED = "passed"


class SecondFactorError(Exception):
    """A refusal with a message for the person at the keyboard."""


def second_factor_mandatory(user) -> bool:
    """The clinic's rule: leads and superusers always; everyone when MFA_REQUIRED_FOR_ALL is on."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or user.is_practice_lead:
        return True
    return bool(getattr(settings, "MFA_REQUIRED_FOR_ALL", False)) and user.is_clinic_staff


def has_second_factor(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def second_factor_required(user) -> bool:
    """Must this user give a code (or enrol first) before a session or token is theirs?"""
    return second_factor_mandatory(user) or (user is not None and user.is_authenticated and has_second_factor(user))


def _normalise(code) -> str:
    return "".join(str(code or "").split()).replace("-", "").lower()[:32]


def _recovery_hash(code: str) -> str:
    # StaticToken.token holds 16 characters: 64 bits of SHA-256 of a 60-bit random code, which
    # cannot be searched from a stolen database in useful time.
    return hashlib.sha256(f"kapclinic-recovery\0{code}".encode()).hexdigest()[:16]


def _matching_device(user, code: str):
    """The device that accepts `code` (consuming a recovery code), else None. Locked rows:
    two requests cannot both spend one recovery code or reuse one TOTP step."""
    if not code:
        return None
    with transaction.atomic():
        if code.isdigit() and len(code) == 6:
            for device in TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True):
                if device.verify_token(code):
                    return device
            return None
        for device in StaticDevice.objects.select_for_update().filter(user=user, confirmed=True):
            if device.verify_token(_recovery_hash(code)):
                return device
    return None


def wait_seconds(user) -> int:
    """Seconds before django-otp checks this user's authenticator codes again (its back-off after
    a wrong code), 0 when it checks now."""
    from django.utils import timezone

    longest = 0
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        allowed, data = device.verify_is_allowed()
        if not allowed and data and data.get("locked_until"):
            longest = max(longest, int((data["locked_until"] - timezone.now()).total_seconds()) + 1)
    return longest


def check_second_factor(user, code, request=None):
    """Verify `code` for `user`: the device that accepted it, or None. A refusal is audited and
    counted towards the lockout (when the request is given, also per address)."""
    from accounts import lockout  # the lockout imports this module for its own rule

    code = _normalise(code)
    if request is not None and lockout.is_locked(request, user.get_username()):
        _audit(user, "second factor refused: sign-in locked after repeated failures")
        return None
    if code.isdigit() and len(code) == 6 and (wait := wait_seconds(user)):
        # django-otp does not check a code during its back-off after a wrong one: a right code
        # retyped at once would be "refused" and, counted, could lock out the person who mistyped
        # (found by review). Not checked is not wrong: it does not count towards the lockout.
        _audit(user, f"second factor code not checked: {wait} s back-off after a wrong code")
        return None
    device = _matching_device(user, code)
    if device is None:
        _audit(user, "second factor code refused")
        if request is not None:
            # django-axes and its per-address rule count this like a wrong password.
            user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)
        return None
    if isinstance(device, StaticDevice):
        left = StaticToken.objects.filter(device=device).count()
        _audit(user, f"recovery code used; {left} left")
        logger.info("recovery code used by user %s; %s left", user.pk, left)
    return device


def confirm_password(user, password, request=None) -> bool:
    """The password asked again before the second factor changes; a wrong one counts towards the
    lockout like a wrong sign-in."""
    if user.check_password(password or ""):
        return True
    _audit(user, "password asked again before a second-factor change: refused")
    if request is not None:
        user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)
    return False


def tell_the_holder(user, what: str) -> None:
    """Mail the account's holder that its second factor changed, so a change they did not make is
    seen (a failed mail is logged, never in the way of the change)."""
    if not user.email:
        return
    try:
        send_mail(
            subject="kapclinic: the second factor of your account changed",
            message=(
                f"On your kapclinic account, {what}. If this was not you, tell your practice lead now: "
                "they can remove the second factor and you can set it up again."
            ),
            from_email=None,
            recipient_list=[user.email],
        )
    except Exception:  # any mail-server failure: the change stands and is audited
        logger.exception("second-factor notice to user %s not sent", user.pk)


def verify_second_factor(user, code, request=None) -> bool:
    """True when `code` (6-digit TOTP or a recovery code) is right for `user`; see check_second_factor."""
    return check_second_factor(user, code, request) is not None


# --- enrolment ----------------------------------------------------------------------------------


def pending_totp_device(user) -> TOTPDevice:
    """The unconfirmed device being enrolled (one per user: a reload shows the same secret)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def confirm_enrolment(user, device: TOTPDevice, code) -> list[str]:
    """Confirm `device` with a code from the app; returns fresh recovery codes (shown once).
    Replaces any earlier device: one phone per person, and a lost phone is re-enrolled."""
    code = _normalise(code)
    if device.user_id != user.pk or device.confirmed:
        raise SecondFactorError("This enrolment is no longer open: start again.")
    if not (code.isdigit() and len(code) == 6):
        raise SecondFactorError("Code: enter the 6 digits your authenticator app shows.")
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if not device.verify_token(code):
            _audit(user, "second factor enrolment code refused")
            raise SecondFactorError(
                "Code: not the one the app shows now. Check the phone's clock and enter the newest code."
            )
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
    _audit(user, "second factor enrolled (authenticator app)", action="create")
    return codes


def regenerate_recovery_codes(user) -> list[str]:
    with transaction.atomic():
        codes = _new_recovery_codes(user)
    _audit(user, f"recovery codes replaced ({len(codes)} new)", action="create")
    return codes


def _new_recovery_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    StaticToken.objects.bulk_create(StaticToken(device=device, token=_recovery_hash(_normalise(c))) for c in codes)
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def remove_second_factor(user, *, by) -> None:
    """A lead (or superuser) resets a colleague's lost phone: the colleague enrols again at the
    next sign-in if the factor is required."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
    _audit(by, f"second factor removed for user {user.pk}", action="update")


# --- the session --------------------------------------------------------------------------------


def start_session(request, user) -> None:
    """At login(): owe a code, or not. Called for every login, so no path skips the rule."""
    if hasattr(request, "session"):
        request.session[SESSION_KEY] = PENDING if second_factor_required(user) else PASSED


def session_pending(request) -> bool:
    return request.session.get(SESSION_KEY) == PENDING


def pass_session(request, user) -> None:
    """The code was right: the session becomes a full one, under a new key (a session id seen
    before the second factor is worth nothing after it)."""
    from accounts import lockout

    request.session.cycle_key()
    request.session[SESSION_KEY] = PASSED
    lockout.sign_in_complete(request, user)


def _audit(user, detail: str, action: str = "update") -> None:
    ports.audit(actor=user, action=action, record_type="second factor", detail=detail)
