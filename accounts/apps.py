from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from accounts import signals

        # Every login() decides whether the session still owes a second factor (accounts/mfa.py).
        user_logged_in.connect(signals.on_login, dispatch_uid="accounts.second_factor")
