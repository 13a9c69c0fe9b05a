"""At the bedside: vital readings, pre-dose holds and their overrides, in-session alerts."""

import logging
from datetime import datetime, timedelta

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from accounts.models import Role, User
from courses import bedside, rules, safety
from courses.audit import audit
from courses.choices import InSessionAlertAction, VitalPhase
from courses.kinds import VITAL_FIELDS
from courses.models import AuditAction, ClinicSettings, Dose, HoldOverride, InSessionAlert, VitalReading
from courses.services.base import (
    FUTURE_TOLERANCE,
    _ensure_editable,
    _require_role,
    _reread,
    _save_audited,
)
from kernel import clock
from kernel.text import REASON_MAX
from kernel.validation import fail, optional_text, required_text

# One logger for the whole service layer, named as before the split (log lines are unchanged).
logger = logging.getLogger("courses.services")


def _check_reading_time(dose: Dose, taken_at: datetime, now: datetime) -> None:
    if taken_at > now + FUTURE_TOLERANCE:
        fail("taken_at", "A reading cannot be timed in the future.")
    earliest = dose.session.starts_at - timedelta(hours=2)
    if taken_at < earliest:
        fail("taken_at", "A reading must be taken within 2 hours before the session starts or later.")


def _check_reading(dose: Dose, reading: VitalReading, now: datetime, correcting=False) -> None:
    """The rules of one reading, on entry and on correction: plausible values, a full set where
    it matters, and a phase and time that fit the dose."""
    values = {f: getattr(reading, f) for f in VITAL_FIELDS}
    if all(v is None for v in values.values()):
        fail(NON_FIELD_ERRORS, "Enter at least one vital sign.")
    errors = rules.vital_range_errors(values)
    if errors:
        raise ValidationError(errors)
    _check_reading_time(dose, reading.taken_at, now)
    others = [bedside.reading_fact(r) for r in dose.vitals.active().exclude(pk=reading.pk)]
    errors = safety.reading_fit_errors(
        phase=reading.phase,
        taken_at=bedside.local(reading.taken_at),
        dosed_at=bedside.local(dose.dosed_at),
        discharged_at=bedside.local(dose.discharged_at),
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
    alert = InSessionAlert.objects.create(dose=reading.dose, reading=reading, alerts=codes, raised_at=now)
    audit(
        actor=by,
        action=AuditAction.CREATE,
        patient=reading.dose.course.patient,
        record=alert,
        detail="alerts: " + ", ".join(codes),
        at=now,
    )
    logger.warning("in-session alert dose=%s reading=%s", reading.dose_id, reading.pk)


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
            lapsed_at=now, lapsed_why=why[:REASON_MAX]
        )
    open_alert = InSessionAlert.objects.open().filter(reading=reading).exists()
    if open_alert and (reading.is_voided or not rules.in_session_alerts(reading.alerts)):
        fail(
            NON_FIELD_ERRORS,
            "This reading's vital-sign alert is still open. Record what was done first (a re-check, or 'other' with "
            "a note, e.g. that the values were typed wrong), then correct or void the reading.",
        )
    _sync_in_session_alert(reading, by=by, now=now)
    dose = reading.dose
    if dose.dosed_at is not None or not hold_before.active:
        return
    moved_earlier = (
        hold_before.reading.id == reading.pk and "taken_at" in before and reading.taken_at < before["taken_at"]
    )
    if moved_earlier or not pre_dose_hold(dose, now=now).active:
        fail(
            "taken_at" if moved_earlier else NON_FIELD_ERRORS,
            f"This would {'shorten' if moved_earlier else 'lift'} the pre-dose hold set by "
            f"{hold_before.reading.blood_pressure} at "
            f"{bedside.local(hold_before.reading.taken_at):%H:%M}. A hold lifts only by a medical provider's "
            "override with the clinical reason, or by a full pre-dose reading at or below the threshold from "
            f"{bedside.local(hold_before.recheck_from):%H:%M}: record one of those first, then correct the reading.",
        )


@transaction.atomic
def vital_reading_add(
    *,
    dose: Dose,
    by: User,
    phase: str,
    taken_at: datetime | None = None,
    systolic_bp=None,
    diastolic_bp=None,
    heart_rate=None,
    spo2=None,
    respiratory_rate=None,
    now: datetime | None = None,
) -> VitalReading:
    """Refuse implausible values (naming the range), a partial set before the dose or discharge,
    and a phase or time that does not fit the dose; flag holds and alerts, and open an in-session
    alert for an alerting reading."""
    now = clock.now(now)
    taken_at = taken_at or now
    _require_role(by, {Role.MEDICAL_PROVIDER}, "record vital signs")
    dose = _reread(dose)
    _ensure_editable(dose)
    if phase not in VitalPhase.values:
        fail("phase", f"Choose a phase: {', '.join(VitalPhase.values)}.")
    thresholds = ClinicSettings.load().vital_thresholds()
    values = {
        "systolic_bp": systolic_bp,
        "diastolic_bp": diastolic_bp,
        "heart_rate": heart_rate,
        "spo2": spo2,
        "respiratory_rate": respiratory_rate,
    }
    reading = VitalReading(
        dose=dose,
        phase=phase,
        taken_at=taken_at,
        alerts=rules.vital_alerts(values, phase, thresholds),
        thresholds_in_force=thresholds.as_dict(),
        created_at=now,
        created_by=by,
        **values,
    )
    _check_reading(dose, reading, now)
    _save_audited(
        reading,
        by=by,
        action=AuditAction.CREATE,
        patient=dose.course.patient,
        detail="alerts: " + ", ".join(reading.alerts) if reading.alerts else "",
        now=now,
    )
    if reading.alerts:
        logger.warning("vital alert dose=%s reading=%s alerts=%s", dose.pk, reading.pk, reading.alerts)
    _sync_in_session_alert(reading, by=by, now=now)
    return reading


def pre_dose_hold(dose: Dose, *, now: datetime | None = None) -> safety.Hold:
    """Is there a pre-dose hold? (courses.safety.hold_status over this dose's readings and overrides)"""
    return bedside.dose_state(dose, now=clock.now(now)).hold


def pre_dose_hold_active(dose: Dose) -> bool:
    return pre_dose_hold(dose).active


@transaction.atomic
def dosing_hold_override(*, dose: Dose, by: User, reason: str, now: datetime | None = None) -> HoldOverride:
    """A medical provider doses despite the hold, with the clinical reason. The override covers
    the reading that set the hold; a higher reading taken after it sets a new hold."""
    now = clock.now(now)
    _require_role(by, {Role.MEDICAL_PROVIDER}, "override a pre-dose hold")
    dose = _reread(dose)
    _ensure_editable(dose)
    if dose.dosed_at is not None:
        fail(NON_FIELD_ERRORS, "The dose has been given: there is no pre-dose hold to override.")
    hold = pre_dose_hold(dose, now=now)
    if not hold.active:
        fail(NON_FIELD_ERRORS, "There is no pre-dose hold to override.")
    override = HoldOverride.objects.create(
        dose=dose,
        reading_id=hold.reading.id,
        reason=required_text(
            "reason",
            reason,
            "An override needs the clinical reasoning for dosing despite the raised blood pressure.",
            REASON_MAX,
        ),
        overridden_at=now,
        overridden_by=by,
    )
    audit(
        actor=by,
        action=AuditAction.UPDATE,
        patient=dose.course.patient,
        record=dose,
        detail="pre-dose hold overridden",
        at=now,
    )
    return override


ALERT_CLOSE_ACTIONS = (InSessionAlertAction.RECHECK, InSessionAlertAction.ADVERSE_EVENT, InSessionAlertAction.OTHER)


@transaction.atomic
def in_session_alert_close(
    *, alert: InSessionAlert, by: User, action: str, note: str = "", adverse_event=None, now: datetime | None = None
) -> InSessionAlert:
    """Close an alerting reading's alert by recording what was done: a recheck (a later reading
    exists), an adverse event recorded (named), or something else (described)."""
    now = clock.now(now)
    _require_role(by, {Role.MEDICAL_PROVIDER}, "record what was done about a vital-sign alert")
    alert = InSessionAlert.objects.select_for_update().select_related("reading", "dose__course").get(pk=alert.pk)
    if alert.closed_at is not None:
        fail(NON_FIELD_ERRORS, "This alert has already been closed.")
    if action not in ALERT_CLOSE_ACTIONS:
        fail("action", "Say what was done: a recheck, an adverse event recorded, or other (described in the note).")
    note = optional_text("note", note, REASON_MAX)
    if action == InSessionAlertAction.RECHECK:
        # Later: recorded after it, and not timed before it (the same minute counts, as a form rounds).
        # A recheck measures again what alerted: a heart rate alone does not answer a low SpO2.
        needed = rules.recheck_fields(alert.alerts)
        later = (
            alert.dose.vitals.active()
            .filter(created_at__gt=alert.reading.created_at, taken_at__gte=alert.reading.taken_at)
            .filter(**{f"{name}__isnull": False for name in needed})
            .exists()
        )
        if not later:
            what = ", ".join(VitalReading._meta.get_field(n).verbose_name for n in needed) or "the vital signs"
            fail(
                "action",
                f"Record the recheck reading first (taken after the alerting one, with {what}), then close.",
            )
    if action == InSessionAlertAction.ADVERSE_EVENT:
        # The event recorded for this alert: one on this dose (an old event of the course is not it).
        if adverse_event is None or adverse_event.dose_id != alert.dose_id or adverse_event.is_voided:
            fail("adverse_event", "Choose the adverse event recorded on this dose for this alert (record it first).")
    else:
        adverse_event = None
    if action == InSessionAlertAction.OTHER and not note:
        fail("note", "Describe what was done.")
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
        patient=alert.dose.course.patient,
        record=alert,
        detail=f"closed: {action}",
        at=now,
    )
    return alert
