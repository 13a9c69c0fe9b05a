"""What every clinical row is: kept for good (Permanent), voidable with a reason (ClinicalRecord),
signed (SignableRecord), versioned against stale saves; and the column helpers the models share
(free text with its limit, printable names, screen answers, range checks)."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.deconstruct import deconstructible

from courses import rules
from courses.choices import ScreenAnswer
from kernel.text import REASON_MAX, TEXT_MAX, name_character_error, text_length_error

STAFF = settings.AUTH_USER_MODEL


@deconstructible(path="courses.models.TextLimit")
class TextLimit:
    """Free text no longer than its field holds (text_length_error says how it is put)."""

    def __init__(self, limit: int):
        self.limit = limit

    def __call__(self, value) -> None:
        message = text_length_error(str(value), self.limit)
        if message:
            raise ValidationError(message, code="max_length")

    def __eq__(self, other) -> bool:
        return isinstance(other, TextLimit) and other.limit == self.limit


@deconstructible(path="courses.models.PrintableName")
class PrintableName:
    """A name or identifier without control or text-direction characters (name_character_error)."""

    def __call__(self, value) -> None:
        message = name_character_error(str(value))
        if message:
            raise ValidationError(message, code="unprintable")

    def __eq__(self, other) -> bool:
        return isinstance(other, PrintableName)


def free_text(*args, limit: int = TEXT_MAX, **kwargs) -> models.TextField:
    """A text column a person types into. The limit reaches the web form (maxlength), the API
    schema (maxLength) and full_clean, so every entry point refuses the same thing."""
    return models.TextField(*args, max_length=limit, validators=[TextLimit(limit)], **kwargs)


def range_check(field: str, low, high, name: str, nullable: bool = True) -> models.CheckConstraint:
    cond = Q(**{f"{field}__gte": low, f"{field}__lte": high})
    if nullable:
        cond |= Q(**{f"{field}__isnull": True})
    return models.CheckConstraint(condition=cond, name=name)


def screen_answer(verbose_name: str | None = None) -> models.CharField:
    """A contraindication-screen answer: yes, no or unknown; blank until someone answers."""
    return models.CharField(verbose_name, max_length=8, choices=ScreenAnswer.choices, blank=True, default="")


def all_answered_yes_or_no(fields) -> Q:
    condition = Q()
    for name in fields:
        condition &= Q(**{f"{name}__in": [rules.YES, rules.NO]})
    return condition


def vital_checks(prefix: str) -> list[models.CheckConstraint]:
    return [
        range_check(field, low, high, f"{prefix}_{field}_plausible")
        for field, (low, high, _unit) in rules.VITAL_RANGES.items()
    ]


class PermanentQuerySet(models.QuerySet):
    """A bulk delete is refused like a single one."""

    def delete(self):
        raise models.ProtectedError("Clinical records are voided, never deleted.", set())


class Permanent(models.Model):
    """A row of the clinical record, kept for good: voided, cancelled or superseded, never
    deleted. On PostgreSQL a trigger (migration 0005) refuses DELETE from any client too."""

    objects = PermanentQuerySet.as_manager()

    class Meta:
        abstract = True

    def delete(self, *args, **kwargs):
        raise models.ProtectedError("Clinical records are voided, never deleted.", [self])


class VoidableQuerySet(PermanentQuerySet):
    def active(self):
        return self.filter(voided_at__isnull=True)


class ClinicalRecord(Permanent):
    """Fields every clinical row carries: who made it, and voiding instead of deleting."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    void_reason = free_text(blank=True, limit=REASON_MAX)
    # Optimistic concurrency: a writer says which version it read, and a save over a newer
    # version is refused (services.RecordChanged) instead of silently overwriting it.
    version = models.PositiveIntegerField(default=1, editable=False)

    # Columns the system keeps for itself (a notice sent, say): no one edits them on a form, so
    # writing only these does not move the version on and does not refuse an edit opened before.
    BOOKKEEPING_FIELDS: frozenset[str] = frozenset()

    objects = VoidableQuerySet.as_manager()

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=Q(voided_at__isnull=True) | ~Q(void_reason=""),
                name="%(app_label)s_%(class)s_void_has_reason",
            ),
        ]

    def save(self, *args, **kwargs):
        # Every write of an existing row moves the version on, whichever service made it, except
        # one that writes only bookkeeping columns.
        update_fields = kwargs.get("update_fields")
        bookkeeping_only = update_fields is not None and set(update_fields) <= self.BOOKKEEPING_FIELDS
        if not self._state.adding and not bookkeeping_only:
            self.version += 1
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "version"}
        super().save(*args, **kwargs)

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None


class SignableRecord(ClinicalRecord):
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(STAFF, on_delete=models.PROTECT, related_name="+", null=True, blank=True)

    class Meta:
        abstract = True
        constraints = ClinicalRecord.Meta.constraints + [
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True, signed_by__isnull=True)
                | Q(signed_at__isnull=False, signed_by__isnull=False),
                name="%(app_label)s_%(class)s_signature_complete",
            ),
        ]

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None
