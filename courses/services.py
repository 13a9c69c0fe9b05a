"""Writes to the course record. Every clinical rule has its one home here.

The web forms, the REST API, the admin and Celery tasks all call these functions. Each takes
keyword arguments, reads the clock once (`now`), runs in a transaction, audits what it did,
and refuses a broken rule with a ValidationError keyed by the field concerned.
"""

import logging
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import DateField, Model
from django.utils import timezone

from accounts.models import Role, User
from courses import rules
from courses.audit import audit, record_label
from courses.choices import (
    CLEARED_DECISIONS,
    CLOSED_STATUSES,
    COURSE_STAGES,
    AdverseEventAction,
    CourseStatus,
    IntegrationTechnique,
    PregnancyTest,
    PreparationTopic,
    Route,
    ScreenDecision,
    SeriousCriterion,
    SessionFormat,
    SuicideRisk,
    VitalAlert,
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
    """The same for text the rules ask for (a reason, what was done): `missing` says what to write."""
    text = _optional_text(field, value, limit)
    if not text:
        _fail(field, missing)
    return text


def _refuse_unknown(fields, allowed, what: str) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        _fail(NON_FIELD_ERRORS, f"Unknown {what} field(s): {', '.join(unknown)}. Allowed: {', '.join(allowed)}.")


def _require_role(user: User, roles: set[str], doing: str) -> None:
    if user.is_superuser or user.role in roles:
        return
    names = " or ".join(sorted(Role(r).label.lower() for r in roles))
    raise PermissionDenied(f"Only a {names} can {doing}.")


def _require_lead(user: User, doing: str) -> None:
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
    "course_other_indication_described": ("indication_detail", "Describe the indication when it is 'Other'."),
    "course_planned_sessions_range": ("planned_dosing_sessions", "Plan between 1 and 20 dosing sessions."),
    "preparatory_session_duration_range": ("duration_minutes", "A session lasts 5 to 480 minutes."),
    "integration_session_duration_range": ("duration_minutes", "A session lasts 5 to 480 minutes."),
    "adverse_event_other_described": ("term_other", "Describe the event when the term is 'Other'."),
    "clinic_settings_iv_max_positive": ("max_iv_mg_per_kg", "The IV maximum must be above 0 mg/kg."),
    "clinic_settings_im_max_positive": ("max_im_mg_per_kg", "The IM maximum must be above 0 mg/kg."),
    "clinic_settings_in_max_positive": ("max_intranasal_mg", "The intranasal maximum must be above 0 mg."),
    "clinic_settings_sl_max_positive": ("max_sublingual_mg", "The sublingual maximum must be above 0 mg."),
    "clinic_settings_hold_systolic_range": ("hold_systolic", "The systolic hold must be between 90 and 260 mmHg."),
    "clinic_settings_hold_diastolic_range": ("hold_diastolic", "The diastolic hold must be between 50 and 160 mmHg."),
    "clinic_settings_alert_systolic_range": ("alert_systolic", "The systolic alert must be between 90 and 260 mmHg."),
    "clinic_settings_alert_diastolic_range": (
        "alert_diastolic",
        "The diastolic alert must be between 50 and 160 mmHg.",
    ),
    "clinic_settings_alert_hr_range": ("alert_heart_rate", "The heart-rate alert must be between 60 and 220 /min."),
    "clinic_settings_alert_spo2_range": ("alert_spo2_below", "The SpO2 alert must be between 70 and 100 %."),
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


@transaction.atomic
def patient_register(*, by: User, now: datetime | None = None, weight_kg=None, **fields) -> Patient:
    now = _now(now)
    _require_role(by, ANY_STAFF, "register a patient")
    _refuse_unknown(fields, PATIENT_FIELDS, "patient")
    if fields.get("date_of_birth"):
        _check_birth_date(fields["date_of_birth"], timezone.localdate(now))
    if fields.get("mrn") and Patient.objects.filter(mrn=fields["mrn"]).exists():
        _fail("mrn", "Another patient already has this MRN.")
    patient = _save(Patient(created_at=now, created_by=by, **fields))
    if weight_kg not in (None, ""):
        weight_record(patient=patient, by=by, measured_on=timezone.localdate(now), weight_kg=weight_kg, now=now)
    audit(actor=by, action=AuditAction.CREATE, patient=patient, record=patient, at=now)
    return patient


@transaction.atomic
def patient_update(
    *, patient: Patient, by: User, version: int | None = None, now: datetime | None = None, **fields
) -> Patient:
    """Demographics and contact details: not a signed record, so edited in place and audited."""
    now = _now(now)
    _require_role(by, ANY_STAFF, "edit a patient's details")
    patient = _reread(patient)
    check_version(patient, version)
    _ensure_editable(patient)
    _refuse_unknown(fields, PATIENT_FIELDS, "patient")
    if fields.get("date_of_birth"):
        _check_birth_date(fields["date_of_birth"], timezone.localdate(now))
    if fields.get("mrn") and Patient.objects.filter(mrn=fields["mrn"]).exclude(pk=patient.pk).exists():
        _fail("mrn", "Another patient already has this MRN.")
    changed = sorted(k for k, v in fields.items() if getattr(patient, k) != v)
    for key, value in fields.items():
        setattr(patient, key, value)
    _save(patient)
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


@transaction.atomic
def weight_record(*, patient: Patient, by: User, measured_on: date, weight_kg, now: datetime | None = None):
    now = _now(now)
    _require_role(by, ANY_STAFF, "record a weight")
    _ensure_editable(patient)
    weight = _decimal("weight_kg", weight_kg, "Weight")
    _range_or_fail("weight_kg", weight, *rules.WEIGHT_RANGE_KG, "Weight", " kg")
    if measured_on > timezone.localdate(now):
        _fail("measured_on", "A weight cannot be dated in the future.")
    record = _save(
        WeightMeasurement(patient=patient, measured_on=measured_on, weight_kg=weight, created_at=now, created_by=by)
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
    now: datetime | None = None,
) -> Course:
    now = _now(now)
    _require_role(by, ANY_STAFF, "open a course")
    _ensure_editable(patient)
    _check_care_team(therapists, medical_provider)
    course = _save(
        Course(
            patient=patient,
            indication=indication,
            indication_detail=indication_detail,
            format=format,
            medical_provider=medical_provider,
            planned_dosing_sessions=planned_dosing_sessions,
            status=CourseStatus.EVALUATION,
            status_changed_at=now,
            created_at=now,
            created_by=by,
        )
    )
    course.therapists.set(therapists)
    audit(actor=by, action=AuditAction.CREATE, patient=patient, record=course, at=now)
    _schedule_follows(course, now)
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
    return course.medical_evaluations.active().first()


def course_is_cleared_for_dosing(course: Course) -> bool:
    evaluation = active_medical_evaluation(course)
    return evaluation is not None and evaluation.is_cleared


def _ensure_cleared_for_dosing(course: Course) -> None:
    """The rule: no dosing on a course whose contraindication screen is not signed as cleared."""
    evaluation = active_medical_evaluation(course)
    if evaluation is None:
        _fail("course", "No dosing before a medical evaluation: record the contraindication screen first.")
    if not evaluation.is_signed:
        _fail("course", "The contraindication screen is not signed yet: a medical provider must sign it as cleared.")
    if evaluation.decision not in CLEARED_DECISIONS:
        _fail("course", f"The contraindication screen is signed as '{evaluation.get_decision_display()}': no dosing.")


def _ensure_psychiatric_evaluation_signed(course: Course, field: str) -> None:
    # The suicide-risk review is part of the evaluation that dosing waits for (DOMAIN §1).
    if not course.psychiatric_evaluations.active().filter(signed_at__isnull=False).exists():
        _fail(field, "Sign the psychiatric evaluation (with its suicide-risk review) before dosing begins.")


def next_stage(status: str) -> str | None:
    index = COURSE_STAGES.index(status)
    return COURSE_STAGES[index + 1] if index + 1 < len(COURSE_STAGES) else None


def _set_status(course: Course, to_status: str, by: User, now: datetime, reason: str = "") -> None:
    CourseStatusChange.objects.create(
        course=course, from_status=course.status, to_status=to_status, reason=reason, changed_at=now, changed_by=by
    )
    course.status = to_status
    course.status_changed_at = now
    if to_status == CourseStatus.DISCONTINUED:
        course.discontinued_reason = reason
    _save(course)
    audit(
        actor=by,
        action=AuditAction.UPDATE,
        patient=course.patient,
        record=course,
        detail=f"status → {to_status}",
        at=now,
    )
    _schedule_follows(course, now)


@transaction.atomic
def course_change_status(*, course: Course, by: User, to_status: str, reason: str = "", now=None) -> Course:
    """Move a course one stage forward, or discontinue it (with a reason) from any open stage."""
    now = _now(now)
    _require_role(by, ANY_STAFF, "change a course's stage")
    course = Course.objects.select_for_update().get(pk=course.pk)
    _ensure_editable(course)
    _ensure_course_open(course)
    if to_status == CourseStatus.DISCONTINUED:
        reason = required_text("reason", reason, "Say why the course is discontinued.", rules.REASON_MAX)
        _set_status(course, to_status, by, now, reason)
        return course
    expected = next_stage(course.status)
    if to_status != expected:
        _fail(
            "to_status",
            f"A course in {course.get_status_display().lower()} moves next to "
            f"{CourseStatus(expected).label.lower()} (or is discontinued), not to {to_status}.",
        )
    if to_status == CourseStatus.DOSING:
        _ensure_cleared_for_dosing(course)
        _ensure_psychiatric_evaluation_signed(course, "to_status")
    if to_status == CourseStatus.INTEGRATION and not course.doses.active().filter(dosed_at__isnull=False).exists():
        _fail("to_status", "No dose has been given on this course yet.")
    _set_status(course, to_status, by, now, reason.strip())
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
    "decision",
    "caution_note",
)


def _check_medical_evaluation(evaluation: MedicalEvaluation, today: date) -> None:
    if evaluation.evaluated_on and evaluation.evaluated_on > today:
        _fail("evaluated_on", "An evaluation cannot be dated in the future.")
    errors = rules.vital_range_errors({f: getattr(evaluation, f) for f in rules.VITAL_RANGES})
    errors.update(rules.screen_decision_errors(evaluation.screen_answers, evaluation.decision, evaluation.caution_note))
    if evaluation.weight_kg is not None:
        low, high = rules.WEIGHT_RANGE_KG
        if not low <= evaluation.weight_kg <= high:
            errors["weight_kg"] = f"Weight must be between {low} and {high} kg."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def medical_evaluation_record(*, course: Course, by: User, now=None, **fields) -> MedicalEvaluation:
    now = _now(now)
    _require_role(by, {Role.MEDICAL_PROVIDER}, "record a medical evaluation")
    course = _reread(course)
    _ensure_editable(course)
    _ensure_course_open(course)
    if active_medical_evaluation(course) is not None:
        _fail(NON_FIELD_ERRORS, "This course already has a medical evaluation; edit, amend or void it instead.")
    evaluation = MedicalEvaluation(course=course, created_at=now, created_by=by, **fields)
    _check_medical_evaluation(evaluation, timezone.localdate(now))
    _save(evaluation)
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
    values = list(values or [])
    wrong = [v for v in values if v not in choices.values]
    if wrong:
        _fail(field, f"Unknown value(s): {', '.join(map(str, wrong))}. Choose from: {', '.join(choices.values)}.")
    return values


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
    """The rule: one patient is never in two dosing sessions that overlap in time."""
    others = (
        DosingParticipant.objects.active()
        .filter(course__patient_id=course.patient_id, session__voided_at__isnull=True)
        .filter(session__starts_at__lt=session.ends_at, session__ends_at__gt=session.starts_at)
        .exclude(session=session)
        .select_related("session")
    )
    if exclude_participant is not None:
        others = others.exclude(pk=exclude_participant.pk)
    clash = others.first()
    if clash is not None:
        other = clash.session
        _fail(
            "course",
            "This patient is already in a dosing session from "
            f"{timezone.localtime(other.starts_at):%Y-%m-%d %H:%M} to {timezone.localtime(other.ends_at):%H:%M}, "
            "which overlaps this one.",
        )


def _apply_dose(participant: DosingParticipant, maximum: rules.RouteMaximum | None = None) -> None:
    """Derive mg/kg, record the maximum in force, and apply the over-maximum rule.

    `maximum` is given when correcting a dose: the maximum in force when it was recorded
    still judges it. Otherwise the clinic's current maximum for the route applies.
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
    maximum = maximum or ClinicSettings.load().route_maximum(participant.route)
    participant.protocol_maximum, participant.protocol_maximum_unit = maximum.value, maximum.unit
    if rules.dose_exceeds_maximum(dose, weight, maximum) and not participant.over_maximum_reason.strip():
        shown = f"{participant.dose_mg_per_kg} mg/kg" if maximum.unit == "mg/kg" else f"{dose} mg"
        _fail(
            "over_maximum_reason",
            f"{shown} is above the clinic's maximum for {participant.get_route_display().lower()} "
            f"({maximum.value} {maximum.unit}): record the reason for the higher dose.",
        )


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
    *, session: DosingSession, course: Course, by: User, is_maintenance: bool | None = None, now=None, **dose
) -> DosingParticipant:
    now = _now(now)
    _require_role(by, {Role.MEDICAL_PROVIDER}, "record a dose")
    session = DosingSession.objects.select_for_update().get(pk=session.pk)
    # Lock the patient so two concurrent adds cannot both pass the overlap check.
    Patient.objects.select_for_update().filter(pk=course.patient_id).first()
    course = _reread(course)
    _ensure_editable(session)
    _ensure_editable(course)
    _ensure_course_open(course)
    _ensure_cleared_for_dosing(course)
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
    if is_maintenance is None:
        # A dose after the acute series ended is a maintenance / booster dose.
        is_maintenance = course.status in (CourseStatus.INTEGRATION, CourseStatus.FOLLOW_UP)
    participant = DosingParticipant(
        session=session, course=course, is_maintenance=is_maintenance, created_at=now, created_by=by, **dose
    )
    _apply_dose(participant)
    _save(participant)
    audit(actor=by, action=AuditAction.CREATE, patient=course.patient, record=participant, at=now)
    _schedule_follows(participant, now)
    return participant


@transaction.atomic
def dosing_participant_update(
    *, participant: DosingParticipant, by: User, version: int | None = None, now=None, **fields
) -> DosingParticipant:
    """Correct the dose record before it is signed; afterwards it takes an amendment."""
    now = _now(now)
    _require_role(by, {Role.MEDICAL_PROVIDER}, "change a dose record")
    participant = _reread(participant)
    _ensure_editable(participant)
    check_version(participant, version)
    _refuse_unknown(fields, (*DOSE_FIELDS, "is_maintenance"), "dose")
    if participant.dosed_at and {"dose_mg", "drug", "route", "weight_kg"} & fields.keys():
        _fail(NON_FIELD_ERRORS, "The dose has been given: correct it with an amendment after signing.")
    for key, value in fields.items():
        setattr(participant, key, value)
    _apply_dose(participant)
    _save(participant)
    audit(
        actor=by,
        action=AuditAction.UPDATE,
        patient=participant.course.patient,
        record=participant,
        detail="fields: " + ", ".join(sorted(fields)),
        at=now,
    )
    return participant


def _check_reading_time(participant: DosingParticipant, taken_at: datetime, now: datetime) -> None:
    if taken_at > now + FUTURE_TOLERANCE:
        _fail("taken_at", "A reading cannot be timed in the future.")
    earliest = participant.session.starts_at - timedelta(hours=2)
    if taken_at < earliest:
        _fail("taken_at", "A reading must be taken within 2 hours before the session starts or later.")


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
    """Refuse implausible values (naming the range), and flag holds and alerts on the reading."""
    now = _now(now)
    taken_at = taken_at or now
    _require_role(by, {Role.MEDICAL_PROVIDER}, "record vital signs")
    participant = _reread(participant)
    _ensure_editable(participant)
    values = {
        "systolic_bp": systolic_bp,
        "diastolic_bp": diastolic_bp,
        "heart_rate": heart_rate,
        "spo2": spo2,
        "respiratory_rate": respiratory_rate,
    }
    if all(v is None for v in values.values()):
        _fail(NON_FIELD_ERRORS, "Enter at least one vital sign.")
    errors = rules.vital_range_errors(values)
    if errors:
        raise ValidationError(errors)
    _check_reading_time(participant, taken_at, now)
    if phase == VitalPhase.PRE_DOSE and participant.dosed_at is not None:
        _fail("phase", "The dose has been given: record this reading as 'during session' or 'before discharge'.")
    if phase == VitalPhase.PRE_DISCHARGE and participant.dosed_at is None:
        _fail("phase", "No dose has been given yet: a reading before dosing is 'pre-dose'.")
    thresholds = ClinicSettings.load().vital_thresholds()
    reading = _save(
        VitalReading(
            participant=participant,
            phase=phase,
            taken_at=taken_at,
            alerts=rules.vital_alerts(values, phase, thresholds),
            thresholds_in_force=thresholds.as_dict(),
            created_at=now,
            created_by=by,
            **values,
        )
    )
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
    return reading


def pre_dose_hold_active(participant: DosingParticipant) -> bool:
    """The latest pre-dose reading is above the hold threshold and no override is recorded.

    The latest reading decides because a clinic re-checks a high pressure after a rest: a
    normal re-check lifts the hold. An override, once documented, covers this dose.
    """
    if participant.hold_override_at is not None:
        return False
    latest = participant.vitals.active().filter(phase=VitalPhase.PRE_DOSE).order_by("-taken_at", "-created_at").first()
    return latest is not None and VitalAlert.PRE_DOSE_HOLD in latest.alerts


@transaction.atomic
def dosing_hold_override(*, participant: DosingParticipant, by: User, reason: str, now=None) -> DosingParticipant:
    now = _now(now)
    _require_role(by, {Role.MEDICAL_PROVIDER}, "override a pre-dose hold")
    participant = DosingParticipant.objects.select_for_update().get(pk=participant.pk)
    _ensure_editable(participant)
    if not pre_dose_hold_active(participant):
        _fail(NON_FIELD_ERRORS, "There is no pre-dose hold to override.")
    participant.hold_override_reason = required_text(
        "reason",
        reason,
        "An override needs the clinical reasoning for dosing despite the raised blood pressure.",
        rules.REASON_MAX,
    )
    participant.hold_override_at = now
    participant.hold_override_by = by
    _save(participant)
    audit(
        actor=by,
        action=AuditAction.UPDATE,
        patient=participant.course.patient,
        record=participant,
        detail="pre-dose hold overridden",
        at=now,
    )
    return participant


@transaction.atomic
def dose_administer(*, participant: DosingParticipant, by: User, dosed_at: datetime | None = None, now=None):
    """Start dosing: every pre-dose check must pass, the group must be complete."""
    now = _now(now)
    dosed_at = dosed_at or now
    _require_role(by, {Role.MEDICAL_PROVIDER}, "give a dose")
    participant = (
        DosingParticipant.objects.select_for_update().select_related("session", "course").get(pk=participant.pk)
    )
    _ensure_editable(participant)
    if participant.dosed_at is not None:
        _fail(NON_FIELD_ERRORS, "This dose has already been recorded as given.")
    course = participant.course
    _ensure_course_open(course)
    _ensure_cleared_for_dosing(course)
    if course.status in (CourseStatus.EVALUATION, CourseStatus.PREPARATION):
        _ensure_psychiatric_evaluation_signed(course, NON_FIELD_ERRORS)
    size_error = rules.group_size_error(participant.session.format, participant.session.participants.active().count())
    if size_error:
        _fail(NON_FIELD_ERRORS, size_error + " Add or void participants before dosing starts.")
    if not participant.fasting_confirmed:
        _fail("fasting_confirmed", "Confirm fasting (2 h solids, 30 min liquids) before dosing.")
    if participant.pregnancy_test == PregnancyTest.POSITIVE:
        _fail("pregnancy_test", "A positive pregnancy test is an absolute contraindication: do not dose.")
    if not participant.vitals.active().filter(phase=VitalPhase.PRE_DOSE).exists():
        _fail(NON_FIELD_ERRORS, "Record a pre-dose set of vital signs before dosing.")
    if pre_dose_hold_active(participant):
        _fail(
            NON_FIELD_ERRORS,
            "Pre-dose hold: blood pressure is above the clinic's hold threshold. "
            "The medical provider must record an override with a reason before dosing.",
        )
    if dosed_at > now + FUTURE_TOLERANCE:
        _fail("dosed_at", "The dose time cannot be in the future.")
    if dosed_at < participant.session.starts_at - timedelta(hours=1):
        _fail("dosed_at", "The dose time is more than an hour before the session starts.")
    participant.dosed_at = dosed_at
    _save(participant)
    audit(actor=by, action=AuditAction.UPDATE, patient=course.patient, record=participant, detail="dose given", at=now)
    if course.status in (CourseStatus.EVALUATION, CourseStatus.PREPARATION):
        # The first dose moves the course into its dosing stage; earlier stages are passed through.
        while course.status != CourseStatus.DOSING:
            _set_status(course, next_stage(course.status), by, now, "first dose given")
    _schedule_follows(participant, now)
    return participant


def minimum_monitoring(participant: DosingParticipant, settings: ClinicSettings | None = None) -> timedelta:
    settings = settings or ClinicSettings.load()
    return timedelta(
        minutes=rules.minimum_monitoring_minutes(
            participant.drug,
            participant.route,
            settings.monitoring_minutes_esketamine,
            settings.monitoring_minutes_other,
        )
    )


@transaction.atomic
def participant_discharge(
    *,
    participant: DosingParticipant,
    by: User,
    alert_oriented: bool,
    vitals_acceptable: bool,
    escort_present: bool,
    no_driving_advised: bool,
    discharged_at: datetime | None = None,
    now=None,
) -> DosingParticipant:
    now = _now(now)
    discharged_at = discharged_at or now
    _require_role(by, {Role.MEDICAL_PROVIDER}, "discharge a patient")
    participant = (
        DosingParticipant.objects.select_for_update().select_related("session", "course").get(pk=participant.pk)
    )
    _ensure_editable(participant)
    if participant.dosed_at is None:
        _fail(NON_FIELD_ERRORS, "No dose has been given: there is nothing to discharge from.")
    if participant.discharged_at is not None:
        _fail(NON_FIELD_ERRORS, "Already discharged.")
    if discharged_at > now + FUTURE_TOLERANCE:
        _fail("discharged_at", "The discharge time cannot be in the future.")
    earliest = participant.dosed_at + minimum_monitoring(participant)
    if discharged_at < earliest:
        _fail(
            "discharged_at",
            f"Minimum monitoring is {minimum_monitoring(participant) // timedelta(minutes=1)} minutes after the dose: "
            f"discharge from {timezone.localtime(earliest):%H:%M}.",
        )
    if not participant.vitals.active().filter(phase=VitalPhase.PRE_DISCHARGE).exists():
        _fail(NON_FIELD_ERRORS, "Record a set of vital signs before discharge.")
    checklist = {
        "alert_oriented": alert_oriented,
        "vitals_acceptable": vitals_acceptable,
        "escort_present": escort_present,
        "no_driving_advised": no_driving_advised,
    }
    missing = [k for k, v in checklist.items() if not v]
    if missing:
        raise ValidationError(dict.fromkeys(missing, "Required before discharge."))
    participant.discharge_alert_oriented = alert_oriented
    participant.discharge_vitals_acceptable = vitals_acceptable
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
        detail="discharged",
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
    "action_taken",
    "outcome",
    "description",
)


def _check_adverse_event(event: AdverseEvent, now: datetime) -> None:
    event.serious_criteria = _check_choices("serious_criteria", event.serious_criteria, SeriousCriterion)
    if event.grade is not None and event.grade >= 4 and not event.serious:
        _fail("serious", "A life-threatening (grade 4) or fatal (grade 5) event is serious: tick 'serious'.")
    if event.serious and not event.serious_criteria:
        _fail("serious_criteria", "Say which seriousness criterion applies (21 CFR 312.32).")
    if not event.serious and event.serious_criteria:
        _fail("serious", "Seriousness criteria are ticked: mark the event as serious.")
    if event.onset_at and event.onset_at > now + FUTURE_TOLERANCE:
        _fail("onset_at", "The onset cannot be in the future.")
    if event.resolved_at and event.onset_at and event.resolved_at < event.onset_at:
        _fail("resolved_at", "Resolution must come after onset.")


@transaction.atomic
def adverse_event_record(*, participant: DosingParticipant, by: User, now=None, **fields) -> AdverseEvent:
    """Adverse events may be added even after the dose record is signed: safety outranks tidiness."""
    now = _now(now)
    _require_role(by, {Role.MEDICAL_PROVIDER}, "record an adverse event")
    participant = _reread(participant)
    if participant.is_voided:
        _fail(NON_FIELD_ERRORS, "This dose record has been voided.")
    fields.setdefault("onset_at", now)
    event = AdverseEvent(participant=participant, created_at=now, created_by=by, **fields)
    _check_adverse_event(event, now)
    _save(event)
    audit(
        actor=by,
        action=AuditAction.CREATE,
        patient=participant.course.patient,
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
    now = _now(now)
    _require_lead(by, "acknowledge a serious adverse event")
    if not event.serious:
        _fail(NON_FIELD_ERRORS, "Only serious adverse events are acknowledged.")
    claimed = AdverseEvent.objects.filter(pk=event.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=by, acknowledgement_note=_optional_text("note", note, rules.REASON_MAX)
    )
    if claimed != 1:
        _fail(NON_FIELD_ERRORS, "This event has already been acknowledged.")
    event.refresh_from_db()
    audit(actor=by, action=AuditAction.ACKNOWLEDGE, patient=event.participant.course.patient, record=event, at=now)
    return event


# --- signing, amending, voiding ---------------------------------------------------------------


def _sign_checks(record, by: User) -> None:
    if isinstance(record, MedicalEvaluation):
        _require_role(by, {Role.MEDICAL_PROVIDER}, "sign a medical evaluation")
        if record.decision == ScreenDecision.PENDING:
            _fail("decision", "Record the screen decision before signing.")
        missing = [f for f in ("systolic_bp", "diastolic_bp", "heart_rate", "weight_kg") if getattr(record, f) is None]
        if missing:
            raise ValidationError(dict.fromkeys(missing, "Required before the evaluation is signed."))
        _check_medical_evaluation(record, date.max)
    elif isinstance(record, PsychiatricEvaluation):
        _require_role(by, CLINICIANS, "sign a psychiatric evaluation")
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
# is set only by dose_administer, which runs the pre-dose checks.
EDITABLE_FIELDS: dict[type, tuple[str, ...]] = {
    **AMENDABLE_FIELDS,
    DosingParticipant: (*DOSE_FIELDS, "is_maintenance"),
}


def _recheck(record, now: datetime, changed: set[str]) -> None:
    """Re-run the record's own rules after a correction, exactly as on entry."""
    if isinstance(record, MedicalEvaluation):
        _check_medical_evaluation(record, timezone.localdate(now))
    elif isinstance(record, PsychiatricEvaluation):
        _check_psychiatric_evaluation(record, timezone.localdate(now))
    elif isinstance(record, DosingParticipant):
        kept = None
        if "route" not in changed and record.protocol_maximum_unit:
            kept = rules.RouteMaximum(record.protocol_maximum, record.protocol_maximum_unit)
        _apply_dose(record, kept)
    elif isinstance(record, VitalReading):
        values = {f: getattr(record, f) for f in rules.VITAL_RANGES}
        errors = rules.vital_range_errors(values)
        if errors:
            raise ValidationError(errors)
        record.alerts = rules.vital_alerts(values, record.phase, rules.VitalThresholds(**record.thresholds_in_force))
    elif isinstance(record, AdverseEvent):
        _check_adverse_event(record, now)
    elif isinstance(record, PreparatorySession):
        _check_held_at(record.held_at, now)
        record.topics = _check_choices("topics", record.topics, PreparationTopic)
    elif isinstance(record, IntegrationSession):
        _check_held_at(record.held_at, now)
        record.techniques = _check_choices("techniques", record.techniques, IntegrationTechnique)


def _json_value(value):
    if isinstance(value, (datetime, date, Decimal)):
        return str(value)
    return value


@transaction.atomic
def record_amend(*, record, by: User, changes: dict, reason: str, version: int | None = None, now=None) -> Amendment:
    """Correct a locked (signed) record: the change, who, when and why are kept beside it."""
    now = _now(now)
    record = type(record).objects.select_for_update().get(pk=record.pk)
    if getattr(record, "is_voided", False):
        _fail(NON_FIELD_ERRORS, "A voided record cannot be amended.")
    locked = (isinstance(record, SignableRecord) and record.is_signed) or (
        isinstance(record, (VitalReading, AdverseEvent)) and record.participant.is_signed
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
    diff = {}
    for field, value in changes.items():
        old = getattr(record, field)
        if old != value:
            diff[field] = {"from": _json_value(old), "to": _json_value(value)}
            setattr(record, field, value)
    if not diff:
        _fail("changes", "Nothing would change: the values are the same as the signed record.")
    _recheck(record, now, set(diff))
    _save(record)
    amendment = Amendment.objects.create(
        record_type=record._meta.model_name,
        record_id=record.pk,
        patient=record_patient(record),
        changes=diff,
        reason=reason,
        amended_at=now,
        amended_by=by,
    )
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
    if isinstance(record, (MedicalEvaluation, DosingParticipant, VitalReading, AdverseEvent)):
        _require_role(by, {Role.MEDICAL_PROVIDER}, f"amend a {record._meta.verbose_name}")
    elif isinstance(record, PsychiatricEvaluation):
        _require_role(by, CLINICIANS, "amend a psychiatric evaluation")
    elif isinstance(record, DosingSession):
        _require_facilitator(record, by, "change its note")
    else:
        _require_role(by, {Role.THERAPIST}, f"amend a {record._meta.verbose_name}")
        # A session note is the therapist's own account: only its author corrects it.
        if record.therapist_id != by.pk and not by.is_superuser:
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
    if isinstance(record, DosingParticipant):
        wrong = sorted(set(changes) - set(EDITABLE_FIELDS[DosingParticipant]))
        if wrong:
            _fail(
                NON_FIELD_ERRORS,
                f"These fields cannot be edited: {', '.join(wrong)}. The dose time, overrides and discharge "
                "are recorded by their own steps.",
            )
        return dosing_participant_update(participant=record, by=by, version=version, now=now, **changes)
    check_version(record, version)
    allowed = AMENDABLE_FIELDS.get(type(record), ())
    wrong = sorted(set(changes) - set(allowed))
    if wrong:
        _fail(NON_FIELD_ERRORS, f"These fields cannot be edited: {', '.join(wrong)}.")
    for field, value in changes.items():
        setattr(record, field, value)
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


def _void_permission(record, by: User) -> None:
    """Voiding is a clinical act: the role that records a kind of record is the one that voids it."""
    if isinstance(record, (Patient, Course)):
        _require_role(by, ANY_STAFF, "void a record")
    elif isinstance(record, (MedicalEvaluation, DosingParticipant, VitalReading, AdverseEvent)):
        _require_role(by, {Role.MEDICAL_PROVIDER}, f"void a {record._meta.verbose_name}")
    elif isinstance(record, (PsychiatricEvaluation, DosingSession)):
        _require_role(by, CLINICIANS, f"void a {record._meta.verbose_name}")
    else:
        _require_role(by, {Role.THERAPIST}, f"void a {record._meta.verbose_name}")


@transaction.atomic
def record_void(*, record, by: User, reason: str, version: int | None = None, now=None):
    """Void a record entered in error. It stays, marked, with who voided it and why."""
    now = _now(now)
    _void_permission(record, by)
    record = type(record).objects.select_for_update().get(pk=record.pk)
    check_version(record, version)
    if record.voided_at is not None:
        _fail(NON_FIELD_ERRORS, "This record is already voided.")
    reason = required_text("reason", reason, "Say why the record is voided.", rules.REASON_MAX)
    if isinstance(record, Patient) and record.courses.active().exists():
        _fail(NON_FIELD_ERRORS, "Void the patient's courses first.")
    record.voided_at, record.voided_by, record.void_reason = now, by, reason
    _save(record)
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
    "hold_systolic",
    "hold_diastolic",
    "alert_systolic",
    "alert_diastolic",
    "alert_heart_rate",
    "alert_spo2_below",
    "monitoring_minutes_esketamine",
    "monitoring_minutes_other",
)


@transaction.atomic
def clinic_settings_update(*, by: User, now=None, **fields) -> ClinicSettings:
    now = _now(now)
    _require_lead(by, "change clinic settings")
    settings = ClinicSettings.objects.select_for_update().get(pk=ClinicSettings.load().pk)
    _refuse_unknown(fields, SETTINGS_FIELDS, "settings")
    changed = {
        k: {"from": _json_value(getattr(settings, k)), "to": _json_value(v)}
        for k, v in fields.items()
        if getattr(settings, k) != v
    }
    for key, value in fields.items():
        setattr(settings, key, value)
    if settings.hold_systolic >= settings.alert_systolic:
        _fail("hold_systolic", "The pre-dose hold must be below the intra-session alert threshold.")
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
    password: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    credentials: str = "",
    now=None,
) -> User:
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
