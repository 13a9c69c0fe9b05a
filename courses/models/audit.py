"""The append-only audit trail: who read or changed which record, when, from where."""

from django.db import models

from courses.models.base import STAFF
from courses.models.patients import Patient


class AuditAction(models.TextChoices):
    VIEW = "view", "Viewed"
    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    SIGN = "sign", "Signed"
    AMEND = "amend", "Amended"
    VOID = "void", "Voided"
    ACKNOWLEDGE = "acknowledge", "Acknowledged"
    EXPORT = "export", "Exported"


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise models.ProtectedError("The audit trail is append-only.", set())

    def delete(self):
        raise models.ProtectedError("The audit trail is append-only.", set())


class AuditEvent(models.Model):
    """Append-only: who read or changed which record, when, from where. On PostgreSQL a
    trigger (migration 0002) also refuses UPDATE and DELETE from any client."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField()
    actor = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True)
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+", null=True)
    record_type = models.CharField(max_length=60)
    record_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True)
    detail = models.CharField(max_length=300, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # Serves the per-patient audit page, newest first.
            models.Index(fields=["patient", "-at"], name="audit_patient_at"),
            # Serves "who changed this record last" for a save refused as stale (RecordChanged).
            models.Index(fields=["record_type", "record_id", "-at"], name="audit_record_at"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_username or 'system'} {self.action} {self.record_type}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise models.ProtectedError("The audit trail is append-only.", {self})
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise models.ProtectedError("The audit trail is append-only.", {self})
