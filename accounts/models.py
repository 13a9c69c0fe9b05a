"""Staff accounts and the three clinical roles."""

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from knox.models import AbstractAuthToken

from kernel.text import name_character_error


class Role(models.TextChoices):
    THERAPIST = "therapist", "Therapist"
    MEDICAL_PROVIDER = "medical_provider", "Medical provider"
    PRACTICE_LEAD = "practice_lead", "Practice lead"


class User(AbstractUser):
    """A member of staff. Patients never log in; they answer through signed links."""

    role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    credentials = models.CharField(
        max_length=60, blank=True, help_text="Shown after the name on signed records, e.g. 'MD', 'LCSW'."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=["", *Role.values]), name="user_role_valid"),
        ]

    # Printed on signed records and in PDF headers: no control or text-direction characters. Checked
    # in clean() (full_clean: the admin, the staff service, any ModelForm), which needs no migration
    # of Django's own name columns.
    PRINTED_FIELDS = ("username", "first_name", "last_name", "credentials")

    def clean(self):
        super().clean()
        errors = {}
        for name in self.PRINTED_FIELDS:
            message = name_character_error(str(getattr(self, name) or ""))
            if message:
                errors[name] = message
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        # A new password (reset, invitation, admin, changepassword) or a deactivation ends every API
        # token the account holds, from whatever entry point: a token must not outlive the
        # credentials it was issued for (found by review: a token survived a reset and a
        # deactivation-then-reactivation).
        password_changed = self._password is not None
        super().save(*args, **kwargs)
        if password_changed or not self.is_active:
            from accounts.tokens import token_revoke

            why = "password changed" if password_changed else "account deactivated"
            token_revoke(by=self, user=self, tokens=ApiToken.objects.all(), why=why)

    def __str__(self) -> str:
        name = self.get_full_name() or self.username
        return f"{name}, {self.credentials}" if self.credentials else name

    @property
    def is_therapist(self) -> bool:
        return self.role == Role.THERAPIST

    @property
    def is_medical_provider(self) -> bool:
        return self.role == Role.MEDICAL_PROVIDER

    @property
    def is_practice_lead(self) -> bool:
        return self.role == Role.PRACTICE_LEAD or self.is_superuser

    @property
    def is_clinician(self) -> bool:
        return self.role in (Role.THERAPIST, Role.MEDICAL_PROVIDER)

    @property
    def is_clinic_staff(self) -> bool:
        return bool(self.role) or self.is_superuser


class ApiToken(AbstractAuthToken):
    """An API token, stored as the SHA-512 digest of its key only (django-rest-knox): the key is
    shown once, when it is issued. Revoking sets `revoked_at`; nothing deletes a token (see
    accounts/tokens.py), so a member of staff's token history stays whole."""

    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
