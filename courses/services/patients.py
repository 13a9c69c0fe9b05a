"""Patients and their weights."""

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from courses import bedside, rules
from courses.audit import audit
from courses.choices import Channel
from courses.kinds import PATIENT_FIELDS
from courses.models import AuditAction, ClinicSettings, Patient, WeightMeasurement
from courses.services.base import (
    ANY_STAFF,
    _amendment,
    _decimal,
    _ensure_editable,
    _json_value,
    _range_or_fail,
    _refuse_unknown,
    _require_role,
    _reread,
    _save,
    _save_audited,
    check_version,
)
from kernel import clock
from kernel.clock import record_year_errors
from kernel.text import REASON_MAX
from kernel.validation import fail, optional_text, required_text


def _check_birth_date(value: date, today: date) -> None:
    if value > today:
        fail("date_of_birth", "Date of birth cannot be in the future.")
    if value.year < 1900:
        fail("date_of_birth", "Date of birth must be in 1900 or later.")


def _check_mrn_free(mrn: str | None, patient: Patient | None = None) -> None:
    """An MRN no other patient holds: "demo-0002" and "DEMO-0002" are one chart. The comparison
    is the database's lower(), as in the constraint patient_mrn_unique_any_case, so the two agree."""
    if not mrn or not isinstance(mrn, str):
        return
    if message := rules.mrn_character_error(mrn):
        fail("mrn", message)
    others = Patient.objects.alias(mrn_lower=Lower("mrn")).filter(mrn_lower=Lower(Value(mrn)))
    if patient is not None:
        others = others.exclude(pk=patient.pk)
    if others.exists():
        fail("mrn", rules.MRN_TAKEN)


@transaction.atomic
def patient_register(
    *,
    by: User,
    mrn: str = "",
    given_name: str = "",
    family_name: str = "",
    date_of_birth: date | None = None,
    sex: str = "",
    race_ethnicity: str = "",
    email: str = "",
    phone: str = "",
    preferred_channel: str = Channel.EMAIL,
    weight_kg: Decimal | str | None = None,
    now: datetime | None = None,
) -> Patient:
    """Register a patient (the names of kinds.PATIENT_FIELDS), with a first weight if `weight_kg` is given."""
    now = clock.now(now)
    _require_role(by, ANY_STAFF, "register a patient")
    if date_of_birth:
        _check_birth_date(date_of_birth, timezone.localdate(now))
    _check_mrn_free(mrn)
    patient = _save(
        Patient(
            created_at=now,
            created_by=by,
            mrn=mrn,
            given_name=given_name,
            family_name=family_name,
            date_of_birth=date_of_birth,
            sex=sex,
            race_ethnicity=race_ethnicity,
            email=email,
            phone=phone,
            preferred_channel=preferred_channel,
        )
    )
    if weight_kg not in (None, ""):
        weight_add(patient=patient, by=by, measured_on=timezone.localdate(now), weight_kg=weight_kg, now=now)
    audit(actor=by, action=AuditAction.CREATE, patient=patient, record=patient, at=now)
    return patient


@transaction.atomic
def patient_update(
    *,
    patient: Patient,
    by: User,
    changes: Mapping[str, object],
    version: int | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Patient:
    """Demographics and contact details: not a signed record, so edited in place and audited.
    `changes`: field → new value, of kinds.PATIENT_FIELDS (another name is refused, naming it).
    The date of birth is the exception once the patient has a course, or when the change crosses
    the minimum age: it decides the age rule, so changing it is a correction with a reason, kept
    with the old value (an Amendment)."""
    now = clock.now(now)
    _require_role(by, ANY_STAFF, "edit a patient's details")
    patient = _reread(patient)
    check_version(patient, version)
    _ensure_editable(patient)
    _refuse_unknown(changes, PATIENT_FIELDS, "patient")
    fields = dict(changes)
    if fields.get("date_of_birth"):
        _check_birth_date(fields["date_of_birth"], timezone.localdate(now))
    _check_mrn_free(fields.get("mrn"), patient)
    changed = sorted(k for k, v in fields.items() if getattr(patient, k) != v)
    correction = None
    if "date_of_birth" in changed and (patient.courses.exists() or _crosses_minimum_age(patient, fields, now)):
        correction = {
            "date_of_birth": {"from": _json_value(patient.date_of_birth), "to": _json_value(fields["date_of_birth"])}
        }
        reason = required_text(
            "reason",
            reason,
            "The date of birth decides the minimum-age rule for this patient's course: say why it changes "
            "(the old date is kept with the reason).",
            REASON_MAX,
        )
    for key, value in fields.items():
        setattr(patient, key, value)
    _save(patient)
    if correction:
        _amendment(patient, patient, correction, reason, by, now)
    if changed:
        audit(
            actor=by,
            action=AuditAction.UPDATE,
            patient=patient,
            record=patient,
            detail="fields: " + ", ".join(changed),
            at=now,
        )
    return patient


def _crosses_minimum_age(patient: Patient, fields: Mapping[str, object], now: datetime) -> bool:
    """Would the new date of birth move the patient across the clinic's minimum age (either way)?
    Then it is the age rule's business, course or not: a correction with a reason."""
    today, minimum = timezone.localdate(now), ClinicSettings.load().minimum_age_years
    old, new = patient.date_of_birth, fields["date_of_birth"]
    return (
        old is not None
        and new is not None
        and (bedside.age_on(old, today) < minimum) != (bedside.age_on(new, today) < minimum)
    )


@transaction.atomic
def weight_add(
    *, patient: Patient, by: User, measured_on: date, weight_kg, change_reason: str = "", now: datetime | None = None
):
    now = clock.now(now)
    _require_role(by, ANY_STAFF, "record a weight")
    _ensure_editable(patient)
    weight = _decimal("weight_kg", weight_kg, "Weight")
    _range_or_fail("weight_kg", weight, *rules.WEIGHT_RANGE_KG, "Weight", " kg")
    if measured_on > timezone.localdate(now):
        fail("measured_on", "A weight cannot be dated in the future.")
    year_errors = record_year_errors({"measured_on": measured_on})
    if year_errors:
        raise ValidationError(year_errors)
    # mg/kg comes from this number: a jump no body makes in a fortnight is most likely a typing
    # slip (70 kg entered as 110 hides an over-maximum dose), so it is taken only with a reason.
    change_reason = optional_text("change_reason", change_reason, REASON_MAX)
    window = rules.WEIGHT_JUMP_DAYS
    for near in patient.weights.active().filter(
        measured_on__gte=measured_on - timedelta(days=window), measured_on__lte=measured_on + timedelta(days=window)
    ):
        if abs(weight - near.weight_kg) > near.weight_kg * rules.WEIGHT_JUMP_FRACTION and not change_reason:
            fail(
                "weight_kg",
                f"{weight} kg differs by more than {rules.WEIGHT_JUMP_FRACTION:.0%} from the {near.weight_kg} kg "
                f"recorded on {near.measured_on:%Y-%m-%d}: weigh again. If it is right, record it on the patient's "
                "page with why it differs (change_reason): it changed, or the earlier one was wrong.",
            )
    return _save_audited(
        WeightMeasurement(
            patient=patient,
            measured_on=measured_on,
            weight_kg=weight,
            change_reason=change_reason,
            created_at=now,
            created_by=by,
        ),
        by=by,
        action=AuditAction.CREATE,
        patient=patient,
        now=now,
    )
