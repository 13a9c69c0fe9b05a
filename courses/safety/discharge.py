"""Can this patient be discharged (minimum monitoring, the peak reading, a recent normal full set,
no open alert, the checklist)? Which blockers a provider may pass by documenting why."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from courses.choices import VitalPhase
from courses.safety.blockers import Blocker, hm
from courses.safety.monitoring import PEAK_READING_FROM
from courses.safety.vitals import Reading


@dataclass(frozen=True)
class DischargeFacts:
    at: datetime  # the discharge time asked for
    dosed_at: datetime | None
    discharged: bool = False
    monitoring: timedelta = timedelta(minutes=60)
    readings: tuple[Reading, ...] = ()
    open_alerts: int = 0
    # The set before discharge must be this recent (the clinic's vitals interval): the patient
    # goes home on how they are now, not on a set taken an hour ago.
    fresh_within: timedelta | None = None
    # The discharge form's answers (alert_oriented, escort_present, no_driving_advised); None on a
    # page that only asks "what is still needed", before anyone fills the form in.
    checklist: dict | None = None


CHECKLIST_MESSAGES = {
    "alert_oriented": "Confirm the patient is alert and oriented.",
    "escort_present": "Confirm an escort is present to take the patient home.",
    "no_driving_advised": "Confirm the patient was advised not to drive until the next day.",
}


def latest_pre_discharge(readings: Sequence[Reading], dosed_at: datetime | None) -> Reading | None:
    """The full pre-discharge set that counts: the latest one after the dose and after every
    'during' reading (a 'during' reading after it means monitoring went on)."""
    during = [r.taken_at for r in readings if r.phase == VitalPhase.DURING]
    after = max([*during, dosed_at] if dosed_at else during, default=None)
    candidates = [
        r
        for r in readings
        if r.phase == VitalPhase.PRE_DISCHARGE and r.is_full and (after is None or r.taken_at >= after)
    ]
    return max(candidates, key=lambda r: r.taken_at, default=None)


# Facts about time, not judgements: no documented exception makes them true.
UNEXCUSABLE = {"discharge_before_dose", "discharge_before_reading"}


def discharge_blockers(f: DischargeFacts) -> list[Blocker]:
    """What stands between the patient and discharge. A blocker marked exceptionable (the last
    pre-discharge set still alerting) can be passed by a medical provider who documents why."""
    if f.dosed_at is None:
        return [Blocker("not_dosed", "No dose has been given: there is nothing to discharge from.")]
    if f.discharged:
        return [Blocker("discharged", "Already discharged.")]
    out: list[Blocker] = []
    if f.at < f.dosed_at:
        out.append(
            Blocker(
                "discharge_before_dose",
                f"The discharge time {hm(f.at)} is before the dose at {hm(f.dosed_at)}.",
                "discharged_at",
            )
        )
    later = [r for r in f.readings if r.taken_at > f.at]
    if later:
        # The record must not show the patient leaving before readings taken while they were there.
        out.append(
            Blocker(
                "discharge_before_reading",
                f"The discharge time {hm(f.at)} is before the reading at {hm(later[-1].taken_at)}: discharge is "
                "at or after the last reading.",
                "discharged_at",
            )
        )
    earliest = f.dosed_at + f.monitoring
    if f.at < earliest:
        minutes = f.monitoring // timedelta(minutes=1)
        out.append(
            Blocker(
                "monitoring_time",
                f"Minimum monitoring is {minutes} minutes after the dose: discharge from {hm(earliest)}.",
                "discharged_at",
            )
        )
    during = [r for r in f.readings if r.phase == VitalPhase.DURING and r.taken_at >= f.dosed_at]
    if not during:
        out.append(
            Blocker(
                "no_during_reading", "Record at least one reading during monitoring (about 40 minutes after the dose)."
            )
        )
    elif not any(r.taken_at >= f.dosed_at + PEAK_READING_FROM for r in during):
        out.append(
            Blocker(
                "no_peak_reading",
                "Record the reading at about 40 minutes after the dose (the blood-pressure peak; from "
                f"{hm(f.dosed_at + PEAK_READING_FROM)}).",
            )
        )
    if f.open_alerts:
        out.append(
            Blocker(
                "open_alert",
                f"{f.open_alerts} vital-sign alert{'s' if f.open_alerts != 1 else ''} still open: record what was "
                "done before discharge.",
            )
        )
    final = latest_pre_discharge(f.readings, f.dosed_at)
    if final is None:
        out.append(
            Blocker(
                "no_pre_discharge_set",
                "Record a full set of vital signs before discharge (blood pressure, heart rate, SpO2), after the "
                "last reading during the session.",
            )
        )
    elif f.fresh_within is not None and final.taken_at < f.at - f.fresh_within:
        out.append(
            Blocker(
                "pre_discharge_stale",
                f"The set before discharge was taken at {hm(final.taken_at)}, more than "
                f"{f.fresh_within // timedelta(minutes=1)} minutes before discharge at {hm(f.at)}: take a new full "
                "set before the patient leaves.",
            )
        )
    elif final.alerting:
        out.append(
            Blocker(
                "pre_discharge_alerting",
                f"The reading before discharge at {hm(final.taken_at)} (BP {final.blood_pressure}, HR "
                f"{final.values.get('heart_rate') or '–'}, SpO2 {final.values.get('spo2') or '–'}, RR "
                f"{final.values.get('respiratory_rate') or '–'}) is outside the alert thresholds: keep monitoring "
                "and re-check, or document why discharge is safe.",
                "exception_reason",
                exceptionable=True,
            )
        )
    for name, message in CHECKLIST_MESSAGES.items():
        if f.checklist is not None and not f.checklist.get(name):
            out.append(Blocker(f"checklist_{name}", message, name))
    return out
