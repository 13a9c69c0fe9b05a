"""Staff accounts (the practice lead's)."""

from datetime import datetime

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction

from accounts import invitations
from accounts.models import Role, User
from courses.audit import audit
from courses.models import AuditAction
from courses.services.base import _require_lead, _save_audited
from kernel import clock
from kernel.validation import fail


@transaction.atomic
def staff_create(
    *,
    by: User,
    username: str,
    password: str | None,
    role: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    credentials: str = "",
    now: datetime | None = None,
) -> User:
    """A new staff account. With `password=None` the account has no usable password until its
    owner chooses one through an invitation (staff_invite)."""
    from django.contrib.auth.password_validation import validate_password

    now = clock.now(now)
    _require_lead(by, "manage staff")
    if role not in Role.values:
        fail("role", f"Choose a role: {', '.join(Role.values)}.")
    if User.objects.filter(username__iexact=username).exists():
        fail("username", "This username is taken.")
    user = User(
        username=username, first_name=first_name, last_name=last_name, email=email, role=role, credentials=credentials
    )
    if password is None:
        user.set_unusable_password()
    else:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        user.set_password(password)
    _save_audited(user, by=by, action=AuditAction.CREATE, record_type="staff account", now=now)
    return user


def staff_invite(
    *, by: User, username: str, email: str, role: str, first_name: str = "", last_name: str = "", credentials: str = ""
) -> tuple[User, bool]:
    """Create the account (no usable password) and mail the invitation; returns the account and
    whether the mail server took the mail. The staff rules (a lead only, a known role, a free
    username) are staff_create's; the mail is accounts.invitations.send_invitation."""
    if not email:
        raise ValidationError({"email": ["An invitation goes to an email address: enter one."]})
    user = staff_create(
        by=by,
        username=username,
        password=None,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email=email,
        credentials=credentials,
    )
    return user, invitations.send_invitation(by=by, user=user, new=True)


@transaction.atomic
def staff_set_active(*, by: User, user: User, active: bool, now: datetime | None = None) -> User:
    now = clock.now(now)
    _require_lead(by, "manage staff")
    if user.pk == by.pk and not active:
        fail(NON_FIELD_ERRORS, "You cannot deactivate your own account.")
    if user.is_superuser and not by.is_superuser:
        raise PermissionDenied("An administrator account is managed by another administrator, not by a practice lead.")
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit(
        actor=by,
        action=AuditAction.UPDATE,
        record=user,
        record_type="staff account",
        detail="activated" if active else "deactivated",
        at=now,
    )
    return user
