"""Is there a pre-dose hold? Does this reading fit the dose (its phase and time)? Is it a full set?

The vital-sign facts (Reading, Override) every other question reads too."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from courses import rules
from courses.choices import VitalAlert, VitalPhase
from courses.safety.blockers import NON_FIELD, Blocker, hm


@dataclass(frozen=True)
class Reading:
    """An active (not voided) vital-sign reading, as the rules see it."""

    id: object
    phase: str
    taken_at: datetime
    values: dict
    alerts: tuple[str, ...] = ()

    @property
    def missing(self) -> list[str]:
        """The values of a full set that this reading lacks."""
        return [name for name in rules.FULL_SET if self.values.get(name) is None]

    @property
    def is_full(self) -> bool:
        return not self.missing

    @property
    def sets_hold(self) -> bool:
        return VitalAlert.PRE_DOSE_HOLD.value in self.alerts

    @property
    def alerting(self) -> list[str]:
        return rules.in_session_alerts(self.alerts)

    @property
    def blood_pressure(self) -> str:
        return f"{self.values.get('systolic_bp') or '–'}/{self.values.get('diastolic_bp') or '–'}"


@dataclass(frozen=True)
class Override:
    """A medical provider's documented decision to dose despite the hold set by `covers`: it
    covers that reading and every pre-dose reading taken before it, not a later high one."""

    covers_taken_at: datetime
    at: datetime


@dataclass(frozen=True)
class Hold:
    active: bool
    reading: Reading | None = None  # the reading that set the hold still in force (or overridden)
    recheck_from: datetime | None = None  # when a normal full recheck would lift it
    lifted_by: str = ""  # "override", "recheck" or "" (never set / still active)

    @property
    def message(self) -> str:
        if not self.active or self.reading is None:
            return ""
        return (
            f"Pre-dose hold: blood pressure {self.reading.blood_pressure} at {hm(self.reading.taken_at)} is above "
            "the clinic's hold threshold. A medical provider records an override with the clinical reason, or a full "
            f"pre-dose reading at or below the threshold taken from {hm(self.recheck_from)} lifts it."
        )


def hold_status(
    readings: Sequence[Reading], overrides: Sequence[Override], recheck_after: timedelta, now: datetime | None = None
) -> Hold:
    """Is there a pre-dose hold? The latest high pre-dose reading sets it. It is lifted only by a
    provider's override made for it (or for a later reading), or by a later full pre-dose reading
    at or below the threshold, taken at least `recheck_after` after the high one. A partial
    re-check (heart rate alone) lifts nothing, and a reading entered as 'during' before the dose
    cannot exist (the service refuses it), so it cannot slip past the hold either. `now`: a
    re-check timed after it (the few minutes' allowance for clocks) has not happened yet, so it
    cannot shorten the wait."""
    pre = sorted((r for r in readings if r.phase == VitalPhase.PRE_DOSE), key=lambda r: r.taken_at)
    high: Reading | None = None
    lifted = ""
    for reading in pre:
        if reading.sets_hold:
            high, lifted = reading, ""
        elif (
            high is not None
            and reading.is_full
            and reading.taken_at >= high.taken_at + recheck_after
            and (now is None or reading.taken_at <= now)
        ):
            high, lifted = None, "recheck"
    if high is None:
        return Hold(active=False, lifted_by=lifted)
    if any(o.covers_taken_at >= high.taken_at for o in overrides):
        return Hold(active=False, reading=high, lifted_by="override")
    return Hold(active=True, reading=high, recheck_from=high.taken_at + recheck_after)


# A dose time typed to the minute may read a few seconds before the override that preceded it.
TO_THE_MINUTE = timedelta(minutes=1)


def hold_blocker(
    readings: Sequence[Reading], overrides: Sequence[Override], recheck_after: timedelta, at: datetime, now: datetime
) -> Blocker | None:
    """The hold as it stood when the dose is (or was) given at `at`: only overrides made by then
    count, and only re-checks taken by then and by now (a time typed ahead of the clock is not a
    re-check yet). None when nothing held the dose."""
    made = [o for o in overrides if o.at <= at + TO_THE_MINUTE]
    hold = hold_status(readings, made, recheck_after, now=min(at, now))
    if not hold.active:
        return None
    later = [o for o in overrides if o not in made]
    if later and not hold_status(readings, overrides, recheck_after, now=min(at, now)).active:
        return Blocker(
            "hold",
            f"The hold was overridden at {hm(min(o.at for o in later))}, after the dose time {hm(at)}: a dose "
            "during a hold follows its override.",
            "dosed_at",
        )
    return Blocker("hold", hold.message)


def reading_fit_errors(
    *,
    phase: str,
    taken_at: datetime,
    dosed_at: datetime | None,
    discharged_at: datetime | None,
    others: Sequence[Reading],
    correcting: bool = False,
) -> dict[str, str]:
    """Does a reading's phase and time fit the dose? No 'during' before the dose, no pre-dose after
    it, no pre-discharge before the last 'during' reading, nothing once the patient has left.
    `correcting`: an existing reading's time is being corrected, so it may predate what followed."""
    if correcting and discharged_at is not None and taken_at > discharged_at:
        return {
            "taken_at": f"The patient was discharged at {hm(discharged_at)}: this dose's readings come before that."
        }
    if correcting and phase == VitalPhase.PRE_DOSE:
        if dosed_at is not None and taken_at > dosed_at:
            return {"taken_at": f"A pre-dose reading is taken before the dose, given at {hm(dosed_at)}."}
        return {}
    if discharged_at is not None and not correcting:
        return {
            NON_FIELD: f"The patient was discharged at {hm(discharged_at)}: no more readings on this dose. If the "
            "patient is back, record an adverse event."
        }
    if phase == VitalPhase.PRE_DOSE:
        if dosed_at is not None:
            return {"phase": "The dose has been given: record this reading as 'during session' or 'before discharge'."}
        return {}
    if dosed_at is None:
        return {"phase": "No dose has been given yet: a reading before the dose is 'pre-dose'."}
    if taken_at < dosed_at:
        return {
            "taken_at": f"The dose was given at {hm(dosed_at)}: a {phase.replace('_', '-')} reading comes after it."
        }
    if phase == VitalPhase.PRE_DISCHARGE:
        during = [r.taken_at for r in others if r.phase == VitalPhase.DURING]
        if during and taken_at < max(during):
            return {
                "taken_at": f"The last 'during session' reading was at {hm(max(during))}: the reading before "
                "discharge comes after it."
            }
    return {}


def full_set_errors(phase: str, values: dict) -> dict[str, str]:
    """A pre-dose or pre-discharge reading is a full set: blood pressure, heart rate and SpO2."""
    if phase not in (VitalPhase.PRE_DOSE, VitalPhase.PRE_DISCHARGE):
        return {}
    what = "before a dose" if phase == VitalPhase.PRE_DOSE else "before discharge"
    return {
        name: f"{rules.VITAL_LABELS[name]} is required {what}: a full set is blood pressure (both values), heart "
        "rate and SpO2."
        for name in rules.FULL_SET
        if values.get(name) is None
    }
