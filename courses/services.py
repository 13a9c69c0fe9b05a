"""Writes to the course record. Every clinical rule has its one home here.

The web forms, the REST API, the admin and Celery tasks all call these functions. Each takes
keyword arguments, reads the clock once (`now`), runs in a transaction, audits what it did,
and refuses a broken rule with a ValidationError keyed by the field concerned.
"""

import logging
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import DateField, Model, Value
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Role, User
from courses import bedside, rules, safety
from courses.audit import audit, record_label
from courses.choices import (
    CLOSED_STATUSES,
    COURSE_STAGES,
    AdverseEventAction,
    AdverseEventOutcome,
    CourseStatus,
    InSessionAlertAction,
    IntegrationTechnique,
    PregnancyTest,
    PreparationTopic,
    Route,
    ScreenDecision,
    SeriousCriterion,
    SessionFormat,
    SuicideRisk,
    VitalPhase,
)
from courses.models import (
    AdverseEvent,
    Amendment,
    AuditAction,
    AuditEvent,
    ClinicSettings,
    Course,
    CourseStatusChange,
    DosingParticipant,
    DosingSession,
    HoldOverride,
    InSessionAlert,
    IntegrationSession,
    MedicalEvaluation,
    Patient,
    PreparatorySession,
    PsychiatricEvaluation,
    SignableRecord,
    VitalReading,
    WeightMeasurement,
)
from courses.selectors import record_patient, record_patients

logger = logging.getLogger(__name__)

MAX_PREPARATORY_SESSIONS = 2
# A reading more than this far in the future is a clock or typing error, not a plan.
FUTURE_TOLERANCE = timedelta(minutes=5)


def _fail(field: str, message: str):
    raise ValidationError({field: message})


def _optional_text(field: str, value: str, limit: int) -> str:
    """Free text written with create() or update(), where full_clean does not see it: trimmed,
    and no longer than its column holds."""
    text = (value or "").strip()
    too_long = rules.text_length_error(text, limit)
    if too_long:
        _fail(field, too_long)
    return text


def required_text(field: str, value: str, missing: str, limit: int) -> str:
    """The same for text the rules ask for (a reason, what was done): `missing` says what to write.
    Text with nothing visible in it (zero-width or blank-pattern characters only) is no reason."""
    text = _optional_text(field, value, limit)
    if not rules.has_visible_character(text):
        _fail(field, missing)
    return text


def _refuse_unknown(fields, allowed, what: str) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        _fail(NON_FIELD_ERRORS, f"Unknown {what} field(s): {', '.join(unknown)}. Allowed: {', '.join(allowed)}.")


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


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


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
    errors: dict[str, str] = rules.record_year_errors(dates)
    if errors:
        raise ValidationError(errors)
    record.clean_fields()
    for constraint in record._meta.constraints:
        if constraint.name in CONSTRAINT_MESSAGES:
            try:
                constraint.validate(type(record), record)
            except ValidationError:
                field, message = CONSTRAINT_MESSAGES[constraint.name]
                errors.setdefault(field, message)
    if errors:
        raise ValidationError(errors)
    record.full_clean()
    record.save()
    return record


def _reread(record: Model) -> Model:
    """The row as it is now, locked: rules are judged on the database's state, not on an
    instance the caller may have loaded before another write changed it."""
    return type(record).objects.select_for_update().get(pk=record.pk)


class RecordChanged(Exception):
    """Someone saved the record after the caller read it (optimistic concurrency).

    Raised instead of writing over their change: the caller shows the record as it is now and
    lets the user save again on top of it. `who` and `when` come from the audit trail."""

    def __init__(self, record, read_version: int):
        self.record = record
        self.read_version = read_version
        last = (
            AuditEvent.objects.filter(record_type=record_label(record), record_id=str(record.pk))
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
        _fail(NON_FIELD_ERRORS, "This record has been voided and cannot be changed.")
    if isinstance(record, SignableRecord) and record.is_signed:
        _fail(
            NON_FIELD_ERRORS,
            f"This {record._meta.verbose_name} was signed on {timezone.localtime(record.signed_at):%Y-%m-%d %H:%M} "
            "and is locked. Add an amendment to correct it.",
        )
    if isinstance(record, (VitalReading, AdverseEvent)):
        _ensure_editable(record.participant)
    if isinstance(record, DosingParticipant) and record.session.is_voided:
        _fail(NON_FIELD_ERRORS, "This dosing session has been voided.")


def _ensure_course_open(course: Course) -> None:
    if course.is_voided:
        _fail("course", "This course has been voided.")
    if course.status in CLOSED_STATUSES:
        _fail(
            "course",
            f"This course is {course.get_status_display().lower()}; reopen is not possible, open a new course.",
        )


def _range_or_fail(field: str, value, low, high, label: str, unit: str = "") -> None:
    if value is not None and not low <= value <= high:
        _fail(field, f"{label} must be between {low} and {high}{unit}; {value} was entered.")


def _decimal(field: str, value, label: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        _fail(field, f"{label} must be a number.")


# --- patients ---------------------------------------------------------------------------------


PATIENT_FIELDS = (
    "mrn",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "race_ethnicity",
    "email",
    "phone",
    "preferred_channel",
)


def _schedule_follows(record, now: datetime) -> None:
    """The measure schedule hangs on course events (opening, doses, stage, voids): re-plan it
    in the same transaction, so it is never out of step with the record."""
    from measures.services import schedule_sync  # measures builds on the course record

    if isinstance(record, Course):
        courses = [record]
    elif isinstance(record, DosingParticipant):
        courses = [record.course]
    elif isinstance(record, DosingSession):
        courses = [p.course for p in record.participants.select_related("course")]
    else:
        courses = []
    for course in courses:
        schedule_sync(course=course, now=now)


def _check_birth_date(value: date, today: date) -> None:
    if value > today:
        _fail("date_of_birth", "Date of birth cannot be in the future.")
    if value.year < 1900:
        _fail("date_of_birth", "Date of birth must be in 1900 or later.")


def _check_mrn_free(mrn: str | None, patient: Patient | None = None) -> None:
    """An MRN no other patient holds: "demo-0002" and "DEMO-0002" are one chart. The comparison
    is the database's lower(), as in the constraint patient_mrn_unique_any_case, so the two agree."""
    if not mrn or not isinstance(mrn, str):
        return
    if message := rules.mrn_character_error(mrn):
        _fail("mrn", message)
    others = Patient.objects.alias(mrn_lower=Lower("mrn")).filter(mrn_lower=Lower(Value(mrn)))
    if patient is not None:
        others = others.exclude(pk=patient.pk)
    if others.exists():
        _fail("mrn", rules.MRN_TAKEN)


@transaction.atomic
def patient_register(*, by: User, now: datetime | None = None, weight_kg=None, **fields) -> Patient:
    now = _now(now)
    _require_role(by, ANY_STAFF, "register a patient")
    _refuse_unknown(fields, PATIENT_FIELDS, "patient")
    if fields.get("date_of_birth"):
        _check_birth_date(fields["date_of_birth"], timezone.localdate(now))
    _check_mrn_free(fields.get("mrn"))
    patient = _save(Patient(created_at=now, created_by=by, **fields))
    if weight_kg not in (None, ""):
        weight_record(patient=patient, by=by, measured_on=timezone.localdate(now), weight_kg=weight_kg, now=now)
    audit(actor=by, action=AuditAction.CREATE, patient=patient, record=patient, at=now)
    return patient


@transaction.atomic
def patient_update(
    *,
    patient: Patient,
    by: User,
    version: int | None = None,
    reason: str = "",
    now: datetime | None = None,
    **fields,
) -> Patient:
    """Demographics and contact details: not a signed record, so edited in place and audited.
    The date of birth is the exception once the patient has a course, or when the change crosses
    the minimum age: it decides the age rule, so changing it is a correction with a reason, kept
    with the old value (an Amendment)."""
    now = _now(now)
    _require_role(by, ANY_STAFF, "edit a patient's details")
    patient = _reread(patient)
    check_version(patient, version)
    _ensure_editable(patient)
    _refuse_unknown(fields, PATIENT_FIELDS, "patient")
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
            rules.REASON_MAX,
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


def _crosses_minimum_age(patient: Patient, fields: dict, now: datetime) -> bool:
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
def weight_record(
    *, patient: Patient, by: User, measured_on: date, weight_kg, change_reason: str = "", now: datetime | None = None
):
    now = _now(now)
    _require_role(by, ANY_STAFF, "record a weight")
    _ensure_editable(patient)
    weight = _decimal("weight_kg", weight_kg, "Weight")
    _range_or_fail("weight_kg", weight, *rules.WEIGHT_RANGE_KG, "Weight", " kg")
    if measured_on > timezone.localdate(now):
        _fail("measured_on", "A weight cannot be dated in the future.")
    year_errors = rules.record_year_errors({"measured_on": measured_on})
    if year_errors:
        raise ValidationError(year_errors)
    # mg/kg comes from this number: a jump no body makes in a fortnight is most likely a typing
    # slip (70 kg entered as 110 hides an over-maximum dose), so it is taken only with a reason.
    change_reason = _optional_text("change_reason", change_reason, rules.REASON_MAX)
    window = rules.WEIGHT_JUMP_DAYS
    for near in patient.weights.active().filter(
        measured_on__gte=measured_on - timedelta(days=window), measured_on__lte=measured_on + timedelta(days=window)
    ):
        if abs(weight - near.weight_kg) > near.weight_kg * rules.WEIGHT_JUMP_FRACTION and not change_reason:
            _fail(
                "weight_kg",
                f"{weight} kg differs by more than {rules.WEIGHT_JUMP_FRACTION:.0%} from the {near.weight_kg} kg "
                f"recorded on {near.measured_on:%Y-%m-%d}: weigh again. If it is right, record it on the patient's "
                "page with why it differs (change_reason): it changed, or the earlier one was wrong.",
            )
    record = _save(
        WeightMeasurement(
            patient=patient,
            measured_on=measured_on,
            weight_kg=weight,
            change_reason=change_reason,
            created_at=now,
            created_by=by,
        )
    )
    audit(actor=by, action=AuditAction.CREATE, patient=patient, record=record, at=now)
    return record


# --- courses ----------------------------------------------------------------------------------


def _check_care_team(therapists, medical_provider) -> None:
    therapists = list(therapists)
    if not therapists:
        _fail("therapists", "Assign at least one therapist.")
    wrong = [str(t) for t in therapists if t.role != Role.THERAPIST or not t.is_active]
    if wrong:
        _fail("therapists", f"Not an active therapist: {', '.join(wrong)}.")
    if medical_provider is None or medical_provider.role != Role.MEDICAL_PROVIDER or not medical_provider.is_active:
        _fail("medical_provider", "Assign an active medical provider.")


def _event_day(
    field: str, day: date | None, reason_field: str, reason: str, *, today: date, earliest: tuple[date, str]
) -> tuple[date, str]:
    """The day an event happened, as typed: today by default; an earlier day with a reason (a late
    entry), never a future one, nor one before `earliest` (a day and what it is, for the message).
    Returns the day and the cleaned reason ("" for today)."""
    day = day or today
    errors = rules.record_year_errors({field: day})
    if errors:
        raise ValidationError(errors)
    if day > today:
        _fail(field, f"{day.isoformat()} is in the future: enter the day it happened, {today.isoformat()} or before.")
    floor, what = earliest
    if floor is not None and day < floor:
        _fail(field, f"{day.isoformat()} is before {what} ({floor.isoformat()}).")
    if day == today:
        if reason.strip():
            _fail(reason_field, "This happened today: no late-entry reason is needed; clear the field.")
        return day, ""
    return day, required_text(
        reason_field,
        reason,
        f"{day.isoformat()} is before today: say why it is recorded late (e.g. entered from the paper chart).",
        rules.REASON_MAX,
    )


def _under_age(patient: Patient, today: date) -> tuple[int, int] | None:
    """(age, minimum) when the patient is under the clinic's minimum age on that day."""
    minimum = ClinicSettings.load().minimum_age_years
    age = bedside.age_on(patient.date_of_birth, today)
    return (age, minimum) if age < minimum else None


@transaction.atomic
def course_open(
    *,
    patient: Patient,
    by: User,
    indication: str,
    therapists,
    medical_provider: User,
    format: str = SessionFormat.INDIVIDUAL,
    planned_dosing_sessions: int = 6,
    indication_detail: str = "",
    age_exception_reason: str = "",
    started_on: date | None = None,
    start_backdated_reason: str = "",
    now: datetime | None = None,
) -> Course:
    """Open a course. A patient under the clinic's minimum age starts one only on a practice
    lead's documented exception (`age_exception_reason`, given by a lead).

    The course starts today unless `started_on` says an earlier day (a course brought in from
    another record), with `start_backdated_reason`; never in the future."""
    now = _now(now)
    _require_role(by, ANY_STAFF, "open a course")
    _ensure_editable(patient)
    _check_care_team(therapists, medical_provider)
    started_on, start_backdated_reason = _event_day(
        "started_on",
        started_on,
        "start_backdated_reason",
        start_backdated_reason,
        today=timezone.localdate(now),
        earliest=(patient.date_of_birth, "the patient's date of birth"),
    )
    under = _under_age(patient, started_on)
    exception = _optional_text("age_exception_reason", age_exception_reason, rules.REASON_MAX)
    if under and not exception:
        age, minimum = under
        _fail(
            "age_exception_reason",
            f"The patient is {age}, under the clinic's minimum age of {minimum}: only a practice lead can open the "
            "course, with the reason for the exception.",
        )
    if exception and not under:
        _fail("age_exception_reason", "The patient is not under the minimum age: no exception is needed.")
    if exception and by.role != Role.PRACTICE_LEAD:
        raise PermissionDenied("Only a practice lead can make an exception to the clinic's minimum age.")
    course = _save(
        Course(
            patient=patient,
            indication=indication,
            indication_detail=indication_detail,
            format=format,
            medical_provider=medical_provider,
            planned_dosing_sessions=planned_dosing_sessions,
            status=CourseStatus.EVALUATION,
            # In evaluation from its start: a back-dated course's later changes may be back-dated too.
            status_changed_at=(now if not start_backdated_reason else _noon(started_on)),
            started_on=started_on,
            start_backdated_reason=start_backdated_reason,
            created_at=now,
            created_by=by,
            **(
                {"age_exception_reason": exception, "age_exception_at": now, "age_exception_by": by}
                if exception
                else {}
            ),
        )
    )
    course.therapists.set(therapists)
    audit(actor=by, action=AuditAction.CREATE, patient=patient, record=course, at=now)
    if start_backdated_reason:
        audit(
            actor=by,
            action=AuditAction.UPDATE,
            patient=patient,
            record=course,
            detail=f"start back-dated to {started_on.isoformat()}",
            at=now,
        )
    if exception:
        audit(
            actor=by, action=AuditAction.UPDATE, patient=patient, record=course, detail="minimum-age exception", at=now
        )
    _schedule_follows(course, now)
    return course


@transaction.atomic
def course_age_exception(*, course: Course, by: User, reason: str, now: datetime | None = None) -> Course:
    """A practice lead's documented exception to the minimum age, on a course already open (the
    date of birth was corrected, say). It shows on the course and in the audit trail."""
    now = _now(now)
    if by.role != Role.PRACTICE_LEAD:
        raise PermissionDenied("Only a practice lead can make an exception to the clinic's minimum age.")
    course = _reread(course)
    _ensure_editable(course)
    _ensure_course_open(course)
    if course.age_exception_at is not None:
        _fail(NON_FIELD_ERRORS, "This course already has a minimum-age exception.")
    if not _under_age(course.patient, timezone.localdate(now)):
        _fail("reason", "The patient is not under the minimum age: no exception is needed.")
    course.age_exception_reason = required_text(
        "reason", reason, "Say why this patient is treated under the clinic's minimum age.", rules.REASON_MAX
    )
    course.age_exception_at, course.age_exception_by = now, by
    _save(course)
    audit(
        actor=by,
        action=AuditAction.UPDATE,
        patient=course.patient,
        record=course,
        detail="minimum-age exception",
        at=now,
    )
    return course


@transaction.atomic
def course_update_team(
    *,
    course: Course,
    by: User,
    therapists=None,
    medical_provider=None,
    planned_dosing_sessions=None,
    version: int | None = None,
    now=None,
) -> Course:
    now = _now(now)
    _require_role(by, ANY_STAFF, "change a course's care team")
    course = _reread(course)
    _ensure_editable(course)
    check_version(course, version)
    _ensure_course_open(course)
    therapists = list(therapists) if therapists is not None else list(course.therapists.all())
    medical_provider = medical_provider or course.medical_provider
    _check_care_team(therapists, medical_provider)
    course.medical_provider = medical_provider
    if planned_dosing_sessions is not None:
        course.planned_dosing_sessions = planned_dosing_sessions
    _save(course)
    course.therapists.set(therapists)
    audit(actor=by, action=AuditAction.UPDATE, patient=course.patient, record=course, detail="care team", at=now)
    return course


def active_medical_evaluation(course: Course) -> MedicalEvaluation | None:
    """The course's current screen: not voided and not superseded by a newer one."""
    return course.medical_evaluations.active().filter(superseded_at__isnull=True).first()


def _ensure_cleared_for_dosing(course: Course, on: date) -> None:
    """The rule: no dosing on a course that is not cleared (courses.safety.clearance_blockers)."""
    state = bedside.course_state(course, on=on)
    if not state.cleared:
        raise ValidationError(safety.errors_of([b for b in state.blockers if b.code not in _FIRST_DOSE_CODES]))


# Course blockers that only the first dose waits for (course_blockers), not planning a participant.
_FIRST_DOSE_CODES = {"preparation_missing", "baseline_open"}


def next_stage(status: str) -> str | None:
    index = COURSE_STAGES.index(status)
    return COURSE_STAGES[index + 1] if index + 1 < len(COURSE_STAGES) else None


def _set_status(
    course: Course,
    to_status: str,
    by: User,
    now: datetime,
    reason: str = "",
    *,
    changed_at: datetime | None = None,
    late_entry_reason: str = "",
) -> None:
    changed_at = changed_at or now
    CourseStatusChange.objects.create(
        course=course,
        from_status=course.status,
        to_status=to_status,
        reason=reason,
        changed_at=changed_at,
        changed_by=by,
        recorded_at=now,
        late_entry_reason=late_entry_reason,
    )
    course.status = to_status
    course.status_changed_at = changed_at
    if to_status == CourseStatus.DISCONTINUED:
        course.discontinued_reason = reason
    _save(course)
    audit(
        actor=by,
        action=AuditAction.UPDATE,
        patient=course.patient,
        record=course,
        detail=f"status → {to_status}"
        + (f" (happened {timezone.localdate(changed_at).isoformat()}, recorded late)" if late_entry_reason else ""),
        at=now,
    )
    _schedule_follows(course, now)


@transaction.atomic
def course_change_status(
    *,
    course: Course,
    by: User,
    to_status: str,
    reason: str = "",
    stop_follow_up: bool = False,
    follow_up_stop_reason: str = "",
    effective_on: date | None = None,
    late_entry_reason: str = "",
    now=None,
) -> Course:
    """Move a course one stage forward, or discontinue it (with a reason) from any open stage.

    A discontinued course keeps its follow-up questionnaires (DOMAIN §6: it stays in the
    intention-to-treat figures, which need them) unless `stop_follow_up`, with its own reason.

    The change happened today unless `effective_on` says an earlier day (recorded late, with
    `late_entry_reason`): not before the course's previous change, nor before a dose given on it."""
    now = _now(now)
    _require_role(by, ANY_STAFF, "change a course's stage")
    course = Course.objects.select_for_update().get(pk=course.pk)
    _ensure_editable(course)
    _ensure_course_open(course)
    changed_at, late_entry_reason = _status_change_moment(course, to_status, effective_on, late_entry_reason, now)
    status_kwargs = {"changed_at": changed_at, "late_entry_reason": late_entry_reason}
    if follow_up_stop_reason.strip() and not stop_follow_up:
        _fail(
            "stop_follow_up",
            "A reason to stop the follow-up questionnaires was given, but stopping them was not chosen: "
            "tick it to stop them, or clear the reason.",
        )
    if stop_follow_up and to_status != CourseStatus.DISCONTINUED:
        _fail("stop_follow_up", "Follow-up questionnaires stop only with a discontinued course; untick the box.")
    if to_status == CourseStatus.DISCONTINUED:
        reason = required_text("reason", reason, "Say why the course is discontinued.", rules.REASON_MAX)
        if stop_follow_up:
            follow_up_stop_reason = _follow_up_stop_reason(follow_up_stop_reason)
        _set_status(course, to_status, by, now, reason, **status_kwargs)
        if stop_follow_up:
            _stop_follow_up(course, by, now, follow_up_stop_reason)
        return course
    expected = next_stage(course.status)
    if to_status != expected:
        _fail(
            "to_status",
            f"A course in {course.get_status_display().lower()} moves next to "
            f"{CourseStatus(expected).label.lower()} (or is discontinued), not to {to_status}.",
        )
    if to_status == CourseStatus.DOSING:
        # The same checks as the first dose: cleared, old enough, prepared, with a baseline.
        blockers = bedside.course_state(course, on=timezone.localdate(now)).blockers
        if blockers:
            raise ValidationError({"to_status": [b.message for b in blockers]})
    if to_status == CourseStatus.INTEGRATION and not course.doses.active().filter(dosed_at__isnull=False).exists():
        _fail("to_status", "No dose has been given on this course yet.")
    _set_status(course, to_status, by, now, reason.strip(), **status_kwargs)
    return course


def _status_change_moment(course: Course, to_status: str, effective_on, late_entry_reason: str, now: datetime):
    """When a status change happened: now, or noon of an earlier day recorded late (with a reason).
    Not before the course's previous change; a move past dosing, or a discontinuation, not before a
    dose given on the course (the order of events is the outcome definitions' input)."""
    today = timezone.localdate(now)
    if to_status == CourseStatus.DOSING and effective_on is not None and effective_on != today:
        # Clearance for dosing (screen in date, preparation, baseline) is checked as it stands now;
        # an earlier day would claim a clearance nobody checked on that day.
        _fail(
            "effective_on",
            "A move into dosing is checked against today's clearance and cannot be back-dated: "
            "leave the day empty (today).",
        )
    previous = timezone.localdate(course.status_changed_at)
    floor, what = max((course.started_on, "the course's start"), (previous, "the course's last change of stage"))
    day, late_entry_reason = _event_day(
        "effective_on", effective_on, "late_entry_reason", late_entry_reason, today=today, earliest=(floor, what)
    )
    # What must come before the change, as moments: the previous change and, for a move past dosing
    # or a discontinuation, the last dose given. A change on their day is placed just after them.
    before = course.status_changed_at
    if to_status in (*AFTER_DOSING, CourseStatus.DISCONTINUED):
        last_dose = course.doses.active().filter(dosed_at__isnull=False).order_by("-dosed_at").first()
        if last_dose and day < timezone.localdate(last_dose.dosed_at):
            _fail(
                "effective_on",
                f"A dose was given on {timezone.localdate(last_dose.dosed_at).isoformat()}, after {day.isoformat()}: "
                "the change happened on that day or later.",
            )
        if last_dose:
            before = max(before, last_dose.dosed_at)
    if day == today:
        return now, ""
    moment = max(_noon(day), before + timedelta(minutes=1))
    if timezone.localdate(moment) != day:
        _fail("effective_on", f"The course's last event on {day.isoformat()} was at its end: enter the next day.")
    return moment, late_entry_reason


def _noon(day: date) -> datetime:
    # A day recorded late has no time of its own: its events are placed at the clinic's noon.
    return datetime.combine(day, time(12), tzinfo=timezone.get_current_timezone())


AFTER_DOSING = (CourseStatus.INTEGRATION, CourseStatus.FOLLOW_UP, CourseStatus.COMPLETED)


def _follow_up_stop_reason(reason: str) -> str:
    return required_text(
        "follow_up_stop_reason",
        reason,
        "Say why the follow-up questionnaires stop (e.g. the patient declined further questionnaires).",
        rules.REASON_MAX,
    )


def _stop_follow_up(course: Course, by: User, now: datetime, reason: str) -> None:
    course.follow_up_stopped_at, course.follow_up_stopped_reason = now, reason
    _save(course)
    audit(
        actor=by, action=AuditAction.UPDATE, patient=course.patient, record=course, detail="follow-up stopped", at=now
    )
    _schedule_follows(course, now)


@transaction.atomic
def course_follow_up_stop(*, course: Course, by: User, follow_up_stop_reason: str = "", now=None) -> Course:
    """Stop the questionnaires of a discontinued course (the patient declined them): the course
    stays in the intention-to-treat figures, its missing scores counted as not responding."""
    now = _now(now)
    _require_role(by, ANY_STAFF, "stop a course's follow-up questionnaires")
    course = Course.objects.select_for_update().get(pk=course.pk)
    _ensure_editable(course)
    if course.status != CourseStatus.DISCONTINUED:
        _fail(
            "follow_up_stop_reason",
            "Only a discontinued course's follow-up stops; an open course's questionnaires are "
            "changed one by one on the course's schedule.",
        )
    if course.follow_up_stopped_at is not None:
        _fail("follow_up_stop_reason", "This course's follow-up questionnaires were already stopped.")
    _stop_follow_up(course, by, now, _follow_up_stop_reason(follow_up_stop_reason))
    return course


# --- evaluations ------------------------------------------------------------------------------


MEDICAL_EVALUATION_FIELDS = (
    "evaluated_on",
    "history",
    "medications",
    "systolic_bp",
    "diastolic_bp",
    "heart_rate",
    "spo2",
    "respiratory_rate",
    "weight_kg",
    *rules.ABSOLUTE_ITEMS,
    *rules.CAUTION_ITEMS,
    rules.CHILDBEARING_FIELD,
    "decision",
    "caution_note",
)


def _check_medical_evaluation(evaluation: MedicalEvaluation, today: date) -> None:
    if evaluation.evaluated_on and evaluation.evaluated_on > today:
        _fail("evaluated_on", "An evaluation cannot be dated in the future.")
    errors = rules.vital_range_errors({f: getattr(evaluation, f) for f in rules.VITAL_RANGES})
    errors.update(
        rules.screen_decision_errors(
            evaluation.screen_answers,
            evaluation.decision,
            evaluation.caution_note,
            childbearing_potential=evaluation.childbearing_potential,
            baseline_bp=(evaluation.systolic_bp, evaluation.diastolic_bp),
            hold=ClinicSettings.load().vital_thresholds().hold,
        )
    )
    if evaluation.weight_kg is not None:
        low, high = rules.WEIGHT_RANGE_KG
        if not low <= evaluation.weight_kg <= high:
            errors["weight_kg"] = f"Weight must be between {low} and {high} kg."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def medical_evaluation_record(*, course: Course, by: User, now=None, **fields) -> MedicalEvaluation:
    """Record the medical evaluation, or a new one (a re-screen) once the current one is signed:
    the new one supersedes it, and the old one stays on the record."""
    now = _now(now)
    _require_role(by, {Role.MEDICAL_PROVIDER}, "record a medical evaluation")
    course = _reread(course)
    _ensure_editable(course)
    _ensure_course_open(course)
    _refuse_unknown(fields, MEDICAL_EVALUATION_FIELDS, "medical evaluation")
    current = active_medical_evaluation(course)
    if current is not None and not current.is_signed:
        _fail(NON_FIELD_ERRORS, "This course has an unsigned medical evaluation: edit or void it instead.")
    evaluation = MedicalEvaluation(course=course, created_at=now, created_by=by, **fields)
    _check_medical_evaluation(evaluation, timezone.localdate(now))
    if current is not None and evaluation.evaluated_on and evaluation.evaluated_on < current.evaluated_on:
        _fail("evaluated_on", f"A new screen cannot be dated before the current one ({current.evaluated_on}).")
    if current is not None:
        # Superseded first: only one current screen per course (a constraint holds it to that).
        current.superseded_at = now
        current.save(update_fields=["superseded_at"])
    _save(evaluation)
    if current is not None:
        current.superseded_by = evaluation
        current.save(update_fields=["superseded_by"])
        audit(actor=by, action=AuditAction.UPDATE, patient=course.patient, record=current, detail="superseded", at=now)
    audit(actor=by, action=AuditAction.CREATE, patient=course.patient, record=evaluation, at=now)
    return evaluation


def _check_psychiatric_evaluation(evaluation: PsychiatricEvaluation, today: date) -> None:
    if evaluation.evaluated_on and evaluation.evaluated_on > today:
        _fail("evaluated_on", "An evaluation cannot be dated in the future.")
    if evaluation.suicide_risk in (SuicideRisk.MODERATE, SuicideRisk.HIGH) and not evaluation.risk_plan.strip():
        _fail("risk_plan", f"A {evaluation.suicide_risk} suicide risk needs a documented safety plan.")


@transaction.atomic
def psychiatric_evaluation_record(*, course: Course, by: User, now=None, **fields) -> PsychiatricEvaluation:
    now = _now(now)
    _require_role(by, CLINICIANS, "record a psychiatric evaluation")
    course = _reread(course)
    _ensure_editable(course)
    _ensure_course_open(course)
    if course.psychiatric_evaluations.active().exists():
        _fail(NON_FIELD_ERRORS, "This course already has a psychiatric evaluation; edit, amend or void it instead.")
    fields.setdefault("indication", course.indication)
    evaluation = PsychiatricEvaluation(course=course, created_at=now, created_by=by, **fields)
    _check_psychiatric_evaluation(evaluation, timezone.localdate(now))
    _save(evaluation)
    audit(actor=by, action=AuditAction.CREATE, patient=course.patient, record=evaluation, at=now)
    return evaluation


# --- preparatory and integration sessions -------------------------------------------------------


def _check_held_at(held_at: datetime, now: datetime) -> None:
    if held_at > now + FUTURE_TOLERANCE:
        _fail("held_at", "A session note is written after the session: the time cannot be in the future.")


def _check_choices(field: str, values, choices) -> list[str]:
    """Known values, each once, in the order given (a list of 5,000 repeats was stored as sent)."""
    if values is None:
        values = []
    if not isinstance(values, list | tuple):
        _fail(field, f"Send a list of values chosen from: {', '.join(choices.values)}.")
    wrong = [v for v in values if not isinstance(v, str) or v not in choices.values]
    if wrong:
        shown = ", ".join(dict.fromkeys(map(str, wrong[:10])))
        _fail(field, f"Unknown value(s): {shown}. Choose from: {', '.join(choices.values)}.")
    return list(dict.fromkeys(values))


@transaction.atomic
def preparatory_session_record(
    *,
    course: Course,
    by: User,
    held_at: datetime,
    note: str,
    topics=(),
    intentions: str = "",
    duration_minutes=60,
    now=None,
) -> PreparatorySession:
    now = _now(now)
    _require_role(by, {Role.THERAPIST}, "record a preparatory session")
    course = Course.objects.select_for_update().get(pk=course.pk)
    _ensure_editable(course)
    _ensure_course_open(course)
    _check_held_at(held_at, now)
    if course.preparatory_sessions.active().count() >= MAX_PREPARATORY_SESSIONS:
        _fail(
            NON_FIELD_ERRORS,
            f"A course has at most {MAX_PREPARATORY_SESSIONS} preparatory sessions; void one recorded in error first.",
        )
    session = PreparatorySession(
        course=course,
        therapist=by,
        held_at=held_at,
        topics=_check_choices("topics", topics, PreparationTopic),
        intentions=intentions,
        note=note,
        duration_minutes=duration_minutes,
        created_at=now,
        created_by=by,
    )
    _save(session)
    audit(actor=by, action=AuditAction.CREATE, patient=course.patient, record=session, at=now)
    return session


@transaction.atomic
def integration_session_record(
    *,
    courses,
    by: User,
    held_at: datetime,
    note: str,
    format: str = SessionFormat.INDIVIDUAL,
    techniques=(),
    duration_minutes=60,
    now=None,
) -> IntegrationSession:
    from courses.selectors import courses_for

    now = _now(now)
    _require_role(by, {Role.THERAPIST}, "record an integration session")
    courses = list(courses)
    if format == SessionFormat.INDIVIDUAL and len(courses) != 1:
        _fail("courses", f"An individual integration session has one course; {len(courses)} were given.")
    if format == SessionFormat.GROUP and not 2 <= len(courses) <= rules.GROUP_SIZE[1]:
        _fail("courses", f"A group integration session has 2–{rules.GROUP_SIZE[1]} courses; {len(courses)} were given.")
    visible = set(courses_for(by).filter(pk__in=[c.pk for c in courses]).values_list("pk", flat=True))
    if len(visible) != len({c.pk for c in courses}):
        _fail("courses", "Every course in the session must be on your caseload.")
    for course in courses:
        _ensure_editable(course)
        _ensure_course_open(course)
    _check_held_at(held_at, now)
    session = IntegrationSession(
        format=format,
        therapist=by,
        held_at=held_at,
        techniques=_check_choices("techniques", techniques, IntegrationTechnique),
        note=note,
        duration_minutes=duration_minutes,
        created_at=now,
        created_by=by,
    )
    _save(session)
    session.courses.set(courses)
    for course in courses:
        audit(actor=by, action=AuditAction.CREATE, patient=course.patient, record=session, at=now)
    return session


# --- dosing sessions --------------------------------------------------------------------------


@transaction.atomic
def dosing_session_schedule(
    *,
    by: User,
    starts_at: datetime,
    ends_at: datetime,
    medical_provider: User,
    facilitators,
    format: str = SessionFormat.INDIVIDUAL,
    location: str = "",
    others_present: str = "",
    now=None,
) -> DosingSession:
    now = _now(now)
    _require_role(by, ANY_STAFF, "schedule a dosing session")
    if ends_at <= starts_at:
        _fail("ends_at", "The session must end after it starts.")
    if ends_at - starts_at > timedelta(hours=12):
        _fail("ends_at", "A dosing session lasts at most 12 hours.")
    facilitators = list(facilitators)
    if not facilitators:
        _fail("facilitators", "A dosing session needs at least one facilitating therapist.")
    if any(f.role != Role.THERAPIST or not f.is_active for f in facilitators):
        _fail("facilitators", "Facilitators must be active therapists.")
    if medical_provider is None or medical_provider.role != Role.MEDICAL_PROVIDER or not medical_provider.is_active:
        _fail("medical_provider", "A dosing session needs an active medical provider present.")
    session = _save(
        DosingSession(
            format=format,
            starts_at=starts_at,
            ends_at=ends_at,
            medical_provider=medical_provider,
            location=location,
            others_present=others_present,
            created_at=now,
            created_by=by,
        )
    )
    session.facilitators.set(facilitators)
    audit(actor=by, action=AuditAction.CREATE, record=session, at=now)
    return session


def _check_no_overlap(*, course: Course, session: DosingSession, exclude_participant=None) -> None:
    """The rule: one patient is never in two dosing sessions that overlap in time, nor twice in one
    session (through two courses)."""
    others = (
        DosingParticipant.objects.active()
        .filter(course__patient_id=course.patient_id, session__voided_at__isnull=True)
        .filter(session__starts_at__lt=session.ends_at, session__ends_at__gt=session.starts_at)
        .select_related("session")
    )
    if exclude_participant is not None:
        others = others.exclude(pk=exclude_participant.pk)
    clash = others.first()
    if clash is not None:
        other = clash.session
        if other.pk == session.pk:
            _fail("course", "This patient is already in this dosing session (on another course).")
        _fail(
            "course",
            "This patient is already in a dosing session from "
            f"{timezone.localtime(other.starts_at):%Y-%m-%d %H:%M} to {timezone.localtime(other.ends_at):%H:%M}, "
            "which overlaps this one.",
        )


def _apply_dose(
    participant: DosingParticipant,
    maximum: rules.RouteMaximum | None = None,
    ceiling: rules.RouteMaximum | None = None,
) -> None:
    """Derive mg/kg, record the maximum and ceiling in force, and apply the two dose rules: above
    the maximum needs a reason, above the ceiling is refused whatever the reason.

    `maximum` and `ceiling` are given when correcting a dose: those in force when it was recorded
    still judge it. Otherwise the clinic's current values for the route apply.
    """
    if participant.route not in Route.values:
        _fail("route", f"Choose a route: {', '.join(Route.values)}.")
    error = rules.drug_route_error(participant.drug, participant.route)
    if error:
        _fail("route", error)
    dose = _decimal("dose_mg", participant.dose_mg, "Dose")
    weight = _decimal("weight_kg", participant.weight_kg, "Weight used")
    _range_or_fail("dose_mg", dose, *rules.DOSE_RANGE_MG, "Dose", " mg")
    _range_or_fail("weight_kg", weight, *rules.WEIGHT_RANGE_KG, "Weight used", " kg")
    participant.dose_mg, participant.weight_kg = dose, weight
    participant.dose_mg_per_kg = rules.mg_per_kg(dose, weight)
    clinic = ClinicSettings.load()
    maximum = maximum or clinic.route_maximum(participant.route)
    ceiling = ceiling or clinic.route_ceiling(participant.route)
    participant.protocol_maximum, participant.protocol_maximum_unit = maximum.value, maximum.unit
    participant.protocol_ceiling = ceiling.value
    route = participant.get_route_display().lower()
    shown = f"{participant.dose_mg_per_kg} mg/kg" if maximum.unit == "mg/kg" else f"{dose} mg"
    if rules.dose_exceeds_maximum(dose, weight, ceiling):
        _fail(
            "dose_mg",
            f"{shown} is above the clinic's absolute ceiling for {route} ({ceiling.value} {ceiling.unit}): no reason "
            "allows it. Check the dose and the weight.",
        )
    if rules.dose_exceeds_maximum(dose, weight, maximum) and not participant.over_maximum_reason.strip():
        _fail(
            "over_maximum_reason",
            f"{shown} is above the clinic's maximum for {route} ({maximum.value} {maximum.unit}): record the reason "
            "for the higher dose.",
        )


def _weight_for_dose(
    *, patient: Patient, weight_kg, weighed_now: bool, by: User, day: date, now: datetime
) -> WeightMeasurement:
    """The weight a dose is calculated on: a weight measured now (recorded as such), or the
    patient's latest recorded weight if it is recent enough. A typed weight that matches no
    measurement is refused, so mg/kg cannot come from a guess."""
    if weighed_now:
        if weight_kg in (None, ""):
            _fail("weight_kg", "Enter the weight just measured.")
        return weight_record(patient=patient, by=by, measured_on=timezone.localdate(now), weight_kg=weight_kg, now=now)
    latest = patient.weights.active().order_by("-measured_on", "-created_at").first()
    if latest is None:
        _fail("weight_kg", "No weight is recorded for this patient: weigh them and tick 'weighed now'.")
    if weight_kg not in (None, "") and _decimal("weight_kg", weight_kg, "Weight used") != latest.weight_kg:
        _fail(
            "weight_kg",
            f"The patient's recorded weight is {latest.weight_kg} kg (measured {latest.measured_on:%Y-%m-%d}). To use "
            f"{weight_kg} kg, weigh the patient now and tick 'weighed now', so the new weight is recorded.",
        )
    blockers = safety.weight_blockers(latest.measured_on, True, day, ClinicSettings.load().weight_max_age_days)
    if blockers:
        _fail("weight_kg", blockers[0].message)
    return latest


DOSE_FIELDS = (
    "drug",
    "route",
    "dose_mg",
    "weight_kg",
    "over_maximum_reason",
    "lot_number",
    "fasting_confirmed",
    "pregnancy_test",
    "concomitant_medications",
)


@transaction.atomic
def dosing_participant_add(
    *,
    session: DosingSession,
    course: Course,
    by: User,
    is_maintenance: bool | None = None,
    weighed_now: bool = False,
    now=None,
    **dose,
) -> DosingParticipant:
    """Put a patient's dose on a session. The weight is the recorded one (or one measured now);
    the patient's other doses must leave the clinic's interval before the session ends. What is
    still needed before dosing (preparation, baseline, vitals…) is listed on the bedside page."""
    now = _now(now)
    _require_role(by, {Role.MEDICAL_PROVIDER}, "record a dose")
    session = DosingSession.objects.select_for_update().get(pk=session.pk)
    # Lock the patient so two concurrent adds cannot both pass the overlap check.
    Patient.objects.select_for_update().filter(pk=course.patient_id).first()
    course = _reread(course)
    _ensure_editable(session)
    _ensure_editable(course)
    _ensure_course_open(course)
    _refuse_unknown(dose, DOSE_FIELDS, "dose")
    _ensure_cleared_for_dosing(course, timezone.localdate(session.starts_at))
    if course.format != session.format:
        _fail(
            "course",
            f"This is a {course.get_format_display().lower()} course; it cannot join a "
            f"{session.get_format_display().lower()} dosing session.",
        )
    count = session.participants.active().count()
    capacity = 1 if session.format == SessionFormat.INDIVIDUAL else rules.GROUP_SIZE[1]
    if count >= capacity:
        _fail("course", f"This {session.get_format_display().lower()} session is full ({capacity} participant(s)).")
    _check_no_overlap(course=course, session=session)
    _check_spacing_possible(course, session)
    if is_maintenance is None:
        # A dose after the acute series ended is a maintenance / booster dose.
        is_maintenance = course.status in (CourseStatus.INTEGRATION, CourseStatus.FOLLOW_UP)
    measurement = _weight_for_dose(
        patient=course.patient,
        weight_kg=dose.pop("weight_kg", None),
        weighed_now=weighed_now,
        by=by,
        day=timezone.localdate(session.starts_at),
        now=now,
    )
    participant = DosingParticipant(
        session=session,
        course=course,
        is_maintenance=is_maintenance,
        weight_kg=measurement.weight_kg,
        weight_measurement=measurement,
        created_at=now,
        created_by=by,
        **dose,
    )
    _apply_dose(participant)
    _save(participant)
    audit(actor=by, action=AuditAction.CREATE, patient=course.patient, record=participant, at=now)
    _schedule_follows(participant, now)
    return participant


def _check_spacing_possible(course: Course, session: DosingSession) -> None:
    """A session that ends before the clinic's interval from the patient's last dose cannot hold
    the next one: said when the participant is added, not at the bedside."""
    interval = timedelta(hours=ClinicSettings.load().min_dose_interval_hours)
    last = (
        DosingParticipant.objects.active()
        .filter(course__patient_id=course.patient_id, dosed_at__isnull=False, session__voided_at__isnull=True)
        .filter(dosed_at__lte=session.ends_at)
        .order_by("-dosed_at")
        .values_list("dosed_at", flat=True)
        .first()
    )
    if last is not None and session.ends_at < last + interval:
        _fail(
            "course",
            f"The patient's last dose was given {timezone.localtime(last):%Y-%m-%d %H:%M}; the clinic's minimum "
            f"interval is {interval / timedelta(hours=1):g} hours, and this session ends before "
            f"{timezone.localtime(last + interval):%Y-%m-%d %H:%M}.",
        )


@transaction.atomic
def dosing_participant_update(
    *,
    participant: DosingParticipant,
    by: User,
    version: int | None = None,
    weighed_now: bool = False,
    now=None,
    **fields,
) -> DosingParticipant:
    """Correct the dose record before it is signed; afterwards it takes an amendment."""
    now = _now(now)
    _require_role(by, {Role.MEDICAL_PROVIDER}, "change a dose record")
    participant = _reread(participant)
    _ensure_editable(participant)
    check_version(participant, version)
    _refuse_unknown(fields, (*DOSE_FIELDS, "is_maintenance"), "dose")
    if participant.dosed_at:
        checked = {"dose_mg", "drug", "route", "weight_kg", "fasting_confirmed", "pregnancy_test"} & fields.keys()
        locked = sorted(name for name in checked if str(fields[name]) != str(getattr(participant, name)))
        if locked or weighed_now:
            # These were checked when the dose was given; a later change is an amendment, with a reason.
            raise ValidationError(
                dict.fromkeys(
                    locked or ["weight_kg"],
                    "The dose has been given: this was checked before it. Correct it with a reason (amend the "
                    "dose record), so the original stays beside the correction.",
                )
            )
    if "weight_kg" in fields or weighed_now:
        measurement = _weight_for_dose(
            patient=participant.course.patient,
            weight_kg=fields.pop("weight_kg", None),
            weighed_now=weighed_now,
            by=by,
            day=timezone.localdate(participant.session.starts_at),
            now=now,
        )
        participant.weight_kg, participant.weight_measurement = measurement.weight_kg, measurement
    for key, value in fields.items():
        setattr(participant, key, value)
    _apply_dose(participant)
    _save(participant)
    audit(
        actor=by,
        action=AuditAction.UPDATE,
        patient=participant.course.patient,
        record=participant,
        detail="fields: " + ", ".join(sorted({*fields, *(["weight"] if weighed_now else [])})),
        at=now,
    )
    return participant


def _check_reading_time(participant: DosingParticipant, taken_at: datetime, now: datetime) -> None:
    if taken_at > now + FUTURE_TOLERANCE:
        _fail("taken_at", "A reading cannot be timed in the future.")
    earliest = participant.session.starts_at - timedelta(hours=2)
    if taken_at < earliest:
        _fail("taken_at", "A reading must be taken within 2 hours before the session starts or later.")


VITAL_FIELDS = tuple(rules.VITAL_RANGES)


def _check_reading(participant: DosingParticipant, reading: VitalReading, now: datetime, correcting=False) -> None:
    """The rules of one reading, on entry and on correction: plausible values, a full set where
    it matters, and a phase and time that fit the dose."""
    values = {f: getattr(reading, f) for f in VITAL_FIELDS}
    if all(v is None for v in values.values()):
        _fail(NON_FIELD_ERRORS, "Enter at least one vital sign.")
    errors = rules.vital_range_errors(values)
    if errors:
        raise ValidationError(errors)
    _check_reading_time(participant, reading.taken_at, now)
    others = [bedside.reading_fact(r) for r in participant.vitals.active().exclude(pk=reading.pk)]
    errors = safety.reading_fit_errors(
        phase=reading.phase,
        taken_at=bedside.local(reading.taken_at),
        dosed_at=bedside.local(participant.dosed_at),
        discharged_at=bedside.local(participant.discharged_at),
        others=others,
        correcting=correcting,
    )
    errors = errors or safety.full_set_errors(reading.phase, values)
    if errors:
        raise ValidationError(errors)


def _sync_in_session_alert(reading: VitalReading, *, by: User, now: datetime) -> None:
    """An alerting reading has an open in-session alert. A correction that changes what alerts
    updates the open one; one that alerts on something a closed alert did not cover opens a new
    alert (a low SpO2 revealed by correcting a mistyped pressure is news). Clearing an open alert
    by a correction or a void is refused before this runs (_reading_changed)."""
    codes = [] if reading.is_voided else rules.in_session_alerts(reading.alerts)
    alerts = list(InSessionAlert.objects.filter(reading=reading))
    open_alert = next((a for a in alerts if a.closed_at is None), None)
    if open_alert is not None:
        if codes and codes != open_alert.alerts:
            InSessionAlert.objects.filter(pk=open_alert.pk).update(alerts=codes)
        return
    answered = {code for a in alerts for code in a.alerts}
    if not set(codes) - answered:
        return
    alert = InSessionAlert.objects.create(participant=reading.participant, reading=reading, alerts=codes, raised_at=now)
    audit(
        actor=by,
        action=AuditAction.CREATE,
        patient=reading.participant.course.patient,
        record=alert,
        detail="alerts: " + ", ".join(codes),
        at=now,
    )
    logger.warning("in-session alert participant=%s reading=%s", reading.participant_id, reading.pk)


# What an override judged: a correction of any of these makes it lapse (a respiratory rate
# added later does not).
OVERRIDE_JUDGED = {"taken_at", "systolic_bp", "diastolic_bp"}


def _reading_changed(
    reading: VitalReading, *, by: User, now: datetime, why: str, hold_before: safety.Hold, before: dict | None = None
) -> None:
    """After a reading is corrected (`before`: the changed fields' old values) or voided: a
    correction is not a way out of what the reading set in motion. A pre-dose hold is not lifted
    by it, nor is the high reading moved earlier while it holds (a hold lifts only by an override
    or a full re-check, DOMAIN §3); an open vital-sign alert is not cleared by it (the provider
    records what was done first). A reading typed wrong is corrected after one of those, so the
    record shows who decided what. An override made on the reading lapses when what it judged
    changes."""
    before = before or {}
    if reading.is_voided or OVERRIDE_JUDGED & before.keys():
        HoldOverride.objects.filter(reading=reading, lapsed_at__isnull=True).update(
            lapsed_at=now, lapsed_why=why[: rules.REASON_MAX]
        )
    open_alert = InSessionAlert.objects.open().filter(reading=reading).exists()
    if open_alert and (reading.is_voided or not rules.in_session_alerts(reading.alerts)):
        _fail(
            NON_FIELD_ERRORS,
            "This reading's vital-sign alert is still open. Record what was done first (a re-check, or 'other' with "
            "a note, e.g. that the values were typed wrong), then correct or void the reading.",
        )
    _sync_in_session_alert(reading, by=by, now=now)
    participant = reading.participant
    if participant.dosed_at is not None or not hold_before.active:
        return
    moved_earlier = (
        hold_before.reading.id == reading.pk and "taken_at" in before and reading.taken_at < before["taken_at"]
    )
    if moved_earlier or not pre_dose_hold(participant, now=now).active:
        _fail(
            "taken_at" if moved_earlier else NON_FIELD_ERRORS,
            f"This would {'shorten' if moved_earlier else 'lift'} the pre-dose hold set by "
            f"{hold_before.reading.blood_pressure} at "
            f"{bedside.local(hold_before.reading.taken_at):%H:%M}. A hold lifts only by a medical provider's "
            "override with the clinical reason, or by a full pre-dose reading at or below the threshold from "
            f"{bedside.local(hold_before.recheck_from):%H:%M}: record one of those first, then correct the reading.",
        )


@transaction.atomic
def vital_reading_record(
    *,
    participant: DosingParticipant,
    by: User,
    phase: str,
    taken_at: datetime | None = None,
    systolic_bp=None,
    diastolic_bp=None,
    heart_rate=None,
    spo2=None,
    respiratory_rate=None,
    now=None,
) -> VitalReading:
    """Refuse implausible values (naming the range), a partial set before the dose or discharge,
    and a phase or time that does not fit the dose; flag holds and alerts, and open an in-session
    alert for an alerting reading."""
    now = _now(now)
    taken_at = taken_at or now
    _require_role(by, {Role.MEDICAL_PROVIDER}, "record vital signs")
    participant = _reread(participant)
    _ensure_editable(participant)
    if phase not in VitalPhase.values:
        _fail("phase", f"Choose a phase: {', '.join(VitalPhase.values)}.")
    thresholds = ClinicSettings.load().vital_thresholds()
    values = {
        "systolic_bp": systolic_bp,
        "diastolic_bp": diastolic_bp,
        "heart_rate": heart_rate,
        "spo2": spo2,
        "respiratory_rate": respiratory_rate,
    }
    reading = VitalReading(
        participant=participant,
        phase=phase,
        taken_at=taken_at,
        alerts=rules.vital_alerts(values, phase, thresholds),
        thresholds_in_force=thresholds.as_dict(),
        created_at=now,
        created_by=by,
        **values,
    )
    _check_reading(participant, reading, now)
    _save(reading)
    audit(
        actor=by,
        action=AuditAction.CREATE,
        patient=participant.course.patient,
        record=reading,
        detail="alerts: " + ", ".join(reading.alerts) if reading.alerts else "",
        at=now,
    )
    if reading.alerts:
        logger.warning("vital alert participant=%s reading=%s alerts=%s", participant.pk, reading.pk, reading.alerts)
    _sync_in_session_alert(reading, by=by, now=now)
    return reading


def pre_dose_hold(participant: DosingParticipant, *, now: datetime | None = None) -> safety.Hold:
    """Is there a pre-dose hold? (courses.safety.hold_status over this dose's readings and overrides)"""
    return bedside.dose_state(participant, now=_now(now)).hold


def pre_dose_hold_active(participant: DosingParticipant) -> bool:
    return pre_dose_hold(participant).active


@transaction.atomic
def dosing_hold_override(*, participant: DosingParticipant, by: User, reason: str, now=None) -> HoldOverride:
    """A medical provider doses despite the hold, with the clinical reason. The override covers
    the reading that set the hold; a higher reading taken after it sets a new hold."""
    now = _now(now)
    _require_role(by, {Role.MEDICAL_PROVIDER}, "override a pre-dose hold")
    participant = _reread(participant)
    _ensure_editable(participant)
    if participant.dosed_at is not None:
        _fail(NON_FIELD_ERRORS, "The dose has been given: there is no pre-dose hold to override.")
    hold = pre_dose_hold(participant, now=now)
    if not hold.active:
        _fail(NON_FIELD_ERRORS, "There is no pre-dose hold to override.")
    override = HoldOverride.objects.create(
        participant=participant,
        reading_id=hold.reading.id,
        reason=required_text(
            "reason",
            reason,
            "An override needs the clinical reasoning for dosing despite the raised blood pressure.",
            rules.REASON_MAX,
        ),
        overridden_at=now,
        overridden_by=by,
    )
    audit(
        actor=by,
        action=AuditAction.UPDATE,
        patient=participant.course.patient,
        record=participant,
        detail="pre-dose hold overridden",
        at=now,
    )
    return override


ALERT_CLOSE_ACTIONS = (InSessionAlertAction.RECHECK, InSessionAlertAction.ADVERSE_EVENT, InSessionAlertAction.OTHER)


@transaction.atomic
def in_session_alert_close(
    *, alert: InSessionAlert, by: User, action: str, note: str = "", adverse_event=None, now=None
) -> InSessionAlert:
    """Close an alerting reading's alert by recording what was done: a recheck (a later reading
    exists), an adverse event recorded (named), or something else (described)."""
    now = _now(now)
    _require_role(by, {Role.MEDICAL_PROVIDER}, "record what was done about a vital-sign alert")
    alert = InSessionAlert.objects.select_for_update().select_related("reading", "participant__course").get(pk=alert.pk)
    if alert.closed_at is not None:
        _fail(NON_FIELD_ERRORS, "This alert has already been closed.")
    if action not in ALERT_CLOSE_ACTIONS:
        _fail("action", "Say what was done: a recheck, an adverse event recorded, or other (described in the note).")
    note = _optional_text("note", note, rules.REASON_MAX)
    if action == InSessionAlertAction.RECHECK:
        # Later: recorded after it, and not timed before it (the same minute counts, as a form rounds).
        # A recheck measures again what alerted: a heart rate alone does not answer a low SpO2.
        needed = rules.recheck_fields(alert.alerts)
        later = (
            alert.participant.vitals.active()
            .filter(created_at__gt=alert.reading.created_at, taken_at__gte=alert.reading.taken_at)
            .filter(**{f"{name}__isnull": False for name in needed})
            .exists()
        )
        if not later:
            what = ", ".join(VitalReading._meta.get_field(n).verbose_name for n in needed) or "the vital signs"
            _fail(
                "action",
                f"Record the recheck reading first (taken after the alerting one, with {what}), then close.",
            )
    if action == InSessionAlertAction.ADVERSE_EVENT:
        # The event recorded for this alert: one on this dose (an old event of the course is not it).
        if adverse_event is None or adverse_event.participant_id != alert.participant_id or adverse_event.is_voided:
            _fail("adverse_event", "Choose the adverse event recorded on this dose for this alert (record it first).")
    else:
        adverse_event = None
    if action == InSessionAlertAction.OTHER and not note:
        _fail("note", "Describe what was done.")
    alert.closed_at, alert.closed_by, alert.action, alert.note, alert.adverse_event = (
        now,
        by,
        action,
        note,
        adverse_event,
    )
    alert.save(update_fields=["closed_at", "closed_by", "action", "note", "adverse_event"])
    audit(
        actor=by,
        action=AuditAction.ACKNOWLEDGE,
        patient=alert.participant.course.patient,
        record=alert,
        detail=f"closed: {action}",
        at=now,
    )
    return alert


@transaction.atomic
def dose_administer(*, participant: DosingParticipant, by: User, dosed_at: datetime | None = None, now=None):
    """Give the dose: every blocker courses.safety.dose_blockers lists must be gone (the same list
    the bedside page and the group card show)."""
    now = _now(now)
    dosed_at = dosed_at or now
    _require_role(by, {Role.MEDICAL_PROVIDER}, "give a dose")
    participant = (
        # Only the dose's own row is locked: its weight is a nullable join, which PostgreSQL will not lock.
        DosingParticipant.objects.select_for_update(of=("self",))
        .select_related("session", "course__patient", "weight_measurement")
        .get(pk=participant.pk)
    )
    # Lock the patient: two doses of one patient given at once cannot both pass the spacing rule.
    Patient.objects.select_for_update().filter(pk=participant.course.patient_id).first()
    _ensure_editable(participant)
    if participant.dosed_at is not None:
        # A second click, a stale tab or a retried request: the dose and its time stand as given.
        _fail(NON_FIELD_ERRORS, safety.ALREADY_GIVEN)
    if dosed_at > now + FUTURE_TOLERANCE:
        _fail("dosed_at", "The dose time cannot be in the future.")
    if dosed_at < participant.session.starts_at - timedelta(hours=1):
        _fail("dosed_at", "The dose time is more than an hour before the session starts.")
    state = bedside.dose_state(participant, now=now, at=dosed_at)
    if state.blockers:
        raise ValidationError(safety.errors_of(state.blockers))
    course = participant.course
    participant.dosed_at = dosed_at
    if not participant.pregnancy_test and not safety.pregnancy_test_needed(
        state.course.screen.childbearing_potential if state.course.screen else ""
    ):
        participant.pregnancy_test = PregnancyTest.NOT_APPLICABLE
    _save(participant)
    audit(actor=by, action=AuditAction.UPDATE, patient=course.patient, record=participant, detail="dose given", at=now)
    if course.status in (CourseStatus.EVALUATION, CourseStatus.PREPARATION):
        # The first dose moves the course into its dosing stage; earlier stages are passed through.
        while course.status != CourseStatus.DOSING:
            _set_status(course, next_stage(course.status), by, now, "first dose given")
    _schedule_follows(participant, now)
    return participant


def minimum_monitoring(participant: DosingParticipant, settings: ClinicSettings | None = None) -> timedelta:
    return bedside.monitoring_time(participant, settings)


@transaction.atomic
def participant_discharge(
    *,
    participant: DosingParticipant,
    by: User,
    alert_oriented: bool,
    escort_present: bool,
    no_driving_advised: bool,
    exception_reason: str = "",
    left_before_discharge: bool = False,
    discharged_at: datetime | None = None,
    now=None,
) -> DosingParticipant:
    """Discharge: minimum monitoring done, a reading at about 40 minutes, a full pre-discharge set
    after the last reading during the session, no open alert, and the checklist. A pre-discharge
    set that still alerts refuses discharge unless the provider documents why it is safe: that
    exception is kept on the record and counted on the safety report."""
    now = _now(now)
    discharged_at = discharged_at or now
    _require_role(by, {Role.MEDICAL_PROVIDER}, "discharge a patient")
    participant = (
        # Only the dose's own row is locked: its weight is a nullable join, which PostgreSQL will not lock.
        DosingParticipant.objects.select_for_update(of=("self",))
        .select_related("session", "course__patient", "weight_measurement")
        .get(pk=participant.pk)
    )
    _ensure_editable(participant)
    if discharged_at > now + FUTURE_TOLERANCE:
        _fail("discharged_at", "The discharge time cannot be in the future.")
    checklist = {
        "alert_oriented": alert_oriented,
        "escort_present": escort_present,
        "no_driving_advised": no_driving_advised,
    }
    state = bedside.dose_state(participant, now=now, discharge_at=discharged_at, checklist=checklist)
    if participant.dosed_at is None:
        _fail(NON_FIELD_ERRORS, "No dose has been given: there is nothing to discharge from.")
    if participant.discharged_at is not None:
        _fail(NON_FIELD_ERRORS, "Already discharged.")
    exception = _optional_text("exception_reason", exception_reason, rules.REASON_MAX)
    if left_before_discharge:
        # The patient has gone (against advice, or collected early): nothing can make them wait, so
        # the record says what happened instead, and the dose ends (counted on the safety report).
        if not exception:
            _fail(
                "exception_reason",
                "Say what happened: who the patient left with, what they were told, their last vital signs.",
            )
        excepted = [b for b in state.discharge if b.code not in safety.UNEXCUSABLE]
        impossible = [b for b in state.discharge if b.code in safety.UNEXCUSABLE]
        if impossible:
            raise ValidationError(safety.errors_of(impossible))
    else:
        hard = [b for b in state.discharge if not (b.exceptionable and exception)]
        if hard:
            raise ValidationError(safety.errors_of(hard))
        excepted = [b for b in state.discharge if b.exceptionable]
        if exception and not excepted:
            _fail("exception_reason", "The reading before discharge is within the limits: no exception is needed.")
    participant.discharge_alert_oriented = alert_oriented
    participant.discharge_vitals_acceptable = not excepted
    participant.discharge_exception_reason = exception if excepted or left_before_discharge else ""
    participant.left_before_discharge = left_before_discharge
    participant.discharge_escort_present = escort_present
    participant.discharge_no_driving_advised = no_driving_advised
    participant.discharged_at = discharged_at
    participant.discharged_by = by
    _save(participant)
    audit(
        actor=by,
        action=AuditAction.UPDATE,
        patient=participant.course.patient,
        record=participant,
        detail=(
            "left before discharge (documented)"
            if left_before_discharge
            else "discharged despite an alerting reading (documented)"
            if excepted
            else "discharged"
        ),
        at=now,
    )
    return participant


@transaction.atomic
def dosing_session_note(
    *, session: DosingSession, by: User, facilitation_note=None, others_present=None, version=None, now=None
):
    """The facilitators' shared note; a value left None is left as it is."""
    now = _now(now)
    session = _reread(session)
    _require_facilitator(session, by, "write its note")
    _ensure_editable(session)
    # Co-facilitators write the same note: the second save must not wipe the first.
    check_version(session, version)
    if facilitation_note is not None:
        session.facilitation_note = facilitation_note
    if others_present is not None:
        session.others_present = others_present
    _save(session)
    for participant in session.participants.active().select_related("course__patient"):
        audit(
            actor=by,
            action=AuditAction.UPDATE,
            patient=participant.course.patient,
            record=session,
            detail="facilitation note",
            at=now,
        )
    return session


# --- adverse events ---------------------------------------------------------------------------


AE_FIELDS = (
    "term",
    "term_other",
    "grade",
    "serious",
    "serious_criteria",
    "onset_at",
    "resolved_at",
    "relatedness",
    "expectedness",
    "action_taken",
    "outcome",
    "description",
)


def _check_adverse_event(event: AdverseEvent, now: datetime) -> None:
    event.serious_criteria = sorted(set(_check_choices("serious_criteria", event.serious_criteria, SeriousCriterion)))
    if event.grade is not None and event.grade >= 4 and not event.serious:
        _fail("serious", "A life-threatening (grade 4) or fatal (grade 5) event is serious: tick 'serious'.")
    if event.serious and not event.serious_criteria:
        _fail("serious_criteria", "Say which seriousness criterion applies (21 CFR 312.32).")
    if not event.serious and event.serious_criteria:
        _fail("serious", "Seriousness criteria are ticked: mark the event as serious.")
    # Grade 5 is death: it, the 'death' criterion and the fatal outcome go together or not at all.
    death = SeriousCriterion.DEATH in event.serious_criteria
    fatal = event.outcome == AdverseEventOutcome.FATAL
    if event.grade == 5 and not fatal:
        _fail("outcome", "Grade 5 is death: the outcome is 'fatal'.")
    if event.grade == 5 and not death:
        _fail("serious_criteria", "Grade 5 is death: tick the 'death' criterion.")
    if fatal and event.grade != 5:
        _fail("grade", "A fatal outcome is grade 5 (death).")
    if death and event.grade != 5:
        _fail("grade", "The 'death' criterion is ticked: the grade is 5 (death), with the outcome 'fatal'.")
    if not event.expectedness:
        _fail("expectedness", "Say whether the event is expected (listed in the product label) or unexpected.")
    if event.onset_at and event.onset_at > now + FUTURE_TOLERANCE:
        _fail("onset_at", "The onset cannot be in the future.")
    if event.resolved_at and event.onset_at and event.resolved_at < event.onset_at:
        _fail("resolved_at", "Resolution must come after onset.")
    if event.resolved_at and event.outcome in (AdverseEventOutcome.ONGOING, AdverseEventOutcome.FATAL):
        _fail(
            "resolved_at", f"An event with the outcome '{event.get_outcome_display().lower()}' has no resolution time."
        )


@transaction.atomic
def adverse_event_record(
    *, participant: DosingParticipant | None = None, course: Course | None = None, by: User, now=None, **fields
) -> AdverseEvent:
    """An adverse event during a dose (`participant`), or reported against a course outside a
    dosing session (`course`: at an integration session, by phone). A dose's events may be added
    even after the dose record is signed: safety outranks tidiness."""
    now = _now(now)
    if (participant is None) == (course is None):
        raise ValueError("adverse_event_record takes a participant or a course")
    _refuse_unknown(fields, AE_FIELDS, "adverse event")
    if participant is not None:
        _require_role(by, {Role.MEDICAL_PROVIDER}, "record an adverse event of a dose")
        participant = _reread(participant)
        if participant.is_voided:
            _fail(NON_FIELD_ERRORS, "This dose record has been voided.")
        course = participant.course
    else:
        # Heard of at integration or by phone: the therapist who hears it reports it too.
        _require_role(by, CLINICIANS, "report an adverse event")
        course = _reread(course)
        _ensure_editable(course)
    fields.setdefault("onset_at", now)
    event = AdverseEvent(course=course, participant=participant, created_at=now, created_by=by, **fields)
    _check_adverse_event(event, now)
    _save(event)
    audit(
        actor=by,
        action=AuditAction.CREATE,
        patient=course.patient,
        record=event,
        detail="serious" if event.serious else "",
        at=now,
    )
    if event.serious:
        from courses.tasks import notify_serious_adverse_event

        logger.warning("serious adverse event recorded event=%s", event.pk)
        # robust: a broker that is down must not turn a saved event into an error page; the
        # periodic sweep (courses.tasks.notify_pending_serious_events) sends it when it is back.
        transaction.on_commit(lambda: notify_serious_adverse_event.delay(str(event.pk)), robust=True)
    return event


def adverse_event_notify_leads(*, event_id, now=None) -> bool:
    """Mail every active practice lead about a serious event, once. True if this call sent it."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    now = _now(now)
    with transaction.atomic():
        # The row lock makes a second worker (a redelivered or duplicated task) wait here and
        # then find the event notified, instead of sending the mail a second time.
        event = AdverseEvent.objects.select_for_update().get(pk=event_id)
        if event.lead_notified_at is not None:
            return False
        recipients = list(
            User.objects.filter(role=Role.PRACTICE_LEAD, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
        if not recipients:
            logger.error("serious adverse event %s: no practice lead has an email address", event.pk)
            return False
        context = {"event": event, "base_url": settings.CLINIC_BASE_URL}
        # The mail names no patient: it links to the dashboard, behind login. The subject uses
        # the term's label, never the free-text "other" description, which may name someone.
        send_mail(
            subject=f"Serious adverse event: {event.get_term_display()} (grade {event.grade})",
            message=render_to_string("courses/email/serious_adverse_event.txt", context),
            from_email=None,
            recipient_list=recipients,
        )
        # Marked only after the mail went, so a failure leaves it to be retried.
        event.lead_notified_at = now
        event.save(update_fields=["lead_notified_at"])
        return True


def serious_events_awaiting_notification():
    """Serious events whose mail to the leads has not gone out yet (oldest first)."""
    return (
        AdverseEvent.objects.active()
        .filter(serious=True, lead_notified_at__isnull=True)
        .order_by("created_at")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def adverse_event_acknowledge(*, event: AdverseEvent, by: User, note: str = "", now=None) -> AdverseEvent:
    """The practice lead closes the loop on a serious event, saying what was done about it."""
    now = _now(now)
    _require_role(by, {Role.PRACTICE_LEAD}, "acknowledge a serious adverse event")
    if not event.serious:
        _fail(NON_FIELD_ERRORS, "Only serious adverse events are acknowledged.")
    note = required_text(
        "note",
        note,
        "Say what was done (the provider spoken to, the patient's follow-up, the report to the manufacturer…).",
        rules.REASON_MAX,
    )
    claimed = AdverseEvent.objects.filter(pk=event.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=by, acknowledgement_note=note
    )
    if claimed != 1:
        _fail(NON_FIELD_ERRORS, "This event has already been acknowledged.")
    event.refresh_from_db()
    audit(actor=by, action=AuditAction.ACKNOWLEDGE, patient=event.course.patient, record=event, at=now)
    return event


# --- signing, amending, voiding ---------------------------------------------------------------


def _sign_checks(record, by: User) -> None:
    if isinstance(record, MedicalEvaluation):
        _require_role(by, {Role.MEDICAL_PROVIDER}, "sign a medical evaluation")
        if record.created_by_id != by.pk:
            raise PermissionDenied("Only the medical provider who recorded this evaluation can sign it.")
        if record.decision == ScreenDecision.PENDING:
            _fail("decision", "Record the screen decision before signing.")
        missing = [f for f in ("systolic_bp", "diastolic_bp", "heart_rate", "weight_kg") if getattr(record, f) is None]
        if missing:
            raise ValidationError(dict.fromkeys(missing, "Required before the evaluation is signed."))
        _check_medical_evaluation(record, date.max)
    elif isinstance(record, PsychiatricEvaluation):
        _require_role(by, CLINICIANS, "sign a psychiatric evaluation")
        # A signature attests to one's own assessment: a colleague's is theirs to sign.
        if record.created_by_id != by.pk:
            raise PermissionDenied("Only the clinician who recorded this evaluation can sign it.")
    elif isinstance(record, (PreparatorySession, IntegrationSession)):
        _require_role(by, {Role.THERAPIST}, "sign a session note")
        if record.therapist_id != by.pk:
            raise PermissionDenied("Only the therapist who wrote this note can sign it.")
    elif isinstance(record, DosingSession):
        _require_facilitator(record, by, "sign its note")
        if not record.facilitation_note.strip():
            _fail("facilitation_note", "Write the facilitation note before signing.")
    elif isinstance(record, DosingParticipant):
        _require_role(by, {Role.MEDICAL_PROVIDER}, "sign a dose record")
        transferred = record.adverse_events.active().filter(action_taken=AdverseEventAction.TRANSFERRED).exists()
        if record.dosed_at is None:
            _fail(NON_FIELD_ERRORS, "The dose has not been given: void the record instead of signing it.")
        if record.discharged_at is None and not transferred:
            _fail(
                NON_FIELD_ERRORS,
                "Complete the discharge check before signing (or record the transfer as an adverse event).",
            )
        if record.in_session_alerts.open().exists():
            _fail(NON_FIELD_ERRORS, "A vital-sign alert is still open: record what was done before signing.")
    else:
        raise ValidationError({NON_FIELD_ERRORS: f"A {record._meta.verbose_name} is not signed."})


@transaction.atomic
def record_sign(*, record: SignableRecord, by: User, version: int | None = None, now=None) -> SignableRecord:
    now = _now(now)
    record = type(record).objects.select_for_update().get(pk=record.pk)
    _ensure_editable(record)
    _sign_checks(record, by)
    # A signature attests to what the signer saw: not to a change made since.
    check_version(record, version)
    record.signed_at, record.signed_by = now, by
    _save(record)
    for patient in record_patients(record):
        audit(actor=by, action=AuditAction.SIGN, patient=patient, record=record, at=now)
    return record


# What a correction may change, per record; derived values are recomputed, never typed.
AMENDABLE_FIELDS: dict[type, tuple[str, ...]] = {
    MedicalEvaluation: tuple(f for f in MEDICAL_EVALUATION_FIELDS),
    PsychiatricEvaluation: (
        "evaluated_on",
        "diagnosis",
        "icd10_code",
        "indication",
        "suicide_risk",
        "risk_plan",
        "note",
    ),
    PreparatorySession: ("held_at", "duration_minutes", "topics", "intentions", "note"),
    IntegrationSession: ("held_at", "duration_minutes", "techniques", "note"),
    DosingSession: ("facilitation_note", "others_present", "location"),
    DosingParticipant: DOSE_FIELDS + ("is_maintenance", "dosed_at"),
    VitalReading: ("taken_at", "systolic_bp", "diastolic_bp", "heart_rate", "spo2", "respiratory_rate"),
    AdverseEvent: AE_FIELDS,
}


# What may be edited before signing: the same as a correction, except that a dose's given time
# is set only by dose_administer, which runs the pre-dose checks, and that a vital reading is
# never edited in place: a changed value is a correction with a reason, kept beside the original.
EDITABLE_FIELDS: dict[type, tuple[str, ...]] = {
    **{model: fields for model, fields in AMENDABLE_FIELDS.items() if model is not VitalReading},
    DosingParticipant: (*DOSE_FIELDS, "is_maintenance"),
}
# Corrected with a reason even before the record above them is signed.
ALWAYS_AMENDED = (VitalReading,)


def _recheck(record, now: datetime, changed: set[str], before: dict | None = None, reason: str = "") -> None:
    """Re-run the record's own rules after a correction, exactly as on entry. `before`: the
    changed fields' values as they were, for rules about the change itself."""
    before = before or {}
    if isinstance(record, MedicalEvaluation):
        if "evaluated_on" in before and record.evaluated_on and record.evaluated_on > before["evaluated_on"]:
            # The screen's date decides when it expires: a later date would make an old screen new.
            _fail(
                "evaluated_on",
                f"The screen was made on {before['evaluated_on']:%Y-%m-%d}; a correction cannot move it later. A "
                "new evaluation is a re-screen: record it as a new medical evaluation.",
            )
        _check_medical_evaluation(record, timezone.localdate(now))
    elif isinstance(record, PsychiatricEvaluation):
        _check_psychiatric_evaluation(record, timezone.localdate(now))
    elif isinstance(record, DosingParticipant):
        # The maximum and ceiling the dose was recorded under still judge it (a lead's later change
        # neither blocks an honest correction nor rewrites what the record says was in force).
        kept = kept_ceiling = None
        if "route" not in changed and record.protocol_maximum_unit:
            kept = rules.RouteMaximum(record.protocol_maximum, record.protocol_maximum_unit)
            if record.protocol_ceiling is not None:
                kept_ceiling = rules.RouteMaximum(record.protocol_ceiling, record.protocol_maximum_unit)
        if "weight_kg" in changed:
            _recorded_weight_for(record)
        _apply_dose(record, kept, kept_ceiling)
        if record.dosed_at is not None:
            _recheck_given_dose(record, changed, now, reason)
    elif isinstance(record, VitalReading):
        _check_reading(record.participant, record, now, correcting=True)
        values = {f: getattr(record, f) for f in rules.VITAL_RANGES}
        record.alerts = rules.vital_alerts(values, record.phase, rules.VitalThresholds(**record.thresholds_in_force))
    elif isinstance(record, AdverseEvent):
        _check_adverse_event(record, now)
    elif isinstance(record, PreparatorySession):
        _check_held_at(record.held_at, now)
        record.topics = _check_choices("topics", record.topics, PreparationTopic)
    elif isinstance(record, IntegrationSession):
        _check_held_at(record.held_at, now)
        record.techniques = _check_choices("techniques", record.techniques, IntegrationTechnique)


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


def _seriousness_kept(record, before: dict, by: User) -> None:
    """A serious adverse event has gone to the practice leads: only a lead takes the seriousness
    back (and the event off their list), never the colleague who reported it."""
    withdrawn = isinstance(record, AdverseEvent) and before.get("serious") and not record.serious
    if withdrawn and by.role != Role.PRACTICE_LEAD:
        _fail(
            "serious",
            "This event was reported as serious and has gone to the practice leads: only a practice lead can "
            "withdraw its seriousness. Ask them; add what you know to the description meanwhile.",
        )


def _recorded_weight_for(participant: DosingParticipant) -> None:
    """A corrected weight is still a recorded one: a measurement of the patient of that weight,
    within the clinic's weight age before the dose. mg/kg never comes from a typed number."""
    day = timezone.localdate(participant.dosed_at or participant.session.starts_at)
    max_age = ClinicSettings.load().weight_max_age_days
    measurement = (
        participant.course.patient.weights.active()
        .filter(weight_kg=participant.weight_kg, measured_on__lte=day, measured_on__gte=day - timedelta(days=max_age))
        .order_by("-measured_on", "-created_at")
        .first()
    )
    if measurement is None:
        _fail(
            "weight_kg",
            f"A dose is calculated on a recorded weight: no weight of {participant.weight_kg} kg is recorded for this "
            f"patient in the {max_age} days up to {day:%Y-%m-%d}. Record the weight with the day it was measured, "
            "then correct the dose to it.",
        )
    participant.weight_measurement = measurement


def _recheck_given_dose(participant: DosingParticipant, changed: set[str], now: datetime, reason: str = "") -> None:
    """A given dose corrected after the fact keeps the rules it was given under (courses.safety
    .given_dose_errors), and what was confirmed before it stays confirmed."""
    if "dosed_at" in changed:
        if participant.dosed_at > now + FUTURE_TOLERANCE:
            _fail("dosed_at", "The dose time cannot be in the future.")
        if participant.dosed_at < participant.session.starts_at - timedelta(hours=1):
            _fail("dosed_at", "The dose time is more than an hour before the session starts.")
    if changed & {"dosed_at", "drug", "route"}:
        settings = ClinicSettings.load()
        errors = safety.given_dose_errors(
            dosed_at=bedside.local(participant.dosed_at),
            discharged_at=bedside.local(participant.discharged_at),
            monitoring=bedside.monitoring_time(participant, settings),
            readings=[bedside.reading_fact(r) for r in participant.vitals.active().order_by("taken_at")],
            others=bedside.other_doses(participant),
            min_interval=timedelta(hours=settings.min_dose_interval_hours),
            overrides=bedside.override_facts(participant),
            hold_recheck=timedelta(minutes=settings.hold_recheck_minutes),
        )
        field = "dosed_at" if "dosed_at" in changed else "route"
        hard = [b.message for b in errors if b.code != "monitoring_short"]
        if hard:
            raise ValidationError({field: hard})
        short = [b.message for b in errors if b.code == "monitoring_short"]
        if short:
            # The patient has gone home: the corrected record says the monitoring was short, as a
            # documented exception (counted on the safety report), instead of refusing the truth.
            if not reason:
                _fail(field, short[0] + " Say why in the correction's reason.")
            kept = participant.discharge_exception_reason
            participant.discharge_exception_reason = (
                (kept + " | " if kept else "") + f"Monitoring short after correction: {short[0]} {reason}"
            )[: rules.REASON_MAX]
    if "fasting_confirmed" in changed and not participant.fasting_confirmed:
        _fail(
            "fasting_confirmed",
            "The dose was given on a confirmed fast, and that confirmation stays on the record. If the patient had "
            "not fasted, record what followed as an adverse event or in the session's note.",
        )
    if "pregnancy_test" in changed:
        if participant.pregnancy_test == PregnancyTest.POSITIVE:
            _fail(
                "pregnancy_test",
                "The dose was given on the test result recorded before it. A positive result that came later is an "
                "exposure in pregnancy: record it as an adverse event and tell the practice lead.",
            )
        screen = bedside.course_state(participant.course, on=timezone.localdate(now)).screen
        blockers = safety.pregnancy_blockers(
            screen.childbearing_potential if screen else "", participant.pregnancy_test
        )
        if blockers:
            _fail("pregnancy_test", blockers[0].message)


def _json_value(value):
    if isinstance(value, datetime):
        # Both sides of a change in the clinic's time, as the pages show them.
        return str(timezone.localtime(value)) if timezone.is_aware(value) else str(value)
    if isinstance(value, (date, Decimal)):
        return str(value)
    return value


@transaction.atomic
def record_amend(*, record, by: User, changes: dict, reason: str, version: int | None = None, now=None) -> Amendment:
    """Correct a locked (signed) record: the change, who, when and why are kept beside it."""
    now = _now(now)
    record = type(record).objects.select_for_update().get(pk=record.pk)
    if getattr(record, "is_voided", False):
        _fail(NON_FIELD_ERRORS, "A voided record cannot be amended.")
    locked = (
        isinstance(record, ALWAYS_AMENDED)
        or (isinstance(record, SignableRecord) and record.is_signed)
        # A dose once given is corrected with a reason, signed or not: its time and amount were
        # checked when it was given, and the patient may still be in the chair.
        or (isinstance(record, DosingParticipant) and record.dosed_at is not None)
        or (isinstance(record, AdverseEvent) and record.participant is not None and record.participant.is_signed)
    )
    if not locked:
        _fail(NON_FIELD_ERRORS, "This record is not signed yet: edit it directly instead of amending it.")
    _amend_permission(record, by)
    check_version(record, version)
    reason = required_text("reason", reason, "Say why the record is being corrected.", rules.REASON_MAX)
    allowed = AMENDABLE_FIELDS[type(record)]
    wrong = sorted(set(changes) - set(allowed))
    if wrong:
        _fail("changes", f"These fields cannot be amended: {', '.join(wrong)}. Amendable: {', '.join(allowed)}.")
    diff, before = {}, {}
    for field, value in changes.items():
        old = getattr(record, field)
        if old != value:
            diff[field] = {"from": _json_value(old), "to": _json_value(value)}
            before[field] = old
            setattr(record, field, value)
    if not diff:
        _fail("changes", "Nothing would change: the values are the same as the signed record.")
    hold_before = pre_dose_hold(record.participant, now=now) if isinstance(record, VitalReading) else None
    _seriousness_kept(record, before, by)
    exception_before = getattr(record, "discharge_exception_reason", None)
    _recheck(record, now, set(diff), before, reason)
    if getattr(record, "discharge_exception_reason", None) != exception_before:
        diff["discharge_exception_reason"] = {"from": exception_before, "to": record.discharge_exception_reason}
    _save(record)
    if isinstance(record, VitalReading):
        _reading_changed(record, by=by, now=now, why=f"Corrected: {reason}", hold_before=hold_before, before=before)
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
    _schedule_follows(record, now)
    return amendment


def _amend_permission(record, by: User) -> None:
    if isinstance(record, (Patient, Course)):
        # Not records of care: they change through their own steps, each with its own rules.
        _fail(
            NON_FIELD_ERRORS,
            "A patient's details are edited on the patient (PATCH /api/patients/{id}/); a course changes through its "
            "stage, therapists and exceptions, not as a record.",
        )
    if isinstance(record, AdverseEvent):
        # The practice lead may change one too: withdrawing a serious event's seriousness is theirs.
        roles = CLINICIANS if record.participant_id is None else {Role.MEDICAL_PROVIDER}
        _require_role(by, {*roles, Role.PRACTICE_LEAD}, "change an adverse event")
    elif isinstance(record, (MedicalEvaluation, DosingParticipant, VitalReading)):
        _require_role(by, {Role.MEDICAL_PROVIDER}, f"amend a {record._meta.verbose_name}")
    elif isinstance(record, PsychiatricEvaluation):
        _require_role(by, CLINICIANS, "amend a psychiatric evaluation")
    elif isinstance(record, DosingSession):
        _require_facilitator(record, by, "change its note")
    else:
        _require_role(by, {Role.THERAPIST}, f"amend a {record._meta.verbose_name}")
        # A session note is the therapist's own account: only its author corrects it.
        if record.therapist_id != by.pk:
            raise PermissionDenied("Only the therapist who wrote this note can change it.")


def _require_facilitator(session: DosingSession, by: User, doing: str) -> None:
    _require_role(by, {Role.THERAPIST}, doing)
    if not session.facilitators.filter(pk=by.pk).exists():
        raise PermissionDenied(f"Only a facilitator of this session can {doing}.")


@transaction.atomic
def record_update(*, record, by: User, version: int | None = None, now=None, **changes):
    """Edit a record that is not yet signed, under the same rules as on entry."""
    now = _now(now)
    record = type(record).objects.select_for_update().get(pk=record.pk)
    if not isinstance(record, DosingParticipant):  # its own update checks the role, then the version
        _amend_permission(record, by)
    _ensure_editable(record)
    if isinstance(record, ALWAYS_AMENDED):
        _fail(
            NON_FIELD_ERRORS,
            "A vital-sign reading is not edited in place: correct it with an amendment, giving the reason; the "
            "original values stay beside the correction.",
        )
    if isinstance(record, DosingParticipant):
        wrong = sorted(set(changes) - {*EDITABLE_FIELDS[DosingParticipant], "weighed_now"})
        if wrong:
            _fail(
                NON_FIELD_ERRORS,
                f"These fields cannot be edited: {', '.join(wrong)}. The dose time, overrides and discharge "
                "are recorded by their own steps.",
            )
        return dosing_participant_update(participant=record, by=by, version=version, now=now, **changes)
    check_version(record, version)
    allowed = EDITABLE_FIELDS.get(type(record), ())
    wrong = sorted(set(changes) - set(allowed))
    if wrong:
        _fail(NON_FIELD_ERRORS, f"These fields cannot be edited: {', '.join(wrong)}.")
    before = {field: getattr(record, field) for field in changes}
    for field, value in changes.items():
        setattr(record, field, value)
    _seriousness_kept(record, before, by)
    _recheck(record, now, set(changes))
    _save(record)
    for patient in record_patients(record):
        audit(
            actor=by,
            action=AuditAction.UPDATE,
            patient=patient,
            record=record,
            detail="fields: " + ", ".join(sorted(changes)),
            at=now,
        )
    return record


def _signed_author(record) -> User | None:
    """Whose signature locks this record: its own signer, or the signer of the dose it belongs to."""
    if isinstance(record, SignableRecord) and record.is_signed:
        return record.signed_by
    participant = getattr(record, "participant", None)
    if isinstance(record, (VitalReading, AdverseEvent)) and participant is not None and participant.is_signed:
        return participant.signed_by
    return None


def _void_permission(record, by: User) -> None:
    """Voiding is a clinical act: the role that records a kind of record is the one that voids it.
    A signed record (or one under a signed dose) is voided only by its author or a practice lead:
    a colleague may not void a note they could not amend."""
    if isinstance(record, (Course, DosingSession)):
        _doses_under(record, by)
    if isinstance(record, DosingParticipant) and record.dosed_at is not None:
        # A given dose stops counting for spacing and monitoring once voided: the lead's decision.
        _require_role(by, {Role.PRACTICE_LEAD}, "void a dose that was given (a patient who leaves early is discharged)")
        return
    author = _signed_author(record)
    if author is not None:
        if by.role == Role.PRACTICE_LEAD or (by.pk == author.pk and by.role):
            return
        raise PermissionDenied(
            f"This {record._meta.verbose_name} was signed by {author}: only its author or a practice lead can void it."
        )
    if isinstance(record, (Patient, Course)):
        _require_role(by, ANY_STAFF, "void a record")
    elif isinstance(record, (MedicalEvaluation, DosingParticipant, VitalReading)):
        _require_role(by, {Role.MEDICAL_PROVIDER}, f"void a {record._meta.verbose_name}")
    elif isinstance(record, AdverseEvent):
        if record.serious:
            # It has gone to the practice leads; only they take it back off their list.
            _require_role(by, {Role.PRACTICE_LEAD}, "void a serious adverse event")
        else:
            _require_role(by, {Role.MEDICAL_PROVIDER} if record.participant_id else CLINICIANS, "void an adverse event")
    elif isinstance(record, PsychiatricEvaluation):
        _require_role(by, CLINICIANS, f"void a {record._meta.verbose_name}")
    elif isinstance(record, DosingSession):
        _require_role(by, {*CLINICIANS, Role.PRACTICE_LEAD}, f"void a {record._meta.verbose_name}")
    elif by.role != Role.PRACTICE_LEAD:
        _require_role(by, {Role.THERAPIST}, f"void a {record._meta.verbose_name}")
        # A session note is the therapist's own account, as for editing it: only its author voids it.
        if record.therapist_id != by.pk:
            raise PermissionDenied("Only the therapist who wrote this note, or a practice lead, can void it.")


def _doses_under(record, by: User) -> None:
    """A course or dosing session that holds given doses is not voided in passing: never while a
    dosed patient is still in the chair, and otherwise only by a practice lead (a voided dose no
    longer counts for spacing, so this is a decision about the patient's safety)."""
    doses = DosingParticipant.objects.active().filter(dosed_at__isnull=False)
    doses = doses.filter(session=record) if isinstance(record, DosingSession) else doses.filter(course=record)
    if doses.filter(discharged_at__isnull=True).exists():
        _fail(
            NON_FIELD_ERRORS,
            f"A patient dosed in this {record._meta.verbose_name} has not been discharged: discharge them first (one "
            "who left early is discharged as having left, with a reason).",
        )
    if by.role != Role.PRACTICE_LEAD and doses.exists():
        raise PermissionDenied(
            f"This {record._meta.verbose_name} holds doses that were given: only a practice lead can void it."
        )


@transaction.atomic
def record_void(*, record, by: User, reason: str, version: int | None = None, now=None):
    """Void a record entered in error. It stays, marked, with who voided it and why."""
    now = _now(now)
    record = type(record).objects.select_for_update().get(pk=record.pk)
    _void_permission(record, by)
    check_version(record, version)
    if record.voided_at is not None:
        _fail(NON_FIELD_ERRORS, "This record is already voided.")
    reason = required_text("reason", reason, "Say why the record is voided.", rules.REASON_MAX)
    if isinstance(record, Patient) and record.courses.active().exists():
        _fail(NON_FIELD_ERRORS, "Void the patient's courses first.")
    hold_before = pre_dose_hold(record.participant, now=now) if isinstance(record, VitalReading) else None
    record.voided_at, record.voided_by, record.void_reason = now, by, reason
    _save(record)
    if isinstance(record, VitalReading):
        _reading_changed(record, by=by, now=now, why=f"Voided: {reason}", hold_before=hold_before)
    for patient in record_patients(record):
        audit(actor=by, action=AuditAction.VOID, patient=patient, record=record, at=now)
    _schedule_follows(record, now)
    return record


# --- clinic settings and staff ----------------------------------------------------------------


SETTINGS_FIELDS = (
    "clinic_name",
    "max_iv_mg_per_kg",
    "max_im_mg_per_kg",
    "max_intranasal_mg",
    "max_sublingual_mg",
    "ceiling_iv_mg_per_kg",
    "ceiling_im_mg_per_kg",
    "ceiling_intranasal_mg",
    "ceiling_sublingual_mg",
    "hold_systolic",
    "hold_diastolic",
    "hold_recheck_minutes",
    "alert_systolic",
    "alert_diastolic",
    "alert_heart_rate",
    "alert_spo2_below",
    "alert_respiratory_rate_below",
    "vitals_interval_minutes",
    "monitoring_minutes_esketamine",
    "monitoring_minutes_other",
    "min_dose_interval_hours",
    "weight_max_age_days",
    "screen_valid_months",
    "minimum_age_years",
)


CEILING_FIELDS = {
    Route.IV: "ceiling_iv_mg_per_kg",
    Route.IM: "ceiling_im_mg_per_kg",
    Route.INTRANASAL: "ceiling_intranasal_mg",
    Route.SUBLINGUAL: "ceiling_sublingual_mg",
}


@transaction.atomic
def clinic_settings_update(*, by: User, now=None, **fields) -> ClinicSettings:
    now = _now(now)
    # Thresholds, maxima and intervals are clinical decisions: the practice lead's, not an administrator's.
    _require_role(by, {Role.PRACTICE_LEAD}, "change the clinic's clinical settings")
    settings = ClinicSettings.objects.select_for_update().get(pk=ClinicSettings.load().pk)
    _refuse_unknown(fields, SETTINGS_FIELDS, "settings")
    changed = {
        k: {"from": _json_value(getattr(settings, k)), "to": _json_value(v)}
        for k, v in fields.items()
        if getattr(settings, k) != v
    }
    for key, value in fields.items():
        setattr(settings, key, value)
    for kind in ("systolic", "diastolic"):
        hold, alert = getattr(settings, f"hold_{kind}"), getattr(settings, f"alert_{kind}")
        if hold >= alert:
            low, high = rules.SETTING_RANGES[f"hold_{kind}"]
            _fail(
                f"hold_{kind}",
                f"The {kind} pre-dose hold must be below the intra-session alert ({alert} mmHg), between {low} and "
                f"{high} mmHg.",
            )
    for route, name in CEILING_FIELDS.items():
        maximum, ceiling = settings.route_maximum(route), settings.route_ceiling(route)
        if ceiling.value < maximum.value:
            _fail(
                name,
                f"The ceiling for {Route(route).label.lower()} ({ceiling.value} {ceiling.unit}) must be at least its "
                f"maximum ({maximum.value} {maximum.unit}).",
            )
    settings.updated_at, settings.updated_by = now, by
    _save(settings)
    if changed:
        audit(
            actor=by,
            action=AuditAction.UPDATE,
            record_type="clinic settings",
            detail="; ".join(f"{k}: {v['from']} → {v['to']}" for k, v in changed.items()),
            at=now,
        )
    return settings


@transaction.atomic
def staff_create(
    *,
    by: User,
    username: str,
    password: str | None,
    role: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    credentials: str = "",
    now=None,
) -> User:
    """A new staff account. With `password=None` the account has no usable password until its
    owner chooses one through an invitation (accounts.invitations.staff_invite)."""
    from django.contrib.auth.password_validation import validate_password

    now = _now(now)
    _require_lead(by, "manage staff")
    if role not in Role.values:
        _fail("role", f"Choose a role: {', '.join(Role.values)}.")
    if User.objects.filter(username__iexact=username).exists():
        _fail("username", "This username is taken.")
    user = User(
        username=username, first_name=first_name, last_name=last_name, email=email, role=role, credentials=credentials
    )
    if password is None:
        user.set_unusable_password()
    else:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        user.set_password(password)
    _save(user)
    audit(actor=by, action=AuditAction.CREATE, record=user, record_type="staff account", at=now)
    return user


@transaction.atomic
def staff_set_active(*, by: User, user: User, active: bool, now=None) -> User:
    now = _now(now)
    _require_lead(by, "manage staff")
    if user.pk == by.pk and not active:
        _fail(NON_FIELD_ERRORS, "You cannot deactivate your own account.")
    if user.is_superuser and not by.is_superuser:
        raise PermissionDenied("An administrator account is managed by another administrator, not by a practice lead.")
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit(
        actor=by,
        action=AuditAction.UPDATE,
        record=user,
        record_type="staff account",
        detail="activated" if active else "deactivated",
        at=now,
    )
    return user
