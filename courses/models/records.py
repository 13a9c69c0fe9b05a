"""Corrections to signed records."""

from django.db import models
from django.db.models import Q

from courses.models.base import STAFF, Permanent, free_text
from courses.models.patients import Patient
from kernel.text import REASON_MAX


class Amendment(Permanent):
    """A correction to a signed record: who, when, why, and each field's old and new value."""

    id = models.BigAutoField(primary_key=True)
    record_type = models.CharField(max_length=60)
    record_id = models.UUIDField()
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+", null=True)
    changes = models.JSONField()
    reason = free_text(limit=REASON_MAX)
    amended_at = models.DateTimeField()
    amended_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["amended_at", "id"]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="amendment_has_reason")]
        indexes = [models.Index(fields=["record_type", "record_id"], name="amendment_record")]

    def __str__(self) -> str:
        return f"Amendment of {self.record_type} ({', '.join(self.changes)})"
