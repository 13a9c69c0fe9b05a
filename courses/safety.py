"""The clinical questions of the dosing day, answered once (DOMAIN §2–4).

"Is there a pre-dose hold?", "is this course cleared for dosing?", "what is still needed before
this patient can be dosed?", "can this patient be discharged?", "are vitals overdue?": each is a
pure function here, of plain facts, with no ORM inside. The services call them to refuse an act,
the pages to list what is missing, the API to report it, so the three cannot disagree
(courses/bedside.py gathers the facts from the database, in a bounded number of queries).

A refusal is a list of Blockers: what is missing, which field it concerns, what to do about it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from courses import rules
from courses.choices import (
    CLEARED_DECISIONS,
    PregnancyTest,
    ScreenDecision,
    SessionFormat,
    SuicideRisk,
    VitalAlert,
    VitalPhase,
)

NON_FIELD = "__all__"
# "About 40 minutes" after the dose (DOMAIN §3, the SPRAVATO REMS form: the blood-pressure peak):
# a during-session reading counts as that reading from 30 minutes on, and is overdue after 50.
PEAK_READING_FROM = timedelta(minutes=30)
PEAK_READING_DUE = timedelta(minutes=50)


@dataclass(frozen=True)
class Blocker:
    """One thing that stands between the patient and an act (a dose, a discharge)."""

    code: str
    message: str
    field: str = NON_FIELD
    # Can a medical provider go ahead anyway by documenting why (a discharge exception)?
    exceptionable: bool = False


def errors_of(blockers: Sequence[Blocker]) -> dict[str, list[str]]:
    """Blockers as a services' ValidationError dict: the messages by the field they concern."""
    out: dict[str, list[str]] = {}
    for blocker in blockers:
        out.setdefault(blocker.field, []).append(blocker.message)
    return out


def _hm(moment: datetime | None) -> str:
    return f"{moment:%H:%M}" if moment else ""


# --- vital signs and the pre-dose hold -------------------------------------------------------


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
            f"Pre-dose hold: blood pressure {self.reading.blood_pressure} at {_hm(self.reading.taken_at)} is above "
            "the clinic's hold threshold. A medical provider records an override with the clinical reason, or a full "
            f"pre-dose reading at or below the threshold taken from {_hm(self.recheck_from)} lifts it."
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
            f"The hold was overridden at {_hm(min(o.at for o in later))}, after the dose time {_hm(at)}: a dose "
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
            "taken_at": f"The patient was discharged at {_hm(discharged_at)}: this dose's readings come before that."
        }
    if correcting and phase == VitalPhase.PRE_DOSE:
        if dosed_at is not None and taken_at > dosed_at:
            return {"taken_at": f"A pre-dose reading is taken before the dose, given at {_hm(dosed_at)}."}
        return {}
    if discharged_at is not None and not correcting:
        return {
            NON_FIELD: f"The patient was discharged at {_hm(discharged_at)}: no more readings on this dose. If the "
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
            "taken_at": f"The dose was given at {_hm(dosed_at)}: a {phase.replace('_', '-')} reading comes after it."
        }
    if phase == VitalPhase.PRE_DISCHARGE:
        during = [r.taken_at for r in others if r.phase == VitalPhase.DURING]
        if during and taken_at < max(during):
            return {
                "taken_at": f"The last 'during session' reading was at {_hm(max(during))}: the reading before "
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


# --- the screen and "cleared for dosing" -----------------------------------------------------


@dataclass(frozen=True)
class Screen:
    """The course's current medical evaluation (contraindication screen)."""

    decision: str
    signed: bool
    evaluated_on: date | None
    recent_suicidality: str = ""  # the caution's answer: yes / no / unknown / ""
    childbearing_potential: str = ""


@dataclass(frozen=True)
class Psych:
    signed: bool
    suicide_risk: str = ""
    has_risk_plan: bool = False


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the last day of the month when that day does not exist)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=candidate)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover — day 28 exists in every month


def screen_expires_on(screen: Screen, valid_months: int) -> date | None:
    return add_months(screen.evaluated_on, valid_months) if screen.evaluated_on else None


def clearance_blockers(screen: Screen | None, psych: Psych | None, *, on: date, valid_months: int) -> list[Blocker]:
    """Is this course cleared for dosing on this day? Empty when it is.

    Cleared means: a signed screen with a cleared decision, not older than the clinic's validity;
    a signed psychiatric evaluation; and when the screen records recent suicidality, an evaluation
    whose risk level and safety plan address it (DOMAIN §2: "needs the psychiatric risk plan").
    """
    out: list[Blocker] = []
    if screen is None:
        out.append(
            Blocker(
                "screen_missing",
                "No medical evaluation: a medical provider records the contraindication screen first.",
                "course",
            )
        )
    elif not screen.signed:
        what = "decides and signs" if screen.decision == ScreenDecision.PENDING else "signs"
        out.append(
            Blocker(
                "screen_unsigned",
                f"The contraindication screen is not signed: a medical provider {what} the medical evaluation.",
                "course",
            )
        )
    elif screen.decision not in CLEARED_DECISIONS:
        out.append(
            Blocker(
                "screen_not_cleared",
                "The contraindication screen is signed as not cleared: no dosing. Discontinue the course, or "
                "re-evaluate.",
                "course",
            )
        )
    else:
        expires = screen_expires_on(screen, valid_months)
        if expires is not None and on >= expires:
            out.append(
                Blocker(
                    "screen_expired",
                    f"The contraindication screen of {screen.evaluated_on:%Y-%m-%d} expired on {expires:%Y-%m-%d} "
                    f"(valid {valid_months} months): a medical provider records a new medical evaluation before the "
                    "next dose.",
                    "course",
                )
            )
    if psych is None:
        out.append(
            Blocker("psych_missing", "Record the psychiatric evaluation (with its suicide-risk review).", "course")
        )
    elif not psych.signed:
        out.append(
            Blocker("psych_unsigned", "Sign the psychiatric evaluation (with its suicide-risk review).", "course")
        )
    if screen is not None and screen.recent_suicidality == rules.YES:
        addressed = (
            psych is not None
            and psych.signed
            and psych.suicide_risk in (SuicideRisk.MODERATE, SuicideRisk.HIGH)
            and psych.has_risk_plan
        )
        if not addressed:
            out.append(
                Blocker(
                    "suicidality_unaddressed",
                    "The screen records a recent suicide attempt or active suicidal intent, but no signed "
                    "psychiatric evaluation rates that risk (moderate or high) with a safety plan: amend the "
                    "psychiatric evaluation or the screen before dosing.",
                    "course",
                )
            )
    return out


# --- what is still needed before this patient can be dosed -----------------------------------


@dataclass(frozen=True)
class CourseReadiness:
    """What a course must have before any of its doses (the patient aside)."""

    on: date  # the day of the dose asked about
    closed: bool = False
    status: str = ""
    screen: Screen | None = None
    psych: Psych | None = None
    screen_valid_months: int = 12
    first_dose: bool = True  # no dose given on the course yet
    signed_preparatory_sessions: int = 0
    baseline_open: tuple[str, ...] = ()  # instruments whose baseline is neither answered nor waived
    patient_age: int | None = None
    minimum_age: int = 18
    age_exception: bool = False


def course_blockers(c: CourseReadiness) -> list[Blocker]:
    """Is this course ready for a dose on this day? Cleared, old enough, and before the first dose
    prepared with a baseline (DOMAIN §1 and §6: a course with no baseline can never show a response)."""
    out: list[Blocker] = []
    if c.closed:
        out.append(Blocker("course_closed", f"The course is {c.status}: no dosing.", "course"))
    out.extend(clearance_blockers(c.screen, c.psych, on=c.on, valid_months=c.screen_valid_months))
    if c.patient_age is not None and c.patient_age < c.minimum_age and not c.age_exception:
        out.append(
            Blocker(
                "under_age",
                f"The patient is {c.patient_age}, under the clinic's minimum age of {c.minimum_age}: a practice lead "
                "records a documented exception on the course before dosing.",
                "course",
            )
        )
    if c.first_dose:
        if c.signed_preparatory_sessions < 1:
            out.append(
                Blocker(
                    "preparation_missing",
                    "No signed preparatory session: the first dose follows at least one preparatory session, "
                    "signed by its therapist.",
                    "course",
                )
            )
        if c.baseline_open:
            out.append(
                Blocker(
                    "baseline_open",
                    f"Baseline questionnaires not answered: {', '.join(c.baseline_open)}. Without them the course can "
                    "never show a response: have the patient answer, or a clinician waives each with a reason.",
                    "course",
                )
            )
    return out


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
    # The participant's own record
    given: bool = False
    voided: bool = False
    fasting_confirmed: bool = False
    pregnancy_test: str = ""
    childbearing_potential: str = ""
    weight_measured_on: date | None = None
    weight_is_recorded: bool = True  # False: a typed weight with no measurement behind it (old records)
    # The session
    session_format: str = SessionFormat.INDIVIDUAL
    session_participants: int = 1
    session_booked: int = 0  # participants ever added, voided no-shows included
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
    """Everything that stands between this patient and the dose, all at once, so the bedside page
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
    size = rules.group_size_error(f.session_format, f.session_participants)
    booked = max(f.session_booked, f.session_participants)
    short_of_group = f.session_format == "group" and booked >= rules.GROUP_SIZE[0]
    if size and not (short_of_group and f.session_participants <= rules.GROUP_SIZE[1]):
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
                f"The dose time {_hm(f.at)} is before the pre-dose reading at {_hm(latest_pre)}.",
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
                    f"With the dose at {_hm(dosed_at)}, the reading at {_hm(r.taken_at)} no longer fits: {message}",
                )
            )
            break
    if discharged_at is not None and discharged_at < dosed_at + monitoring:
        out.append(
            Blocker(
                "monitoring_short",
                f"The patient was discharged at {_hm(discharged_at)}, less than the "
                f"{monitoring // timedelta(minutes=1)} minutes of monitoring after a dose at {_hm(dosed_at)}.",
            )
        )
    hold = hold_blocker(readings, overrides, hold_recheck, dosed_at, dosed_at)
    if hold is not None:
        out.append(Blocker("hold", f"With the dose at {_hm(dosed_at)}: {hold.message}"))
    out.extend(
        b for b in spacing_blockers(others, dosed_at, min_interval) if b.code in ("too_soon", "too_close_to_next")
    )
    return out


# --- monitoring and discharge ----------------------------------------------------------------


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
                f"The discharge time {_hm(f.at)} is before the dose at {_hm(f.dosed_at)}.",
                "discharged_at",
            )
        )
    later = [r for r in f.readings if r.taken_at > f.at]
    if later:
        # The record must not show the patient leaving before readings taken while they were there.
        out.append(
            Blocker(
                "discharge_before_reading",
                f"The discharge time {_hm(f.at)} is before the reading at {_hm(later[-1].taken_at)}: discharge is "
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
                f"Minimum monitoring is {minutes} minutes after the dose: discharge from {_hm(earliest)}.",
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
                f"{_hm(f.dosed_at + PEAK_READING_FROM)}).",
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
                f"The set before discharge was taken at {_hm(final.taken_at)}, more than "
                f"{f.fresh_within // timedelta(minutes=1)} minutes before discharge at {_hm(f.at)}: take a new full "
                "set before the patient leaves.",
            )
        )
    elif final.alerting:
        out.append(
            Blocker(
                "pre_discharge_alerting",
                f"The reading before discharge at {_hm(final.taken_at)} (BP {final.blood_pressure}, HR "
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


@dataclass(frozen=True)
class Monitoring:
    """Are vitals overdue for a dosed patient still in the chair?"""

    overdue: bool
    next_due: datetime | None = None
    message: str = ""


def monitoring_status(
    *, dosed_at: datetime | None, ended: bool, readings: Sequence[Reading], now: datetime, interval: timedelta
) -> Monitoring:
    if dosed_at is None or ended:
        return Monitoring(overdue=False)
    after_dose = [r.taken_at for r in readings if r.taken_at >= dosed_at]
    last = max(after_dose, default=dosed_at)
    peak_taken = any(r.phase == VitalPhase.DURING and r.taken_at >= dosed_at + PEAK_READING_FROM for r in readings)
    due = last + interval
    if not peak_taken:
        due = min(due, dosed_at + PEAK_READING_DUE)
    if now <= due:
        return Monitoring(overdue=False, next_due=due)
    if not peak_taken and now > dosed_at + PEAK_READING_DUE:
        what = "the reading at about 40 minutes after the dose is overdue"
    else:
        what = f"vitals are overdue (last at {_hm(last)}, every {interval // timedelta(minutes=1)} minutes)"
    return Monitoring(overdue=True, next_due=due, message=what[0].upper() + what[1:] + ".")
