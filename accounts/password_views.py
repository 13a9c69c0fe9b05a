"""Pages of the mailed links: ask for a reset, choose a password from a reset or an invitation.

Django's own views do the work (the token leaves the address bar at once: the first visit stores
it in the session and redirects to .../set-password/); these add the clinic's wording, the audit,
the rate limit and a 400 for a link that no longer works. The rules are in accounts.invitations.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.shortcuts import render
from django.urls import reverse_lazy

from accounts import invitations
from kernel.rate_limit import minutes


class ResetRequestForm(PasswordResetForm):
    def get_users(self, email):
        # Django's form skips accounts without a usable password; an invited colleague who lost
        # the invitation may choose a password through a reset as well.
        return invitations.users_for_reset(email).iterator()

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **kwargs):
        super().send_mail(subject_template_name, email_template_name, context, from_email, to_email, **kwargs)
        invitations.reset_requested(context["user"])


class ResetRequestView(auth_views.PasswordResetView):
    """Answers the same whatever the address: the next page says a link is on its way if the
    address belongs to an account."""

    form_class = ResetRequestForm
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password-reset-sent")
    token_generator = invitations.reset_tokens

    def form_valid(self, form):
        wait = invitations.reset_rate_limited(self.request, form.cleaned_data["email"])
        if wait is not None:
            form.add_error(
                None,
                f"Too many reset requests from here (at most {settings.PASSWORD_RESET_RATE_LIMIT_PER_ADDRESS} per "
                f"address and {settings.PASSWORD_RESET_RATE_LIMIT_PER_EMAIL} per email address every "
                f"{minutes(settings.PASSWORD_RESET_RATE_LIMIT_WINDOW_SECONDS)} minutes): try again in "
                f"{minutes(wait)} minutes.",
            )
            response = render(self.request, self.template_name, self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(wait)
            return response
        self.extra_email_context = {
            "base_url": settings.CLINIC_BASE_URL.rstrip("/"),
            "hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
            "clinic_name": invitations.clinic_name(),
        }
        return super().form_valid(form)


class ResetSentView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"


class _ChoosePasswordView(auth_views.PasswordResetConfirmView):
    """A link that no longer works (used, expired, replaced, mistyped) is a 400 with a page saying so."""

    def get_user(self, uidb64):
        # A link mailed before the account was deactivated does not set its password (found by review).
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def render_to_response(self, context, **response_kwargs):
        if not context.get("validlink"):
            response_kwargs.setdefault("status", 400)
        return super().render_to_response(context, **response_kwargs)


class ResetConfirmView(_ChoosePasswordView):
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password-reset-complete")
    token_generator = invitations.reset_tokens

    def form_valid(self, form):
        response = super().form_valid(form)
        invitations.reset_done(self.user)
        return response


class ResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"


class InvitationAcceptView(_ChoosePasswordView):
    template_name = "registration/invitation_accept.html"
    success_url = reverse_lazy("login")
    token_generator = invitations.invitation_tokens

    def form_valid(self, form):
        response = super().form_valid(form)
        invitations.invitation_accepted(self.user)
        messages.success(self.request, "Your password is set. Sign in with your username and new password.")
        return response
