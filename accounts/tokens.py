"""API tokens: issued, checked, listed and revoked here, by every entry point.

django-rest-knox makes the key (64 random hex characters) and stores only its SHA-512 digest
(accounts.ApiToken); the key itself is shown once, in the answer that issues it. A token expires
API_TOKEN_TTL_HOURS after it is issued and can be revoked before that. An expired or revoked token
is kept with its dates (never deleted), so the list a member of staff sees is their whole history.

The tokens of rest_framework.authtoken (plain-text keys, never expiring) that kapclinic issued
before stay in their table, but nothing authenticates with them any more.
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS
from rest_framework import exceptions

from accounts import ports
from accounts.models import ApiToken, User

_REFUSED = "Invalid token: unknown, expired or revoked. Ask for a new one with POST /api/auth/token/."


def token_ttl_hours() -> int:
    return settings.API_TOKEN_TTL_HOURS


@transaction.atomic
def token_issue(*, user: User, now: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the key (the only time the key exists in clear)."""
    instance, key = ApiToken.objects.create(user=user)
    if now is not None:
        # Tests date a token in the past; the manager dates it from the clock.
        ApiToken.objects.filter(pk=instance.pk).update(
            created=now, expiry=now + timezone.timedelta(hours=token_ttl_hours())
        )
        instance.refresh_from_db()
    ports.audit(
        actor=user,
        action="create",
        record=user,
        record_type="API token",
        detail=f"issued, expires {instance.expiry.isoformat(timespec='minutes')}",
    )
    return instance, key


@transaction.atomic
def token_revoke(*, by: User, user: User, tokens, why: str, now: datetime | None = None) -> int:
    """`by` revokes the given live tokens of `user` (a queryset of ApiToken); returns how many."""
    now = now or timezone.now()
    count = tokens.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    if count:
        ports.audit(
            actor=by,
            action="update",
            record=user,
            record_type="API token",
            detail=f"{count} revoked ({why})",
            at=now,
        )
    return count


def tokens_of(user: User):
    return ApiToken.objects.filter(user=user).order_by("-created")


def token_is_live(token: ApiToken, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return token.revoked_at is None and (token.expiry is None or token.expiry > now)


class ApiTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, checked against the stored digests.

    Unlike knox's own class it deletes nothing: an expired token is refused and kept, so the
    staff member's token list still shows it. Every refusal is the same 401, so a caller learns
    nothing about which keys once existed.
    """

    def authenticate_credentials(self, token):
        try:
            key = token.decode("utf-8")
            digest = hash_token(key)
        except (UnicodeDecodeError, TypeError, ValueError):
            raise exceptions.AuthenticationFailed(_REFUSED) from None
        now = timezone.now()
        candidates = ApiToken.objects.filter(
            token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH], digest=digest, revoked_at__isnull=True
        ).select_related("user")
        for auth_token in candidates:
            if token_is_live(auth_token, now):
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(_REFUSED)


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the schema describes the token (drf-spectacular knows only DRF's own token class)."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")
