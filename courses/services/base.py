"""The kernel of the course services: saving a record under its rules, the version check,
locks, the shared input and role checks, and the one audited save.

Every workflow module of `courses.services` builds on these; nothing here knows a workflow.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models import DateField, Model
from django.utils import timezone

from accounts.models import Role, User
from courses import hooks, kinds, rules
from courses.audit import audit, record_label
from courses.choices import CLOSED_STATUSES
from courses.models import (
    AdverseEvent,
    Amendment,
    AuditAction,
    AuditEvent,
    Course,
    Dose,
    DosingSession,
    Patient,
    SignableRecord,
    VitalReading,
)
from kernel.clock import record_year_errors
from kernel.concurrency import StaleWrite
from kernel.constraints import constraint_errors, raise_constraint_errors
from kernel.validation import fail

# A reading more than this far in the future is a clock or typing error, not a plan.
FUTURE_TOLERANCE = timedelta(minutes=5)


def _refuse_unknown(fields, allowed, what: str) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        fail(NON_FIELD_ERRORS, f"Unknown {what} field(s): {', '.join(unknown)}. Allowed: {', '.join(allowed)}.")


def _require_role(user: User, roles: set[str], doing: str) -> None:
    """A clinical act needs the clinical role. A superuser without one administers the system
    (staff, settings) but does not clear, override, dose, sign or write the record."""
    if user.role in roles:
        return
    names = " or ".join(sorted(Role(r).label.lower() for r in roles))
    if user.is_superuser:
        raise PermissionDenied(
            f"Only a {names} can {doing}. Administrator accounts without a clinical role cannot act on the record."
        )
    raise PermissionDenied(f"Only a {names} can {doing}.")


def _require_lead(user: User, doing: str) -> None:
    """Administration of the practice (settings, staff): a practice lead, or a superuser."""
    if not user.is_practice_lead:
        raise PermissionDenied(f"Only a practice lead can {doing}.")


CLINICIANS = {Role.THERAPIST, Role.MEDICAL_PROVIDER}


ANY_STAFF = {Role.THERAPIST, Role.MEDICAL_PROVIDER, Role.PRACTICE_LEAD}


# Row constraints a caller can break with plain input, and the field message each deserves;
# without these full_clean answers only "Constraint … is violated." against no field.
CONSTRAINT_MESSAGES: dict[str, tuple[str, str]] = {
    "patient_email_channel_has_email": ("email", "Questionnaires by email need an email address."),
    "patient_sms_channel_has_phone": ("phone", "Questionnaires by text message need a phone number."),
    "patient_mrn_unique_any_case": ("mrn", rules.MRN_TAKEN),
    "course_other_indication_described": ("indication_detail", "Describe the indication when it is 'Other'."),
    "course_planned_sessions_range": ("planned_dosing_sessions", "Plan between 1 and 20 dosing sessions."),
    "preparatory_session_duration_range": ("duration_minutes", "A session lasts 5 to 480 minutes."),
    "integration_session_duration_range": ("duration_minutes", "A session lasts 5 to 480 minutes."),
    "adverse_event_other_described": ("term_other", "Describe the event when the term is 'Other'."),
    "clinic_settings_iv_max_positive": ("max_iv_mg_per_kg", "The IV maximum must be above 0 mg/kg."),
    "clinic_settings_im_max_positive": ("max_im_mg_per_kg", "The IM maximum must be above 0 mg/kg."),
    "clinic_settings_in_max_positive": ("max_intranasal_mg", "The intranasal maximum must be above 0 mg."),
    "clinic_settings_sl_max_positive": ("max_sublingual_mg", "The sublingual maximum must be above 0 mg."),
    **{
        name: (
            field,
            f"{label} must be between {rules.SETTING_RANGES[field][0]} and {rules.SETTING_RANGES[field][1]} {unit}.",
        )
        for name, (field, label, unit) in {
            "clinic_settings_hold_systolic_range": ("hold_systolic", "The systolic hold", "mmHg"),
            "clinic_settings_hold_diastolic_range": ("hold_diastolic", "The diastolic hold", "mmHg"),
            "clinic_settings_alert_systolic_range": ("alert_systolic", "The systolic alert", "mmHg"),
            "clinic_settings_alert_diastolic_range": ("alert_diastolic", "The diastolic alert", "mmHg"),
            "clinic_settings_alert_hr_range": ("alert_heart_rate", "The heart-rate alert", "/min"),
            "clinic_settings_alert_spo2_range": ("alert_spo2_below", "The SpO2 alert", "%"),
            "clinic_settings_alert_rr_range": ("alert_respiratory_rate_below", "The respiratory-rate alert", "/min"),
            "clinic_settings_dose_interval_range": (
                "min_dose_interval_hours",
                "The minimum interval between doses",
                "hours",
            ),
        }.items()
    },
    "clinic_settings_hold_recheck_range": (
        "hold_recheck_minutes",
        "The re-check interval after a hold must be between 5 and 120 minutes.",
    ),
    "clinic_settings_vitals_interval_range": (
        "vitals_interval_minutes",
        "Vitals during monitoring are due every 5 to 60 minutes.",
    ),
    "clinic_settings_esketamine_monitoring_range": (
        "monitoring_minutes_esketamine",
        f"Monitoring after intranasal esketamine is at least {rules.ESKETAMINE_MONITORING_FLOOR_MINUTES} minutes "
        "(the SPRAVATO REMS) and at most 720.",
    ),
    "clinic_settings_other_monitoring_range": (
        "monitoring_minutes_other",
        f"Monitoring is at least {rules.OTHER_MONITORING_FLOOR_MINUTES} minutes (it must cover the reading at about "
        "40 minutes) and at most 720.",
    ),
    "clinic_settings_weight_age_range": (
        "weight_max_age_days",
        "A recorded weight may be used for 1 to 365 days.",
    ),
    "clinic_settings_screen_valid_range": (
        "screen_valid_months",
        "A contraindication screen is valid for 1 to 24 months.",
    ),
    "clinic_settings_minimum_age_range": ("minimum_age_years", "The minimum age must be between 12 and 25 years."),
    "clinic_settings_iv_ceiling": ("ceiling_iv_mg_per_kg", "The IV ceiling must be at least the IV maximum."),
    "clinic_settings_im_ceiling": ("ceiling_im_mg_per_kg", "The IM ceiling must be at least the IM maximum."),
    "clinic_settings_in_ceiling": (
        "ceiling_intranasal_mg",
        "The intranasal ceiling must be at least the intranasal maximum.",
    ),
    "clinic_settings_sl_ceiling": (
        "ceiling_sublingual_mg",
        "The sublingual ceiling must be at least the sublingual maximum.",
    ),
    **{
        f"clinic_settings_{field}_bound": (
            field,
            f"At most {bound} {'mg/kg' if field.endswith('per_kg') else 'mg'}: a higher limit is a typing slip.",
        )
        for field, bound in rules.SETTINGS_DOSE_BOUNDS.items()
    },
    "dosing_participant_dosed_fasting_confirmed": (
        "fasting_confirmed",
        "A dose is given only on a confirmed fast: confirm fasting (2 h solids, 30 min liquids) first.",
    ),
    "dosing_participant_no_dose_when_pregnant": (
        "pregnancy_test",
        "No dose with a positive pregnancy test. A positive result after the dose is an adverse event: record it "
        "as one and tell the practice lead.",
    ),
    "adverse_event_grade5_fatal": ("outcome", "Grade 5 is death: the outcome is 'fatal', and only then."),
}


def _save(record: Model) -> Model:
    # full_clean checks field limits and the row's constraints before the database sees them,
    # so a broken rule becomes a field message instead of an IntegrityError.
    # The fields' own limits come first: a constraint is checked by a query carrying the values,
    # and a number past its column's range (99999999999999999999) would fail in the database
    # driver (OverflowError on SQLite) instead of becoming "at most 32767" on the field. Every
    # date of every record is held to the years a clinical record can hold, whatever the entry point.
    dates = {f.name: getattr(record, f.attname) for f in record._meta.concrete_fields if isinstance(f, DateField)}
    errors: dict[str, str] = record_year_errors(dates)
    if errors:
        raise ValidationError(errors)
    record.clean_fields()
    # Every constraint checked once, the check constraints in one query (kernel/constraints.py);
    # a broken one with words of ours becomes them, on its field.
    broken = constraint_errors(record)
    for constraint, _error in broken:
        if constraint.name in CONSTRAINT_MESSAGES:
            field, message = CONSTRAINT_MESSAGES[constraint.name]
            errors.setdefault(field, message)
    if errors:
        raise ValidationError(errors)
    # The rest of full_clean: the model's own clean(), uniqueness, then the other constraints.
    found: dict = {}
    for step in (record.clean, record.validate_unique):
        try:
            step()
        except ValidationError as exc:
            found = exc.update_error_dict(found)
    raise_constraint_errors(broken, found)
    record.save()
    return record


def _save_audited(
    record: Model,
    *,
    by: User,
    action: str,
    now: datetime,
    patient: Patient | None = None,
    patients: Iterable[Patient] | None = None,
    detail: str = "",
    record_type: str = "",
) -> Model:
    """The tail every write shares: save the record under its rules (`_save`), then append its
    audit event: one for `patient` (None for a record of no patient), or one per patient of
    `patients` (a record several patients share, such as a group session)."""
    _save(record)
    for each in [patient] if patients is None else patients:
        audit(actor=by, action=action, patient=each, record=record, record_type=record_type, detail=detail, at=now)
    return record


def _reread(record: Model) -> Model:
    """The row as it is now, locked: rules are judged on the database's state, not on an
    instance the caller may have loaded before another write changed it."""
    return type(record).objects.select_for_update().get(pk=record.pk)


class RecordChanged(StaleWrite):
    """Someone saved the record after the caller read it (optimistic concurrency).

    Raised instead of writing over their change: the caller shows the record as it is now and
    lets the user save again on top of it. `who` and `when` come from the audit trail."""

    def __init__(self, record, read_version: int):
        self.record = record
        self.read_version = read_version
        # The kind's former labels too: events written before a rename still say who changed it.
        labels = kinds.of(record).labels if kinds.is_kind(record) else (record_label(record),)
        last = (
            AuditEvent.objects.filter(record_type__in=labels, record_id=str(record.pk))
            .exclude(action=AuditAction.VIEW)
            .select_related("actor")
            .first()
        )
        self.changed_by = (last.actor.get_full_name() or last.actor_username) if last and last.actor else ""
        self.changed_at = last.at if last else None
        label = record._meta.verbose_name
        who = f" by {self.changed_by}" if self.changed_by else ""
        when = f" at {timezone.localtime(self.changed_at):%H:%M on %b %-d}" if self.changed_at else ""
        super().__init__(
            f"This {label} was changed{who}{when}, after you opened it. Nothing of yours was saved: "
            "review the record as it is now and save again."
        )


def check_version(record, version: int | None) -> None:
    """Refuse a write based on an older read. `version` None means the caller holds the row's
    lock and read it itself (Celery, management commands), so there is nothing to compare."""
    if version is not None and version != record.version:
        raise RecordChanged(record, version)


def _ensure_editable(record) -> None:
    """A signed record is locked, and so is everything recorded under it; voided ones too."""
    if getattr(record, "is_voided", False):
        fail(NON_FIELD_ERRORS, "This record has been voided and cannot be changed.")
    if isinstance(record, SignableRecord) and record.is_signed:
        fail(
            NON_FIELD_ERRORS,
            f"This {record._meta.verbose_name} was signed on {timezone.localtime(record.signed_at):%Y-%m-%d %H:%M} "
            "and is locked. Add an amendment to correct it.",
        )
    if isinstance(record, (VitalReading, AdverseEvent)):
        _ensure_editable(record.dose)
    if isinstance(record, Dose) and record.session.is_voided:
        fail(NON_FIELD_ERRORS, "This dosing session has been voided.")


def _ensure_course_open(course: Course) -> None:
    if course.is_voided:
        fail("course", "This course has been voided.")
    if course.status in CLOSED_STATUSES:
        fail(
            "course",
            f"This course is {course.get_status_display().lower()}; reopen is not possible, open a new course.",
        )


def _range_or_fail(field: str, value, low, high, label: str, unit: str = "") -> None:
    if value is not None and not low <= value <= high:
        fail(field, f"{label} must be between {low} and {high}{unit}; {value} was entered.")


def _decimal(field: str, value, label: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        fail(field, f"{label} must be a number.")


def _course_changed(record, now: datetime) -> None:
    """Announce a course event (opening, a dose added or given, a stage change, a stopped
    follow-up, an amendment or void) to what follows the course: `courses.hooks.course_changed`,
    sent once per course the record belongs to. Receivers run synchronously, in the caller's
    transaction (the measure schedule is re-planned there, so it is never out of step)."""
    if isinstance(record, Course):
        courses = [record]
    elif isinstance(record, Dose):
        courses = [record.course]
    elif isinstance(record, DosingSession):
        courses = [p.course for p in record.doses.select_related("course")]
    else:
        courses = []
    for course in courses:
        hooks.send_course_changed(course=course, now=now)


def _check_choices(field: str, values, choices) -> list[str]:
    """Known values, each once, in the order given (a list of 5,000 repeats was stored as sent)."""
    if values is None:
        values = []
    if not isinstance(values, list | tuple):
        fail(field, f"Send a list of values chosen from: {', '.join(choices.values)}.")
    wrong = [v for v in values if not isinstance(v, str) or v not in choices.values]
    if wrong:
        shown = ", ".join(dict.fromkeys(map(str, wrong[:10])))
        fail(field, f"Unknown value(s): {shown}. Choose from: {', '.join(choices.values)}.")
    return list(dict.fromkeys(values))


def _amendment(record, patient: Patient, changes: dict, reason: str, by: User, now: datetime) -> Amendment:
    """The correction kept beside the record: who, when, why, and each field's old and new value."""
    return Amendment.objects.create(
        record_type=record._meta.model_name,
        record_id=record.pk,
        patient=patient,
        changes=changes,
        reason=reason,
        amended_at=now,
        amended_by=by,
    )


def _json_value(value):
    if isinstance(value, datetime):
        # Both sides of a change in the clinic's time, as the pages show them.
        return str(timezone.localtime(value)) if timezone.is_aware(value) else str(value)
    if isinstance(value, (date, Decimal)):
        return str(value)
    return value


def _require_facilitator(session: DosingSession, by: User, doing: str) -> None:
    _require_role(by, {Role.THERAPIST}, doing)
    if not session.facilitators.filter(pk=by.pk).exists():
        raise PermissionDenied(f"Only a facilitator of this session can {doing}.")
