"""Invitations and password resets by mail, with one-time links that expire.

A practice lead invites a colleague (name, role, email): the account is created with no usable
password, and the mail carries a link where the colleague chooses one (the password validators
apply). "Forgot your password?" on the sign-in page mails a reset link, and answers the same
whatever address was typed, so nobody learns which addresses have accounts.

Both links are Django's PasswordResetTokenGenerator tokens (HMAC of the account's id, password
hash, last sign-in and email, under SECRET_KEY), with different salts so one kind cannot stand in
for the other. A link works once: setting the password changes the hash it was made from; a new
invitation to the same account voids the one before. Invitations last INVITATION_DAYS, resets
PASSWORD_RESET_TIMEOUT seconds. The links carry only the account id and the token, never anything
about a patient, and the log filter (measures/web/log_redaction.py) blanks the token.
"""

import logging
import time

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode
from redis.exceptions import RedisError

from accounts import ports
from accounts.models import User

logger = logging.getLogger(__name__)


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Like the reset token, under its own salt and with its own lifetime (INVITATION_DAYS)."""

    key_salt = "kapclinic.accounts.invitations.InvitationTokenGenerator"

    def check_token(self, user, token):
        # Django's check_token reads PASSWORD_RESET_TIMEOUT; this is the same check with ours.
        if not (user and token):
            return False
        try:
            ts_b36, _ = token.split("-")
            ts = base36_to_int(ts_b36)
        except ValueError:
            return False
        for secret in [self.secret, *self.secret_fallbacks]:
            if constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token):
                break
        else:
            return False
        return (self._num_seconds(self._now()) - ts) <= invitation_seconds()


invitation_tokens = InvitationTokenGenerator()
reset_tokens = default_token_generator


def invitation_seconds() -> int:
    return settings.INVITATION_DAYS * 24 * 3600


def _link(name: str, user: User, generator) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return settings.CLINIC_BASE_URL.rstrip("/") + reverse(name, args=[uid, generator.make_token(user)])


def _audit(*, actor, user: User, detail: str, action: str = "update") -> None:
    ports.audit(actor=actor, action=action, record=user, record_type="staff account", detail=detail)


def clinic_name() -> str:
    return ports.clinic_name()


def send_invitation(*, by: User, user: User, new: bool = False) -> bool:
    """Mail `user` a fresh invitation link (any earlier one stops working). Returns whether the
    mail server took it; a refusal is logged and left for the lead to resend."""
    if not by.is_practice_lead:
        # courses.services' lead check, in the same words (accounts sits below courses).
        raise PermissionDenied("Only a practice lead can invite staff.")
    if user.is_superuser and not by.is_superuser:
        # As for deactivation: an administrator's account is managed by another administrator.
        raise PermissionDenied("An administrator account is managed by another administrator, not by a practice lead.")
    if user.has_usable_password():
        raise ValueError("This account already has a password: it needs a reset, not an invitation.")
    if not new:
        # A new unusable password changes the hash every earlier link was made from.
        user.set_unusable_password()
        user.save(update_fields=["password"])
    context = {
        "user": user,
        "by": by,
        "clinic_name": clinic_name(),
        "link": _link("invitation-accept", user, invitation_tokens),
        "days": settings.INVITATION_DAYS,
    }
    try:
        send_mail(
            subject=f"{context['clinic_name']}: your kapclinic account",
            message=render_to_string("registration/invitation_email.txt", context),
            from_email=None,
            recipient_list=[user.email],
        )
    except Exception:  # any mail-server failure: the lead is told and can resend
        logger.exception("invitation mail to user %s not sent", user.pk)
        _audit(actor=by, user=user, detail="invitation mail could not be sent")
        return False
    _audit(actor=by, user=user, detail=f"invitation sent (valid {settings.INVITATION_DAYS} days)")
    return True


def invitation_accepted(user: User) -> None:
    _audit(actor=user, user=user, detail="invitation accepted: password chosen")


def reset_done(user: User) -> None:
    _audit(actor=user, user=user, detail="password reset by mailed link")


def reset_requested(user: User) -> None:
    _audit(actor=None, user=user, detail="password reset link mailed")


def users_for_reset(email: str):
    """Active staff with this address (case ignored), with a password or still invited."""
    return User.objects.filter(email__iexact=email.strip(), is_active=True)


# --- rate limit of reset requests -------------------------------------------------------------


def reset_rate_limited(request, email: str) -> int | None:
    """Count one reset request; the seconds to wait when it is over a limit, else None.

    Counted per client address and per typed address, whether or not an account has it, so the
    answer says nothing about accounts. A cache outage lets the request through (the mail still
    goes only to the account's own address)."""
    from kernel.rate_limit import Limit, client_address, hit

    window = settings.PASSWORD_RESET_RATE_LIMIT_WINDOW_SECONDS
    now = time.time()
    try:
        per_address = Limit("reset-address", settings.PASSWORD_RESET_RATE_LIMIT_PER_ADDRESS, window)
        wait = hit(per_address, client_address(request), now)
        if wait is None:
            per_email = Limit("reset-email", settings.PASSWORD_RESET_RATE_LIMIT_PER_EMAIL, window)
            wait = hit(per_email, email.strip().lower(), now)
    except (RedisError, OSError) as exc:
        logger.warning("password reset rate limit not applied: cache unavailable (%s)", type(exc).__name__)
        return None
    return wait
