"""A record's life after entry: signing, editing before signing, amending after, voiding.

One path for every kind of record: what differs between kinds (who may sign, correct or void
it, its own checks, what locks it) is asked of its entry in `courses.kinds`, filled by
`courses/services/record_rules.py`.
"""

from collections.abc import Mapping
from datetime import datetime

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from accounts.models import User
from courses import kinds
from courses.audit import audit
from courses.models import Amendment, AuditAction, SignableRecord
from courses.selectors import record_patient, record_patients
from courses.services import record_rules  # noqa: F401  (fills the kinds' rules before any is asked)
from courses.services.base import (
    _amendment,
    _course_changed,
    _ensure_editable,
    _json_value,
    _save,
    _save_audited,
    check_version,
)
from kernel import clock
from kernel.text import REASON_MAX
from kernel.validation import fail, required_text


def _kind(record) -> kinds.RecordKind:
    return kinds.of(record)


@transaction.atomic
def record_sign(
    *, record: SignableRecord, by: User, version: int | None = None, now: datetime | None = None
) -> SignableRecord:
    now = clock.now(now)
    record = type(record).objects.select_for_update().get(pk=record.pk)
    _ensure_editable(record)
    kind = _kind(record)
    if kind.sign_check is None:
        raise ValidationError({NON_FIELD_ERRORS: f"A {record._meta.verbose_name} is not signed."})
    kind.sign_check(record, by)
    # A signature attests to what the signer saw: not to a change made since.
    check_version(record, version)
    record.signed_at, record.signed_by = now, by
    _save_audited(record, by=by, action=AuditAction.SIGN, patients=record_patients(record), now=now)
    return record


def _recheck(kind: kinds.RecordKind, record, *, by: User, now: datetime, changed: set[str], before: dict, **extra):
    """Re-run the record's own rules after a change, exactly as on entry. `before`: the changed
    fields' values as they were, for rules about the change itself."""
    if kind.recheck is not None:
        kind.recheck(record, by=by, now=now, changed=changed, before=before, **extra)


def _locked(kind: kinds.RecordKind, record) -> bool:
    """Corrected only with a reason: signed, always amended (a vital reading), or locked by what
    it belongs to (see the kind's `locked`)."""
    return (
        kind.always_amended
        or (isinstance(record, SignableRecord) and record.is_signed)
        or (kind.locked is not None and kind.locked(record))
    )


@transaction.atomic
def record_amend(
    *,
    record,
    by: User,
    changes: Mapping[str, object],
    reason: str,
    version: int | None = None,
    now: datetime | None = None,
) -> Amendment:
    """Correct a locked (signed) record: the change, who, when and why are kept beside it."""
    now = clock.now(now)
    record = type(record).objects.select_for_update().get(pk=record.pk)
    kind = _kind(record)
    if getattr(record, "is_voided", False):
        fail(NON_FIELD_ERRORS, "A voided record cannot be amended.")
    if not _locked(kind, record):
        fail(NON_FIELD_ERRORS, "This record is not signed yet: edit it directly instead of amending it.")
    kind.amend_permission(record, by)
    check_version(record, version)
    reason = required_text("reason", reason, "Say why the record is being corrected.", REASON_MAX)
    allowed = kind.amendable
    wrong = sorted(set(changes) - set(allowed))
    if wrong:
        fail("changes", f"These fields cannot be amended: {', '.join(wrong)}. Amendable: {', '.join(allowed)}.")
    diff, before = {}, {}
    for field, value in changes.items():
        old = getattr(record, field)
        if old != value:
            diff[field] = {"from": _json_value(old), "to": _json_value(value)}
            before[field] = old
            setattr(record, field, value)
    if not diff:
        fail("changes", "Nothing would change: the values are the same as the signed record.")
    after = kind.watch(record, by=by, now=now) if kind.watch is not None else None
    exception_before = getattr(record, "discharge_exception_reason", None)
    _recheck(kind, record, by=by, now=now, changed=set(diff), before=before, reason=reason, correcting=True)
    if getattr(record, "discharge_exception_reason", None) != exception_before:
        diff["discharge_exception_reason"] = {"from": exception_before, "to": record.discharge_exception_reason}
    _save(record)
    if after is not None:
        after(f"Corrected: {reason}", before)
    amendment = _amendment(record, record_patient(record), diff, reason, by, now)
    for patient in record_patients(record):
        audit(
            actor=by,
            action=AuditAction.AMEND,
            patient=patient,
            record=record,
            detail="fields: " + ", ".join(sorted(diff)),
            at=now,
        )
    _course_changed(record, now)
    return amendment


@transaction.atomic
def record_update(
    *,
    record,
    by: User,
    changes: Mapping[str, object],
    version: int | None = None,
    now: datetime | None = None,
):
    """Edit a record that is not yet signed, under the same rules as on entry. `changes`: field →
    new value, of the kind's `editable` fields (courses.kinds); another name is refused, naming it,
    whoever chose the names (the API's PATCH passes the JSON object's keys)."""
    now = clock.now(now)
    record = type(record).objects.select_for_update().get(pk=record.pk)
    kind = _kind(record)
    if kind.update is None:  # a kind's own update checks the role, then the version
        kind.amend_permission(record, by)
    _ensure_editable(record)
    if kind.always_amended:
        fail(
            NON_FIELD_ERRORS,
            "A vital-sign reading is not edited in place: correct it with an amendment, giving the reason; the "
            "original values stay beside the correction.",
        )
    if kind.update is not None:
        return kind.update(record, by=by, version=version, now=now, changes=changes)
    check_version(record, version)
    allowed = kind.editable
    wrong = sorted(set(changes) - set(allowed))
    if wrong:
        fail(NON_FIELD_ERRORS, f"These fields cannot be edited: {', '.join(wrong)}.")
    before = {field: getattr(record, field) for field in changes}
    for field, value in changes.items():
        setattr(record, field, value)
    _recheck(kind, record, by=by, now=now, changed=set(changes), before=before, reason="", correcting=False)
    _save_audited(
        record,
        by=by,
        action=AuditAction.UPDATE,
        patients=record_patients(record),
        detail="fields: " + ", ".join(sorted(changes)),
        now=now,
    )
    return record


@transaction.atomic
def record_void(*, record, by: User, reason: str, version: int | None = None, now: datetime | None = None):
    """Void a record entered in error. It stays, marked, with who voided it and why."""
    now = clock.now(now)
    record = type(record).objects.select_for_update().get(pk=record.pk)
    kind = _kind(record)
    kind.void_permission(record, by)
    check_version(record, version)
    if record.voided_at is not None:
        fail(NON_FIELD_ERRORS, "This record is already voided.")
    reason = required_text("reason", reason, "Say why the record is voided.", REASON_MAX)
    if kind.void_check is not None:
        kind.void_check(record)
    after = kind.watch(record, by=by, now=now) if kind.watch is not None else None
    record.voided_at, record.voided_by, record.void_reason = now, by, reason
    _save(record)
    if after is not None:
        after(f"Voided: {reason}")
    for patient in record_patients(record):
        audit(actor=by, action=AuditAction.VOID, patient=patient, record=record, at=now)
    _course_changed(record, now)
    return record
