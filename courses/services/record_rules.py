"""Each record kind's own rules for the record lifecycle, registered in `courses.kinds`.

Who may sign, correct or void a kind of record, what a signature needs, and which of the kind's
entry rules run again after an edit or a correction: one section per kind, each function
registered on the kind's slot with `kinds.register`. The lifecycle services
(`courses/services/lifecycle.py`) ask the kind and never branch on its type; a new kind gets its
section here, and `tests/courses/test_kinds.py` fails until it has one.

The rules themselves are those of the workflow modules (`_check_medical_evaluation`,
`_check_reading`, …): this module decides which apply to which kind, and in which role.
"""

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Role, User
from courses import bedside, kinds, rules, safety
from courses.choices import AdverseEventAction, IntegrationTechnique, PregnancyTest, PreparationTopic, ScreenDecision
from courses.models import (
    AdverseEvent,
    ClinicSettings,
    Course,
    Dose,
    DosingSession,
    IntegrationSession,
    MedicalEvaluation,
    Patient,
    PreparatorySession,
    PsychiatricEvaluation,
    SignableRecord,
    VitalReading,
)
from courses.services.adverse_events import _check_adverse_event
from courses.services.base import (
    ANY_STAFF,
    CLINICIANS,
    FUTURE_TOLERANCE,
    _check_choices,
    _require_facilitator,
    _require_role,
)
from courses.services.dosing import _apply_dose, dose_update
from courses.services.evaluations import _check_medical_evaluation, _check_psychiatric_evaluation
from courses.services.sessions import _check_held_at
from courses.services.vitals import _check_reading, _reading_changed, pre_dose_hold
from kernel.text import REASON_MAX
from kernel.validation import fail

# --- shared by several kinds ------------------------------------------------------------------


def _signed_author(record) -> User | None:
    """Whose signature locks this record: its own signer, or the signer of the dose it belongs to."""
    if isinstance(record, SignableRecord) and record.is_signed:
        return record.signed_by
    dose = getattr(record, "dose", None)
    if dose is not None and dose.is_signed:
        return dose.signed_by
    return None


def _signer_may_void(record, by: User) -> bool:
    """A signed record (or one under a signed dose) is voided only by its author or a practice
    lead: a colleague may not void a note they could not amend. True: decided, they may."""
    author = _signed_author(record)
    if author is None:
        return False
    if by.role == Role.PRACTICE_LEAD or (by.pk == author.pk and by.role):
        return True
    raise PermissionDenied(
        f"This {record._meta.verbose_name} was signed by {author}: only its author or a practice lead can void it."
    )


def _doses_under(record, by: User) -> None:
    """A course or dosing session that holds given doses is not voided in passing: never while a
    dosed patient is still in the chair, and otherwise only by a practice lead (a voided dose no
    longer counts for spacing, so this is a decision about the patient's safety)."""
    doses = Dose.objects.active().filter(dosed_at__isnull=False)
    doses = doses.filter(session=record) if isinstance(record, DosingSession) else doses.filter(course=record)
    if doses.filter(discharged_at__isnull=True).exists():
        fail(
            NON_FIELD_ERRORS,
            f"A patient dosed in this {record._meta.verbose_name} has not been discharged: discharge them first (one "
            "who left early is discharged as having left, with a reason).",
        )
    if by.role != Role.PRACTICE_LEAD and doses.exists():
        raise PermissionDenied(
            f"This {record._meta.verbose_name} holds doses that were given: only a practice lead can void it."
        )


def _own_note(record, by: User, doing: str, refusal: str) -> None:
    """A session note is the therapist's own account: only its author signs, corrects or voids it."""
    _require_role(by, {Role.THERAPIST}, doing)
    if record.therapist_id != by.pk:
        raise PermissionDenied(refusal)


# --- patients and courses: not records of care --------------------------------------------------


@kinds.register("amend_permission", Patient, Course)
def _not_amended(record, by: User) -> None:
    # They change through their own steps, each with its own rules.
    fail(
        NON_FIELD_ERRORS,
        "A patient's details are edited on the patient (PATCH /api/patients/{id}/); a course changes through its "
        "stage, therapists and exceptions, not as a record.",
    )


@kinds.register("void_permission", Patient)
def _void_patient(record: Patient, by: User) -> None:
    _require_role(by, ANY_STAFF, "void a record")


@kinds.register("void_check", Patient)
def _patient_without_courses(record: Patient) -> None:
    if record.courses.active().exists():
        fail(NON_FIELD_ERRORS, "Void the patient's courses first.")


@kinds.register("void_permission", Course)
def _void_course(record: Course, by: User) -> None:
    _doses_under(record, by)
    _require_role(by, ANY_STAFF, "void a record")


# --- evaluations -----------------------------------------------------------------------------


@kinds.register("sign_check", MedicalEvaluation)
def _sign_medical_evaluation(record: MedicalEvaluation, by: User) -> None:
    _require_role(by, {Role.MEDICAL_PROVIDER}, "sign a medical evaluation")
    if record.created_by_id != by.pk:
        raise PermissionDenied("Only the medical provider who recorded this evaluation can sign it.")
    if record.decision == ScreenDecision.PENDING:
        fail("decision", "Record the screen decision before signing.")
    missing = [f for f in ("systolic_bp", "diastolic_bp", "heart_rate", "weight_kg") if getattr(record, f) is None]
    if missing:
        raise ValidationError(dict.fromkeys(missing, "Required before the evaluation is signed."))
    _check_medical_evaluation(record, date.max)


@kinds.register("amend_permission", MedicalEvaluation, Dose, VitalReading)
def _provider_amends(record, by: User) -> None:
    _require_role(by, {Role.MEDICAL_PROVIDER}, f"amend a {record._meta.verbose_name}")


@kinds.register("void_permission", MedicalEvaluation, VitalReading)
def _provider_voids(record, by: User) -> None:
    if not _signer_may_void(record, by):
        _require_role(by, {Role.MEDICAL_PROVIDER}, f"void a {record._meta.verbose_name}")


@kinds.register("recheck", MedicalEvaluation)
def _recheck_medical_evaluation(record: MedicalEvaluation, *, now: datetime, before: dict, correcting: bool, **_):
    if correcting and "evaluated_on" in before and record.evaluated_on and record.evaluated_on > before["evaluated_on"]:
        # The screen's date decides when it expires: a later date would make an old screen new.
        fail(
            "evaluated_on",
            f"The screen was made on {before['evaluated_on']:%Y-%m-%d}; a correction cannot move it later. A "
            "new evaluation is a re-screen: record it as a new medical evaluation.",
        )
    _check_medical_evaluation(record, timezone.localdate(now))


@kinds.register("sign_check", PsychiatricEvaluation)
def _sign_psychiatric_evaluation(record: PsychiatricEvaluation, by: User) -> None:
    _require_role(by, CLINICIANS, "sign a psychiatric evaluation")
    # A signature attests to one's own assessment: a colleague's is theirs to sign.
    if record.created_by_id != by.pk:
        raise PermissionDenied("Only the clinician who recorded this evaluation can sign it.")


@kinds.register("amend_permission", PsychiatricEvaluation)
def _amend_psychiatric_evaluation(record: PsychiatricEvaluation, by: User) -> None:
    _require_role(by, CLINICIANS, "amend a psychiatric evaluation")


@kinds.register("void_permission", PsychiatricEvaluation)
def _void_psychiatric_evaluation(record: PsychiatricEvaluation, by: User) -> None:
    if not _signer_may_void(record, by):
        _require_role(by, CLINICIANS, f"void a {record._meta.verbose_name}")


@kinds.register("recheck", PsychiatricEvaluation)
def _recheck_psychiatric_evaluation(record: PsychiatricEvaluation, *, now: datetime, **_):
    _check_psychiatric_evaluation(record, timezone.localdate(now))


# --- preparatory and integration sessions --------------------------------------------------------


@kinds.register("sign_check", PreparatorySession, IntegrationSession)
def _sign_session_note(record, by: User) -> None:
    _own_note(record, by, "sign a session note", "Only the therapist who wrote this note can sign it.")


@kinds.register("amend_permission", PreparatorySession, IntegrationSession)
def _amend_session_note(record, by: User) -> None:
    _own_note(
        record, by, f"amend a {record._meta.verbose_name}", "Only the therapist who wrote this note can change it."
    )


@kinds.register("void_permission", PreparatorySession, IntegrationSession)
def _void_session_note(record, by: User) -> None:
    if _signer_may_void(record, by) or by.role == Role.PRACTICE_LEAD:
        return
    _own_note(
        record,
        by,
        f"void a {record._meta.verbose_name}",
        "Only the therapist who wrote this note, or a practice lead, can void it.",
    )


@kinds.register("recheck", PreparatorySession)
def _recheck_preparatory_session(record: PreparatorySession, *, now: datetime, **_):
    _check_held_at(record.held_at, now)
    record.topics = _check_choices("topics", record.topics, PreparationTopic)


@kinds.register("recheck", IntegrationSession)
def _recheck_integration_session(record: IntegrationSession, *, now: datetime, **_):
    _check_held_at(record.held_at, now)
    record.techniques = _check_choices("techniques", record.techniques, IntegrationTechnique)


# --- dosing sessions ---------------------------------------------------------------------------


@kinds.register("sign_check", DosingSession)
def _sign_dosing_session(record: DosingSession, by: User) -> None:
    _require_facilitator(record, by, "sign its note")
    if not record.facilitation_note.strip():
        fail("facilitation_note", "Write the facilitation note before signing.")


@kinds.register("amend_permission", DosingSession)
def _amend_dosing_session(record: DosingSession, by: User) -> None:
    _require_facilitator(record, by, "change its note")


@kinds.register("void_permission", DosingSession)
def _void_dosing_session(record: DosingSession, by: User) -> None:
    _doses_under(record, by)
    if not _signer_may_void(record, by):
        _require_role(by, {*CLINICIANS, Role.PRACTICE_LEAD}, f"void a {record._meta.verbose_name}")


# --- a patient's dose within a session ----------------------------------------------------------


@kinds.register("sign_check", Dose)
def _sign_dose(record: Dose, by: User) -> None:
    _require_role(by, {Role.MEDICAL_PROVIDER}, "sign a dose record")
    transferred = record.adverse_events.active().filter(action_taken=AdverseEventAction.TRANSFERRED).exists()
    if record.dosed_at is None:
        fail(NON_FIELD_ERRORS, "The dose has not been given: void the record instead of signing it.")
    if record.discharged_at is None and not transferred:
        fail(
            NON_FIELD_ERRORS,
            "Complete the discharge check before signing (or record the transfer as an adverse event).",
        )
    if record.in_session_alerts.open().exists():
        fail(NON_FIELD_ERRORS, "A vital-sign alert is still open: record what was done before signing.")


@kinds.register("locked", Dose)
def _dose_given(record: Dose) -> bool:
    # A dose once given is corrected with a reason, signed or not: its time and amount were
    # checked when it was given, and the patient may still be in the chair.
    return record.dosed_at is not None


@kinds.register("void_permission", Dose)
def _void_dose(record: Dose, by: User) -> None:
    if record.dosed_at is not None:
        # A given dose stops counting for spacing and monitoring once voided: the lead's decision.
        _require_role(by, {Role.PRACTICE_LEAD}, "void a dose that was given (a patient who leaves early is discharged)")
        return
    _provider_voids(record, by)


@kinds.register("update", Dose)
def _update_dose(record: Dose, *, by: User, version: int | None, now: datetime, changes: Mapping[str, object]):
    # Its own update checks the role, then the version; the bedside form may also say the weight
    # was measured now (`weighed_now`).
    wrong = sorted(set(changes) - {*kinds.of(record).editable, "weighed_now"})
    if wrong:
        fail(
            NON_FIELD_ERRORS,
            f"These fields cannot be edited: {', '.join(wrong)}. The dose time, overrides and discharge "
            "are recorded by their own steps.",
        )
    fields = dict(changes)
    weighed_now = fields.pop("weighed_now", False)
    return dose_update(dose=record, by=by, version=version, weighed_now=weighed_now, now=now, changes=fields)


@kinds.register("recheck", Dose)
def _recheck_dose(record: Dose, *, now: datetime, changed: set[str], reason: str, **_):
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


def _recorded_weight_for(dose: Dose) -> None:
    """A corrected weight is still a recorded one: a measurement of the patient of that weight,
    within the clinic's weight age before the dose. mg/kg never comes from a typed number."""
    day = timezone.localdate(dose.dosed_at or dose.session.starts_at)
    max_age = ClinicSettings.load().weight_max_age_days
    measurement = (
        dose.course.patient.weights.active()
        .filter(weight_kg=dose.weight_kg, measured_on__lte=day, measured_on__gte=day - timedelta(days=max_age))
        .order_by("-measured_on", "-created_at")
        .first()
    )
    if measurement is None:
        fail(
            "weight_kg",
            f"A dose is calculated on a recorded weight: no weight of {dose.weight_kg} kg is recorded for this "
            f"patient in the {max_age} days up to {day:%Y-%m-%d}. Record the weight with the day it was measured, "
            "then correct the dose to it.",
        )
    dose.weight_measurement = measurement


def _recheck_given_dose(dose: Dose, changed: set[str], now: datetime, reason: str = "") -> None:
    """A given dose corrected after the fact keeps the rules it was given under (courses.safety
    .given_dose_errors), and what was confirmed before it stays confirmed."""
    if "dosed_at" in changed:
        if dose.dosed_at > now + FUTURE_TOLERANCE:
            fail("dosed_at", "The dose time cannot be in the future.")
        if dose.dosed_at < dose.session.starts_at - timedelta(hours=1):
            fail("dosed_at", "The dose time is more than an hour before the session starts.")
    if changed & {"dosed_at", "drug", "route"}:
        settings = ClinicSettings.load()
        errors = safety.given_dose_errors(
            dosed_at=bedside.local(dose.dosed_at),
            discharged_at=bedside.local(dose.discharged_at),
            monitoring=bedside.monitoring_time(dose, settings),
            readings=[bedside.reading_fact(r) for r in dose.vitals.active().order_by("taken_at")],
            others=bedside.other_doses(dose),
            min_interval=timedelta(hours=settings.min_dose_interval_hours),
            overrides=bedside.override_facts(dose),
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
                fail(field, short[0] + " Say why in the correction's reason.")
            kept = dose.discharge_exception_reason
            dose.discharge_exception_reason = (
                (kept + " | " if kept else "") + f"Monitoring short after correction: {short[0]} {reason}"
            )[:REASON_MAX]
    if "fasting_confirmed" in changed and not dose.fasting_confirmed:
        fail(
            "fasting_confirmed",
            "The dose was given on a confirmed fast, and that confirmation stays on the record. If the patient had "
            "not fasted, record what followed as an adverse event or in the session's note.",
        )
    if "pregnancy_test" in changed:
        if dose.pregnancy_test == PregnancyTest.POSITIVE:
            fail(
                "pregnancy_test",
                "The dose was given on the test result recorded before it. A positive result that came later is an "
                "exposure in pregnancy: record it as an adverse event and tell the practice lead.",
            )
        screen = bedside.course_state(dose.course, on=timezone.localdate(now)).screen
        blockers = safety.pregnancy_blockers(screen.childbearing_potential if screen else "", dose.pregnancy_test)
        if blockers:
            fail("pregnancy_test", blockers[0].message)


# --- vital readings --------------------------------------------------------------------------


@kinds.register("recheck", VitalReading)
def _recheck_reading(record: VitalReading, *, now: datetime, **_):
    _check_reading(record.dose, record, now, correcting=True)
    values = {f: getattr(record, f) for f in rules.VITAL_RANGES}
    record.alerts = rules.vital_alerts(values, record.phase, rules.VitalThresholds(**record.thresholds_in_force))


@kinds.register("watch", VitalReading)
def _watch_reading(record: VitalReading, *, by: User, now: datetime):
    """A corrected or voided reading re-judges the pre-dose hold and the in-session alert."""
    hold_before = pre_dose_hold(record.dose, now=now)

    def after(why: str, before: dict | None = None) -> None:
        _reading_changed(record, by=by, now=now, why=why, hold_before=hold_before, before=before)

    return after


# --- adverse events --------------------------------------------------------------------------


@kinds.register("locked", AdverseEvent)
def _under_signed_dose(record: AdverseEvent) -> bool:
    return record.dose is not None and record.dose.is_signed


@kinds.register("amend_permission", AdverseEvent)
def _amend_adverse_event(record: AdverseEvent, by: User) -> None:
    # The practice lead may change one too: withdrawing a serious event's seriousness is theirs.
    roles = CLINICIANS if record.dose_id is None else {Role.MEDICAL_PROVIDER}
    _require_role(by, {*roles, Role.PRACTICE_LEAD}, "change an adverse event")


@kinds.register("void_permission", AdverseEvent)
def _void_adverse_event(record: AdverseEvent, by: User) -> None:
    if _signer_may_void(record, by):
        return
    if record.serious:
        # It has gone to the practice leads; only they take it back off their list.
        _require_role(by, {Role.PRACTICE_LEAD}, "void a serious adverse event")
    else:
        _require_role(by, {Role.MEDICAL_PROVIDER} if record.dose_id else CLINICIANS, "void an adverse event")


@kinds.register("recheck", AdverseEvent)
def _recheck_adverse_event(record: AdverseEvent, *, by: User, now: datetime, before: dict, **_):
    # A serious adverse event has gone to the practice leads: only a lead takes the seriousness
    # back (and the event off their list), never the colleague who reported it.
    if before.get("serious") and not record.serious and by.role != Role.PRACTICE_LEAD:
        fail(
            "serious",
            "This event was reported as serious and has gone to the practice leads: only a practice lead can "
            "withdraw its seriousness. Ask them; add what you know to the description meanwhile.",
        )
    _check_adverse_event(record, now)
