"""What is still needed before this patient can be dosed (pregnancy test, a recent weight, the
spacing from other doses, the hold, a pre-dose reading)? Does a given dose still fit when its time
is corrected?"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from courses import rules
from courses.choices import PregnancyTest, SessionFormat, VitalPhase
from courses.safety.blockers import Blocker, hm
from courses.safety.vitals import Override, Reading, hold_blocker, reading_fit_errors


@dataclass(frozen=True)
class OtherDose:
    """Another dose of the same patient (any course) that has been given."""

    dosed_at: datetime
    ended: bool  # discharged, or left by transfer (an adverse event records it)


@dataclass(frozen=True)
class DoseFacts:
    at: datetime  # the moment the dose would be given
    today: date  # that moment's day in the clinic
    now: datetime | None = None  # the clock (default: `at`); a dose time typed ahead of it re-checks nothing
    course: tuple[Blocker, ...] = ()  # course_blockers() of its course on that day
    # The dose's own record
    given: bool = False
    voided: bool = False
    fasting_confirmed: bool = False
    pregnancy_test: str = ""
    childbearing_potential: str = ""
    weight_measured_on: date | None = None
    weight_is_recorded: bool = True  # False: a typed weight with no measurement behind it (old records)
    # The session
    session_format: str = SessionFormat.INDIVIDUAL
    session_doses: int = 1
    session_booked: int = 0  # doses ever added, voided no-shows included
    session_voided: bool = False
    # Vitals and the hold
    readings: tuple[Reading, ...] = ()
    overrides: tuple[Override, ...] = ()
    hold_recheck: timedelta = timedelta(minutes=15)
    open_alerts: int = 0
    # Spacing
    other_doses: tuple[OtherDose, ...] = ()
    min_interval: timedelta = timedelta(hours=24)
    weight_max_age_days: int = 30


def pregnancy_test_needed(childbearing_potential: str) -> bool:
    # "Unknown" is treated as yes: the test is the safe side (Feder 2025 tested before every infusion).
    return childbearing_potential != rules.NO


def pregnancy_blockers(childbearing_potential: str, test: str) -> list[Blocker]:
    if test == PregnancyTest.POSITIVE:
        return [
            Blocker(
                "pregnant", "A positive pregnancy test is an absolute contraindication: do not dose.", "pregnancy_test"
            )
        ]
    if pregnancy_test_needed(childbearing_potential) and test != PregnancyTest.NEGATIVE:
        unknown = " as unknown" if childbearing_potential == rules.UNKNOWN else ""
        return [
            Blocker(
                "pregnancy_test",
                f"The screen records childbearing potential{unknown}: record a negative pregnancy test before this "
                "dose.",
                "pregnancy_test",
            )
        ]
    return []


ALREADY_GIVEN = "This dose has already been recorded as given: its time stands (correct it by amendment if wrong)."


def dose_blockers(f: DoseFacts) -> list[Blocker]:
    """Everything that stands between this patient and the dose, all at once, so the dose page
    and the group card can list it before the patient is in the chair. Empty: dose."""
    if f.voided:
        return [Blocker("voided", "This dose record has been voided.")]
    if f.given:
        return [Blocker("given", ALREADY_GIVEN)]
    out: list[Blocker] = []
    if f.session_voided:
        out.append(Blocker("session_voided", "This dosing session has been voided."))
    out.extend(f.course)
    # A group is booked with 4 to 12. A no-show voided on the day does not stop the others (the
    # group was formed; the provider now watches fewer), so the lower bound counts the booked.
    size = rules.group_size_error(f.session_format, f.session_doses)
    booked = max(f.session_booked, f.session_doses)
    short_of_group = f.session_format == "group" and booked >= rules.GROUP_SIZE[0]
    if size and not (short_of_group and f.session_doses <= rules.GROUP_SIZE[1]):
        out.append(Blocker("group_size", size + " Add or void participants before dosing starts."))
    if not f.fasting_confirmed:
        out.append(
            Blocker("fasting", "Confirm fasting (2 h solids, 30 min liquids) before dosing.", "fasting_confirmed")
        )
    out.extend(pregnancy_blockers(f.childbearing_potential, f.pregnancy_test))
    out.extend(weight_blockers(f.weight_measured_on, f.weight_is_recorded, f.today, f.weight_max_age_days))
    out.extend(spacing_blockers(f.other_doses, f.at, f.min_interval))
    pre = [r for r in f.readings if r.phase == VitalPhase.PRE_DOSE]
    if not any(r.is_full for r in pre):
        out.append(
            Blocker(
                "pre_dose_vitals",
                "Record a full pre-dose set of vital signs (blood pressure, heart rate, SpO2) before dosing.",
            )
        )
    hold = hold_blocker(f.readings, f.overrides, f.hold_recheck, f.at, f.now or f.at)
    if hold is not None:
        out.append(hold)
    if f.open_alerts:
        out.append(
            Blocker(
                "open_alert",
                f"{f.open_alerts} vital-sign alert{'s' if f.open_alerts != 1 else ''} open: the medical provider "
                "records what was done before dosing.",
            )
        )
    latest_pre = max((r.taken_at for r in pre), default=None)
    if latest_pre is not None and f.at < latest_pre:
        out.append(
            Blocker(
                "dose_before_vitals",
                f"The dose time {hm(f.at)} is before the pre-dose reading at {hm(latest_pre)}.",
                "dosed_at",
            )
        )
    return out


def weight_blockers(measured_on: date | None, recorded: bool, today: date, max_age_days: int) -> list[Blocker]:
    """The weight a dose is calculated on is a recorded weight of the patient, recent enough."""
    if measured_on is None or not recorded:
        return [
            Blocker(
                "weight_missing",
                "No recorded weight behind this dose: weigh the patient and record it (tick 'weighed now').",
                "weight_kg",
            )
        ]
    age = (today - measured_on).days
    if age > max_age_days:
        return [
            Blocker(
                "weight_stale",
                f"The weight used was recorded on {measured_on:%Y-%m-%d}, {age} days ago; the clinic accepts "
                f"{max_age_days}. Weigh the patient and record it (tick 'weighed now').",
                "weight_kg",
            )
        ]
    return []


def spacing_blockers(others: Sequence[OtherDose], at: datetime, min_interval: timedelta) -> list[Blocker]:
    """A new dose waits for the patient's last one to be discharged, and for the clinic's minimum
    interval from every other dose (one recorded later, a late entry, counts too)."""
    out = []
    before = [d for d in others if d.dosed_at <= at]
    for dose in before:
        if not dose.ended:
            out.append(
                Blocker(
                    "previous_not_discharged",
                    f"The patient's dose given {dose.dosed_at:%Y-%m-%d %H:%M} has not been discharged: complete its "
                    "discharge first.",
                    "course",
                )
            )
    hours = f"{min_interval / timedelta(hours=1):g}"
    last = max((d.dosed_at for d in before), default=None)
    if last is not None and at < last + min_interval:
        out.append(
            Blocker(
                "too_soon",
                f"The previous dose was given at {last:%Y-%m-%d %H:%M}; the clinic's minimum interval between doses is "
                f"{hours} hours, so the next dose can be given from {last + min_interval:%Y-%m-%d %H:%M}.",
                "course",
            )
        )
    after = min((d.dosed_at for d in others if d.dosed_at > at), default=None)
    if after is not None and after < at + min_interval:
        out.append(
            Blocker(
                "too_close_to_next",
                f"Another dose of this patient was given at {after:%Y-%m-%d %H:%M}, less than {hours} hours after "
                "this time.",
                "course",
            )
        )
    return out


def given_dose_errors(
    *,
    dosed_at: datetime,
    discharged_at: datetime | None,
    monitoring: timedelta,
    readings: Sequence[Reading],
    others: Sequence[OtherDose],
    min_interval: timedelta,
    overrides: Sequence[Override] = (),
    hold_recheck: timedelta = timedelta(minutes=15),
) -> list[Blocker]:
    """A given dose whose time, drug or route is corrected after the fact must still tell a
    possible story: its readings on the right side of the dose, and the clinic's interval from the
    patient's other doses. A correction is not a way round the rules the dose was given under.

    `monitoring_short` (a discharge sooner than the corrected dose's minimum monitoring) is the
    one the service may accept: what happened happened, and the record must be able to say it;
    the shortfall is then kept as a documented discharge exception."""
    out = []
    for r in readings:
        fit = reading_fit_errors(
            phase=r.phase,
            taken_at=r.taken_at,
            dosed_at=dosed_at,
            discharged_at=discharged_at,
            others=readings,
            correcting=True,
        )
        if fit:
            message = next(iter(fit.values()))
            out.append(
                Blocker(
                    "reading_fit",
                    f"With the dose at {hm(dosed_at)}, the reading at {hm(r.taken_at)} no longer fits: {message}",
                )
            )
            break
    if discharged_at is not None and discharged_at < dosed_at + monitoring:
        out.append(
            Blocker(
                "monitoring_short",
                f"The patient was discharged at {hm(discharged_at)}, less than the "
                f"{monitoring // timedelta(minutes=1)} minutes of monitoring after a dose at {hm(dosed_at)}.",
            )
        )
    hold = hold_blocker(readings, overrides, hold_recheck, dosed_at, dosed_at)
    if hold is not None:
        out.append(Blocker("hold", f"With the dose at {hm(dosed_at)}: {hold.message}"))
    out.extend(
        b for b in spacing_blockers(others, dosed_at, min_interval) if b.code in ("too_soon", "too_close_to_next")
    )
    return out
