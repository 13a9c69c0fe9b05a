"""The second-factor pages: the code after the password, enrolment, and the person's own settings."""

from base64 import b32encode

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import lockout, mfa


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The 6 digits your authenticator app shows now, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}),
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=12,
        help_text="After adding the account to the app, enter the 6 digits it shows.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True, "spellcheck": "false"}
        ),
    )


class PasswordAgainForm(forms.Form):
    """Changing the second factor of a signed-in session asks for the password again: an unlocked
    screen must not be enough to move the account's second factor to another phone (found by review)."""

    password = forms.CharField(
        label="Your password",
        max_length=128,
        strip=False,
        help_text="Asked again before the second factor of your account changes.",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ReplaceForm(PasswordAgainForm, EnrolForm):
    pass


def _password_again(request, form) -> bool:
    """The form's password is the user's; a wrong one is a field error and counts as a failed sign-in."""
    if mfa.confirm_password(request.user, form.cleaned_data["password"], request):
        return True
    form.add_error("password", "Password: not the one for this account. Enter your sign-in password.")
    return False


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


@never_cache
@sensitive_post_parameters("code")
@login_required
def second_factor(request):
    """After the password: the code (or a recovery code) that makes the session a full one."""
    user = request.user
    if not mfa.session_pending(request):
        return redirect(_next_url(request))
    if not mfa.has_second_factor(user):
        # Required but not set up yet: enrol first (the enrolment's code is the second factor).
        return redirect(f"{_url('second-factor-enrol')}?next={_quoted(_next_url(request))}")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        waited = mfa.wait_seconds(user)  # before the check: a wrong code starts a new back-off
        if mfa.verify_second_factor(user, form.cleaned_data["code"], request):
            mfa.pass_session(request, user)
            left = mfa.recovery_codes_left(user)
            if left <= 3:
                messages.warning(
                    request, f"{left} recovery codes left: make new ones under Second factor (your name, top right)."
                )
            return redirect(_next_url(request))
        if lockout.is_locked(request, user.get_username()):
            return lockout.lockout_response(request)
        if waited:
            form.add_error("code", f"Wait {waited} seconds after a wrong code, then enter the newest code shown.")
            status = 429
        else:
            form.add_error(
                "code", "Not a valid code: check the app shows this clinic's account, and use the newest code."
            )
            status = 400
    return render(request, "accounts/second_factor.html", {"form": form, "next": _next_url(request)}, status=status)


@never_cache
@sensitive_post_parameters("code", "password")
@login_required
def second_factor_enrol(request):
    """Add an authenticator app: QR code and secret, then a code from the app to confirm it."""
    user = request.user
    if mfa.session_pending(request) and mfa.has_second_factor(user):
        # A password alone must not replace the phone that guards the account.
        return redirect(f"{_url('second-factor')}?next={_quoted(_next_url(request))}")
    replacing = mfa.has_second_factor(user)
    device = mfa.pending_totp_device(user)
    form = (ReplaceForm if replacing else EnrolForm)(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        if replacing and not _password_again(request, form):
            status = 400
        else:
            try:
                codes = mfa.confirm_enrolment(user, device, form.cleaned_data["code"])
            except mfa.SecondFactorError as exc:
                form.add_error("code", str(exc))
                status = 400
            else:
                if mfa.session_pending(request):
                    mfa.pass_session(request, user)
                if replacing:
                    mfa.tell_the_holder(user, "a new authenticator app replaced the one your account had")
                return _show_recovery_codes(request, codes, enrolled=True)
    elif request.method == "POST":
        status = 400  # a field missing or malformed: the form says which
    secret = b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "next": _next_url(request),
        "qr_svg": _qr_svg(device.config_url),
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        "required": mfa.second_factor_mandatory(user),
        "replacing": replacing,
    }
    return render(request, "accounts/second_factor_enrol.html", context, status=status)


@never_cache
@login_required
def second_factor_settings(request):
    """The person's own second factor: state, recovery codes left, new codes, a new phone."""
    user = request.user
    context = {
        "enrolled": mfa.has_second_factor(user),
        "required": mfa.second_factor_mandatory(user),
        "codes_left": mfa.recovery_codes_left(user),
        "form": PasswordAgainForm(),
    }
    return render(request, "accounts/second_factor_settings.html", context)


@never_cache
@sensitive_post_parameters("password")
@login_required
@require_POST
def recovery_codes_new(request):
    user = request.user
    if not mfa.has_second_factor(user):
        messages.error(request, "Recovery codes: set up an authenticator app first.")
        return redirect("second-factor-settings")
    form = PasswordAgainForm(request.POST)
    if not (form.is_valid() and _password_again(request, form)):
        context = {"enrolled": True, "required": mfa.second_factor_mandatory(user), "form": form}
        context["codes_left"] = mfa.recovery_codes_left(user)
        return render(request, "accounts/second_factor_settings.html", context, status=400)
    codes = mfa.regenerate_recovery_codes(user)
    mfa.tell_the_holder(user, "new recovery codes replaced the old ones")
    return _show_recovery_codes(request, codes, enrolled=False)


def _show_recovery_codes(request, codes, *, enrolled: bool):
    # Shown once, in the answer to the POST: never stored readable, never on a page to reload.
    response = render(
        request,
        "accounts/recovery_codes.html",
        {"codes": codes, "enrolled": enrolled, "next": _next_url(request)},
    )
    response["Cache-Control"] = "no-store"
    return response


def _qr_svg(data: str) -> str:
    # Drawn here as inline SVG: the secret never goes to a QR service.
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


def _url(name: str) -> str:
    from django.urls import reverse

    return reverse(name)


def _quoted(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="/")
