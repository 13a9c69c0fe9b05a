"""The mailed links' pages (accounts/password_views.py). Their tokens sit in the path, so the log
filter (measures/web/log_redaction.py) blanks what follows the account id in both prefixes."""

from django.urls import path

from accounts import password_views

urlpatterns = [
    path("password-reset/", password_views.ResetRequestView.as_view(), name="password-reset"),
    path("password-reset/sent/", password_views.ResetSentView.as_view(), name="password-reset-sent"),
    path("password-reset/done/", password_views.ResetCompleteView.as_view(), name="password-reset-complete"),
    path("password-reset/<uidb64>/<token>/", password_views.ResetConfirmView.as_view(), name="password-reset-confirm"),
    path("invitation/<uidb64>/<token>/", password_views.InvitationAcceptView.as_view(), name="invitation-accept"),
]
