"""Failed sign-ins: a lock a stranger cannot turn against a named member of staff.

django-axes counts failures (wrong passwords, and wrong second-factor codes: accounts/mfa.py)
in its database tables, which every web process shares. Two rules, checked on every attempt:

- per username AND address (AXES_LOCKOUT_PARAMETERS): LOGIN_FAILURE_LIMIT failures lock that
  username from that address only. Five wrong passwords from a stranger's address do not lock
  the lead signing in from the clinic.
- per address alone, across every username: LOGIN_FAILURE_LIMIT_PER_ADDRESS failures lock the
  address for everyone, which stops password spraying (one guess at each of many usernames).

Both last LOGIN_LOCKOUT_MINUTES after the latest failure. axes compares one count with one limit,
so the second rule is this handler's `is_locked`. The address is the one the clinic's proxy saw
(kernel.rate_limit.client_ip, honouring TRUST_X_FORWARDED_FOR); an IPv6 client counts by its /64,
which one subscriber gets whole and could otherwise walk through one address per guess.
"""

from __future__ import annotations

import math

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import JsonResponse
from django.shortcuts import render

from kernel import rate_limit

ADDRESS = "address"
ACCOUNT = "account"


def client_address(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the address failures are counted against, the self-report rate
    limit's (the proxy's address, an IPv6 client by its /64), given as an address because axes
    stores it in an address column: the /64's network address."""
    address = rate_limit.client_address(request)
    return None if address == "unknown" else address.split("/")[0]


def address_limit() -> int:
    return settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS


def lockout_minutes(request=None) -> int:
    cool_off = get_cool_off(request)
    return max(1, math.ceil(cool_off.total_seconds() / 60)) if cool_off else 0


class LockoutHandler(AxesDatabaseHandler):
    """AXES_HANDLER: axes' database handler with the per-address rule added."""

    def address_failures(self, request) -> int:
        if request.axes_ip_address is None:
            return 0
        attempts = AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address, attempt_time__gte=get_cool_off_threshold(request)
        )
        return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0

    def _address_locked(self, request) -> bool:
        limit = address_limit()
        return limit > 0 and self.address_failures(request) >= limit

    def is_locked(self, request, credentials=None) -> bool:
        if super().is_locked(request, credentials):
            request.lockout_reason = ACCOUNT
            return True
        if self._address_locked(request):
            request.lockout_reason = ADDRESS
            return True
        return False

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None:
            return
        if getattr(request, "axes_locked_out", False):
            request.lockout_reason = getattr(request, "lockout_reason", ACCOUNT)
        elif self._address_locked(request):
            # This failure was the address's last: say so now, not on the next attempt.
            request.axes_locked_out = True
            request.axes_credentials = credentials
            request.lockout_reason = ADDRESS


def is_locked(request, username: str) -> bool:
    """Is a sign-in (password or second factor) for `username` from this request's address refused?"""
    return AxesProxyHandler.is_locked(request, {"username": username})


def sign_in_complete(request, user) -> None:
    """Password and (where owed) second factor both right: this username's failures from this
    address are forgiven. A right password alone forgives nothing while a code is still owed,
    so a password guesser cannot reset the count between wrong codes."""
    AxesProxyHandler.update_request(request)
    AxesProxyHandler.get_implementation().reset_user_attempts(request, {"username": user.get_username()})


def lockout_message(request) -> str:
    minutes = lockout_minutes(request)
    if getattr(request, "lockout_reason", ACCOUNT) == ADDRESS:
        return (
            f"Too many failed sign-ins from this network address ({address_limit()} within {minutes} minutes, "
            f"over all usernames): sign-in from here is paused for {minutes} minutes."
        )
    return (
        f"Too many failed sign-ins for this username from this network address ({settings.AXES_FAILURE_LIMIT} "
        f"within {minutes} minutes): it is locked for {minutes} minutes from here. "
        "Sign-in from elsewhere is not affected."
    )


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: 429 with the reason and the wait; JSON for the API."""
    message = lockout_message(request)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "errors": {}}, status=429)
    else:
        response = render(
            request,
            "registration/locked_out.html",
            {"lockout_message": message, "minutes": lockout_minutes(request)},
            status=429,
        )
    response["Retry-After"] = str(lockout_minutes(request) * 60)
    return response
