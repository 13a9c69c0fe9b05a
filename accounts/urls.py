"""The second-factor pages (accounts/views.py)."""

from django.urls import path

from accounts import views

urlpatterns = [
    path("account/second-factor/", views.second_factor, name="second-factor"),
    path("account/second-factor/enrol/", views.second_factor_enrol, name="second-factor-enrol"),
    path("account/second-factor/settings/", views.second_factor_settings, name="second-factor-settings"),
    path("account/second-factor/recovery-codes/", views.recovery_codes_new, name="recovery-codes-new"),
]
