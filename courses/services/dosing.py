"""Dosing sessions and the doses on them: scheduling, adding and correcting a dose, giving it,
discharge, and the facilitators' note.
"""

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from courses import bedside, rules, safety
from courses.audit import audit
from courses.choices import CourseStatus, Drug, PregnancyTest, Route, SessionFormat
from courses.kinds import DOSE_FIELDS
from courses.models import (
    AuditAction,
    ClinicSettings,
    Course,
    Dose,
    DosingSession,
    Patient,
    WeightMeasurement,
)
from courses.services.base import (
    ANY_STAFF,
    FUTURE_TOLERANCE,
    _course_changed,
    _decimal,
    _ensure_course_open,
    _ensure_editable,
    _range_or_fail,
    _refuse_unknown,
    _require_facilitator,
    _require_role,
    _reread,
    _save,
    _save_audited,
    check_version,
)
from courses.services.courses import _ensure_cleared_for_dosing, _set_status, next_stage
from courses.services.patients import weight_add
from kernel import clock
from kernel.text import REASON_MAX
from kernel.validation import fail, optional_text


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
    now: datetime | None = None,
) -> DosingSession:
    now = clock.now(now)
    _require_role(by, ANY_STAFF, "schedule a dosing session")
    if ends_at <= starts_at:
        fail("ends_at", "The session must end after it starts.")
    if ends_at - starts_at > timedelta(hours=12):
        fail("ends_at", "A dosing session lasts at most 12 hours.")
    facilitators = list(facilitators)
    if not facilitators:
        fail("facilitators", "A dosing session needs at least one facilitating therapist.")
    if any(f.role != Role.THERAPIST or not f.is_active for f in facilitators):
        fail("facilitators", "Facilitators must be active therapists.")
    if medical_provider is None or medical_provider.role != Role.MEDICAL_PROVIDER or not medical_provider.is_active:
        fail("medical_provider", "A dosing session needs an active medical provider present.")
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


def _check_no_overlap(*, course: Course, session: DosingSession, exclude_dose=None) -> None:
    """The rule: one patient is never in two dosing sessions that overlap in time, nor twice in one
    session (through two courses)."""
    others = (
        Dose.objects.active()
        .filter(course__patient_id=course.patient_id, session__voided_at__isnull=True)
        .filter(session__starts_at__lt=session.ends_at, session__ends_at__gt=session.starts_at)
        .select_related("session")
    )
    if exclude_dose is not None:
        others = others.exclude(pk=exclude_dose.pk)
    clash = others.first()
    if clash is not None:
        other = clash.session
        if other.pk == session.pk:
            fail("course", "This patient is already in this dosing session (on another course).")
        fail(
            "course",
            "This patient is already in a dosing session from "
            f"{timezone.localtime(other.starts_at):%Y-%m-%d %H:%M} to {timezone.localtime(other.ends_at):%H:%M}, "
            "which overlaps this one.",
        )


def _apply_dose(
    dose: Dose,
    maximum: rules.RouteMaximum | None = None,
    ceiling: rules.RouteMaximum | None = None,
) -> None:
    """Derive mg/kg, record the maximum and ceiling in force, and apply the two dose rules: above
    the maximum needs a reason, above the ceiling is refused whatever the reason.

    `maximum` and `ceiling` are given when correcting a dose: those in force when it was recorded
    still judge it. Otherwise the clinic's current values for the route apply.
    """
    if dose.route not in Route.values:
        fail("route", f"Choose a route: {', '.join(Route.values)}.")
    error = rules.drug_route_error(dose.drug, dose.route)
    if error:
        fail("route", error)
    mg = _decimal("dose_mg", dose.dose_mg, "Dose")
    weight = _decimal("weight_kg", dose.weight_kg, "Weight used")
    _range_or_fail("dose_mg", mg, *rules.DOSE_RANGE_MG, "Dose", " mg")
    _range_or_fail("weight_kg", weight, *rules.WEIGHT_RANGE_KG, "Weight used", " kg")
    dose.dose_mg, dose.weight_kg = mg, weight
    dose.dose_mg_per_kg = rules.mg_per_kg(mg, weight)
    clinic = ClinicSettings.load()
    maximum = maximum or clinic.route_maximum(dose.route)
    ceiling = ceiling or clinic.route_ceiling(dose.route)
    dose.protocol_maximum, dose.protocol_maximum_unit = maximum.value, maximum.unit
    dose.protocol_ceiling = ceiling.value
    route = dose.get_route_display().lower()
    shown = f"{dose.dose_mg_per_kg} mg/kg" if maximum.unit == "mg/kg" else f"{mg} mg"
    if rules.dose_exceeds_maximum(mg, weight, ceiling):
        fail(
            "dose_mg",
            f"{shown} is above the clinic's absolute ceiling for {route} ({ceiling.value} {ceiling.unit}): no reason "
            "allows it. Check the dose and the weight.",
        )
    if rules.dose_exceeds_maximum(mg, weight, maximum) and not dose.over_maximum_reason.strip():
        fail(
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
            fail("weight_kg", "Enter the weight just measured.")
        return weight_add(patient=patient, by=by, measured_on=timezone.localdate(now), weight_kg=weight_kg, now=now)
    latest = patient.weights.active().order_by("-measured_on", "-created_at").first()
    if latest is None:
        fail("weight_kg", "No weight is recorded for this patient: weigh them and tick 'weighed now'.")
    if weight_kg not in (None, "") and _decimal("weight_kg", weight_kg, "Weight used") != latest.weight_kg:
        fail(
            "weight_kg",
            f"The patient's recorded weight is {latest.weight_kg} kg (measured {latest.measured_on:%Y-%m-%d}). To use "
            f"{weight_kg} kg, weigh the patient now and tick 'weighed now', so the new weight is recorded.",
        )
    blockers = safety.weight_blockers(latest.measured_on, True, day, ClinicSettings.load().weight_max_age_days)
    if blockers:
        fail("weight_kg", blockers[0].message)
    return latest


@transaction.atomic
def dose_add(
    *,
    session: DosingSession,
    course: Course,
    by: User,
    drug: str = Drug.RACEMIC_KETAMINE,
    route: str = "",
    dose_mg: Decimal | str | None = None,
    weight_kg: Decimal | str | None = None,
    over_maximum_reason: str = "",
    lot_number: str = "",
    fasting_confirmed: bool = False,
    pregnancy_test: str = "",
    concomitant_medications: str = "",
    is_maintenance: bool | None = None,
    weighed_now: bool = False,
    now: datetime | None = None,
) -> Dose:
    """Put a patient's dose on a session. The weight is the recorded one (or one measured now);
    the patient's other doses must leave the clinic's interval before the session ends. What is
    still needed before dosing (preparation, baseline, vitals…) is listed on the dose page.
    `weight_kg`, when given, must be the recorded weight (or the one just measured, `weighed_now`);
    `is_maintenance` None: a dose after the acute series is a maintenance dose."""
    now = clock.now(now)
    _require_role(by, {Role.MEDICAL_PROVIDER}, "record a dose")
    session = DosingSession.objects.select_for_update().get(pk=session.pk)
    # Lock the patient so two concurrent adds cannot both pass the overlap check.
    Patient.objects.select_for_update().filter(pk=course.patient_id).first()
    course = _reread(course)
    _ensure_editable(session)
    _ensure_editable(course)
    _ensure_course_open(course)
    _ensure_cleared_for_dosing(course, timezone.localdate(session.starts_at))
    if course.format != session.format:
        fail(
            "course",
            f"This is a {course.get_format_display().lower()} course; it cannot join a "
            f"{session.get_format_display().lower()} dosing session.",
        )
    count = session.doses.active().count()
    capacity = 1 if session.format == SessionFormat.INDIVIDUAL else rules.GROUP_SIZE[1]
    if count >= capacity:
        fail("course", f"This {session.get_format_display().lower()} session is full ({capacity} participant(s)).")
    _check_no_overlap(course=course, session=session)
    _check_spacing_possible(course, session)
    if is_maintenance is None:
        # A dose after the acute series ended is a maintenance / booster dose.
        is_maintenance = course.status in (CourseStatus.INTEGRATION, CourseStatus.FOLLOW_UP)
    measurement = _weight_for_dose(
        patient=course.patient,
        weight_kg=weight_kg,
        weighed_now=weighed_now,
        by=by,
        day=timezone.localdate(session.starts_at),
        now=now,
    )
    dose = Dose(
        session=session,
        course=course,
        is_maintenance=is_maintenance,
        weight_kg=measurement.weight_kg,
        weight_measurement=measurement,
        created_at=now,
        created_by=by,
        drug=drug,
        route=route,
        dose_mg=dose_mg,
        over_maximum_reason=over_maximum_reason,
        lot_number=lot_number,
        fasting_confirmed=fasting_confirmed,
        pregnancy_test=pregnancy_test,
        concomitant_medications=concomitant_medications,
    )
    _apply_dose(dose)
    _save_audited(dose, by=by, action=AuditAction.CREATE, patient=course.patient, now=now)
    _course_changed(dose, now)
    return dose


def _check_spacing_possible(course: Course, session: DosingSession) -> None:
    """A session that ends before the clinic's interval from the patient's last dose cannot hold
    the next one: said when the dose is added, not at the bedside."""
    interval = timedelta(hours=ClinicSettings.load().min_dose_interval_hours)
    last = (
        Dose.objects.active()
        .filter(course__patient_id=course.patient_id, dosed_at__isnull=False, session__voided_at__isnull=True)
        .filter(dosed_at__lte=session.ends_at)
        .order_by("-dosed_at")
        .values_list("dosed_at", flat=True)
        .first()
    )
    if last is not None and session.ends_at < last + interval:
        fail(
            "course",
            f"The patient's last dose was given {timezone.localtime(last):%Y-%m-%d %H:%M}; the clinic's minimum "
            f"interval is {interval / timedelta(hours=1):g} hours, and this session ends before "
            f"{timezone.localtime(last + interval):%Y-%m-%d %H:%M}.",
        )


@transaction.atomic
def dose_update(
    *,
    dose: Dose,
    by: User,
    changes: Mapping[str, object],
    version: int | None = None,
    weighed_now: bool = False,
    now: datetime | None = None,
) -> Dose:
    """Correct the dose record before it is signed; afterwards it takes an amendment.
    `changes`: field → new value, of kinds.DOSE_FIELDS and is_maintenance (another name is refused)."""
    now = clock.now(now)
    _require_role(by, {Role.MEDICAL_PROVIDER}, "change a dose record")
    dose = _reread(dose)
    _ensure_editable(dose)
    check_version(dose, version)
    _refuse_unknown(changes, (*DOSE_FIELDS, "is_maintenance"), "dose")
    fields = dict(changes)
    if dose.dosed_at:
        checked = {"dose_mg", "drug", "route", "weight_kg", "fasting_confirmed", "pregnancy_test"} & fields.keys()
        locked = sorted(name for name in checked if str(fields[name]) != str(getattr(dose, name)))
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
            patient=dose.course.patient,
            weight_kg=fields.pop("weight_kg", None),
            weighed_now=weighed_now,
            by=by,
            day=timezone.localdate(dose.session.starts_at),
            now=now,
        )
        dose.weight_kg, dose.weight_measurement = measurement.weight_kg, measurement
    for key, value in fields.items():
        setattr(dose, key, value)
    _apply_dose(dose)
    _save_audited(
        dose,
        by=by,
        action=AuditAction.UPDATE,
        patient=dose.course.patient,
        detail="fields: " + ", ".join(sorted({*fields, *(["weight"] if weighed_now else [])})),
        now=now,
    )
    return dose


@transaction.atomic
def dose_administer(*, dose: Dose, by: User, dosed_at: datetime | None = None, now: datetime | None = None):
    """Give the dose: every blocker courses.safety.dose_blockers lists must be gone (the same list
    the dose page and the group card show)."""
    now = clock.now(now)
    dosed_at = dosed_at or now
    _require_role(by, {Role.MEDICAL_PROVIDER}, "give a dose")
    dose = (
        # Only the dose's own row is locked: its weight is a nullable join, which PostgreSQL will not lock.
        Dose.objects.select_for_update(of=("self",))
        .select_related("session", "course__patient", "weight_measurement")
        .get(pk=dose.pk)
    )
    # Lock the patient: two doses of one patient given at once cannot both pass the spacing rule.
    Patient.objects.select_for_update().filter(pk=dose.course.patient_id).first()
    _ensure_editable(dose)
    if dose.dosed_at is not None:
        # A second click, a stale tab or a retried request: the dose and its time stand as given.
        fail(NON_FIELD_ERRORS, safety.ALREADY_GIVEN)
    if dosed_at > now + FUTURE_TOLERANCE:
        fail("dosed_at", "The dose time cannot be in the future.")
    if dosed_at < dose.session.starts_at - timedelta(hours=1):
        fail("dosed_at", "The dose time is more than an hour before the session starts.")
    state = bedside.dose_state(dose, now=now, at=dosed_at)
    if state.blockers:
        raise ValidationError(safety.errors_of(state.blockers))
    course = dose.course
    dose.dosed_at = dosed_at
    if not dose.pregnancy_test and not safety.pregnancy_test_needed(
        state.course.screen.childbearing_potential if state.course.screen else ""
    ):
        dose.pregnancy_test = PregnancyTest.NOT_APPLICABLE
    _save_audited(dose, by=by, action=AuditAction.UPDATE, patient=course.patient, detail="dose given", now=now)
    if course.status in (CourseStatus.EVALUATION, CourseStatus.PREPARATION):
        # The first dose moves the course into its dosing stage; earlier stages are passed through.
        while course.status != CourseStatus.DOSING:
            _set_status(course, next_stage(course.status), by, now, "first dose given")
    _course_changed(dose, now)
    return dose


@transaction.atomic
def dose_discharge(
    *,
    dose: Dose,
    by: User,
    alert_oriented: bool,
    escort_present: bool,
    no_driving_advised: bool,
    exception_reason: str = "",
    left_before_discharge: bool = False,
    discharged_at: datetime | None = None,
    now: datetime | None = None,
) -> Dose:
    """Discharge: minimum monitoring done, a reading at about 40 minutes, a full pre-discharge set
    after the last reading during the session, no open alert, and the checklist. A pre-discharge
    set that still alerts refuses discharge unless the provider documents why it is safe: that
    exception is kept on the record and counted on the safety report."""
    now = clock.now(now)
    discharged_at = discharged_at or now
    _require_role(by, {Role.MEDICAL_PROVIDER}, "discharge a patient")
    dose = (
        # Only the dose's own row is locked: its weight is a nullable join, which PostgreSQL will not lock.
        Dose.objects.select_for_update(of=("self",))
        .select_related("session", "course__patient", "weight_measurement")
        .get(pk=dose.pk)
    )
    _ensure_editable(dose)
    if discharged_at > now + FUTURE_TOLERANCE:
        fail("discharged_at", "The discharge time cannot be in the future.")
    checklist = {
        "alert_oriented": alert_oriented,
        "escort_present": escort_present,
        "no_driving_advised": no_driving_advised,
    }
    state = bedside.dose_state(dose, now=now, discharge_at=discharged_at, checklist=checklist)
    if dose.dosed_at is None:
        fail(NON_FIELD_ERRORS, "No dose has been given: there is nothing to discharge from.")
    if dose.discharged_at is not None:
        fail(NON_FIELD_ERRORS, "Already discharged.")
    exception = optional_text("exception_reason", exception_reason, REASON_MAX)
    if left_before_discharge:
        # The patient has gone (against advice, or collected early): nothing can make them wait, so
        # the record says what happened instead, and the dose ends (counted on the safety report).
        if not exception:
            fail(
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
            fail("exception_reason", "The reading before discharge is within the limits: no exception is needed.")
    dose.discharge_alert_oriented = alert_oriented
    dose.discharge_vitals_acceptable = not excepted
    dose.discharge_exception_reason = exception if excepted or left_before_discharge else ""
    dose.left_before_discharge = left_before_discharge
    dose.discharge_escort_present = escort_present
    dose.discharge_no_driving_advised = no_driving_advised
    dose.discharged_at = discharged_at
    dose.discharged_by = by
    _save_audited(
        dose,
        by=by,
        action=AuditAction.UPDATE,
        patient=dose.course.patient,
        detail="left before discharge (documented)"
        if left_before_discharge
        else "discharged despite an alerting reading (documented)"
        if excepted
        else "discharged",
        now=now,
    )
    return dose


@transaction.atomic
def dosing_session_note(
    *,
    session: DosingSession,
    by: User,
    facilitation_note=None,
    others_present=None,
    version=None,
    now: datetime | None = None,
):
    """The facilitators' shared note; a value left None is left as it is."""
    now = clock.now(now)
    session = _reread(session)
    _require_facilitator(session, by, "write its note")
    _ensure_editable(session)
    # Co-facilitators write the same note: the second save must not wipe the first.
    check_version(session, version)
    if facilitation_note is not None:
        session.facilitation_note = facilitation_note
    if others_present is not None:
        session.others_present = others_present
    patients = [p.course.patient for p in session.doses.active().select_related("course__patient")]
    return _save_audited(
        session, by=by, action=AuditAction.UPDATE, patients=patients, detail="facilitation note", now=now
    )
