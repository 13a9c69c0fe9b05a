"""The measure schedule of one course as a pure function of its facts (DOMAIN §6–7).

`plan` says which administrations a course should have and their windows; the service
`schedule_sync` compares that with the rows and creates, moves or cancels. Dates are
calendar days in the clinic's time zone; every window includes both ends.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from courses.choices import PAST_DOSING, STILL_IN_SERIES, CourseStatus, Indication
from measures.instruments import Instrument

BASELINE_DUE_DAYS = 7


@dataclass(frozen=True)
class DoseFact:
    dose_id: object
    session_date: date
    given: bool
    maintenance: bool


@dataclass(frozen=True)
class CourseFacts:
    opened_on: date
    indication: str
    status: str
    planned_dosing_sessions: int
    doses: tuple[DoseFact, ...]
    baseline_pcl5_total: int | None = None
    # The day the facts are read (the stall rule needs a "today"); None: never stalled.
    as_of: date | None = None
    # Staff stopped the follow-up questionnaires of a discontinued course (with a reason).
    follow_up_stopped: bool = False


@dataclass(frozen=True)
class ScheduleRules:
    instruments_by_timepoint: dict
    baseline_days_before_first_dose: int = 30
    pre_dose_min_interval_days: int = 7
    pre_dose_open_days_before: int = 3
    end_of_course_first_day: int = 1
    end_of_course_last_day: int = 14
    month_1_day: int = 30
    month_1_tolerance: int = 7
    month_3_day: int = 90
    month_3_tolerance: int = 21
    month_6_day: int = 180
    month_6_tolerance: int = 30
    pcl5_cutoff: int = 33
    stall_after_days: int = 28


@dataclass(frozen=True)
class Slot:
    instrument: str
    timepoint: str
    dose_id: object
    target: date
    open_from: date
    due_by: date
    missed_after: date

    @property
    def key(self) -> tuple:
        return (self.instrument, self.timepoint, self.dose_id)


class EndReason:
    SERIES = "series"  # every planned dose given, or the course moved on past dosing
    DISCONTINUED = "discontinued"  # stopped part-way: ends on its last dose given
    STALLED = "stalled"  # still open, but no dose for longer than the clinic's limit


@dataclass(frozen=True)
class CourseEnd:
    day: date  # the last induction dose given
    why: str  # an EndReason


def course_end(facts: CourseFacts, stall_after_days: int = 28) -> CourseEnd | None:
    """When the acute course ended, and why (DOMAIN §6), or None while it runs.

    The end is the day of the last induction dose given (maintenance doses do not move it), once
    the series is over: every planned dose given, the course moved past dosing, the course was
    discontinued part-way, or it stalled (no dose for more than `stall_after_days` days as of
    `facts.as_of`). A stalled course that doses again is running again: its end moves on."""
    given = sorted(d.session_date for d in facts.doses if d.given and not d.maintenance)
    if not given:
        return None
    last = given[-1]
    if facts.status in PAST_DOSING or len(given) >= facts.planned_dosing_sessions:
        return CourseEnd(last, EndReason.SERIES)
    if facts.status == CourseStatus.DISCONTINUED:
        return CourseEnd(last, EndReason.DISCONTINUED)
    if facts.status in STILL_IN_SERIES and facts.as_of is not None and (facts.as_of - last).days > stall_after_days:
        return CourseEnd(last, EndReason.STALLED)
    return None


def acute_series_end(facts: CourseFacts, stall_after_days: int = 28) -> date | None:
    """The day the acute course ended (course_end), or None while it runs."""
    end = course_end(facts, stall_after_days)
    return end.day if end else None


def pcl5_after_baseline(facts: CourseFacts, rules: ScheduleRules) -> bool:
    # DOMAIN §7: PCL-5 after baseline only for PTSD, or when the baseline PCL-5 reached the cut-off.
    return facts.indication == Indication.PTSD or (
        facts.baseline_pcl5_total is not None and facts.baseline_pcl5_total >= rules.pcl5_cutoff
    )


def _instruments(rules: ScheduleRules, timepoint: str, facts: CourseFacts) -> list[str]:
    chosen = list(rules.instruments_by_timepoint.get(timepoint, []))
    if timepoint != "baseline" and not pcl5_after_baseline(facts, rules):
        chosen = [i for i in chosen if i != Instrument.PCL5]
    return chosen


def _window(timepoint: str, instrument: str, target: date, low: date, high: date, dose=None) -> Slot:
    return Slot(instrument, timepoint, dose, min(max(target, low), high), low, min(max(target, low), high), high)


def plan(facts: CourseFacts, rules: ScheduleRules) -> list[Slot]:
    """The administrations a course should have. A discontinued course keeps its end-of-course
    and follow-up questionnaires (intention-to-treat needs them) unless staff stopped them."""
    slots: list[Slot] = []
    if facts.status == CourseStatus.DISCONTINUED:
        return [] if facts.follow_up_stopped else _after_the_course(facts, rules)
    induction = sorted((d for d in facts.doses if not d.maintenance), key=lambda d: d.session_date)
    first_dose = induction[0].session_date if induction else None

    # Baseline: opens at the course's start (or 30 days before the first dose, if later),
    # closes on the day of the first dose, when a pre-dose answer still counts.
    if first_dose is not None:
        open_from = max(facts.opened_on, first_dose - timedelta(days=rules.baseline_days_before_first_dose))
        missed_after = max(first_dose, open_from)
    else:
        open_from = facts.opened_on
        missed_after = open_from + timedelta(days=rules.baseline_days_before_first_dose)
    baseline_target = open_from
    for instrument in _instruments(rules, "baseline", facts):
        slots.append(
            Slot(
                instrument,
                "baseline",
                None,
                baseline_target,
                open_from,
                min(open_from + timedelta(days=BASELINE_DUE_DAYS), missed_after),
                missed_after,
            )
        )

    # Before each dosing session, but not more often than every N days per instrument.
    for instrument in _instruments(rules, "pre_dose", facts):
        last_target = baseline_target if instrument in _instruments(rules, "baseline", facts) else None
        for dose in sorted(facts.doses, key=lambda d: d.session_date):
            day = dose.session_date
            if last_target is not None and (day - last_target).days < rules.pre_dose_min_interval_days:
                continue
            low = day - timedelta(days=rules.pre_dose_open_days_before)
            slots.append(Slot(instrument, "pre_dose", dose.dose_id, day, low, day, day))
            last_target = day

    return slots + _after_the_course(facts, rules)


def _after_the_course(facts: CourseFacts, rules: ScheduleRules) -> list[Slot]:
    """End-of-course and follow-up windows, counted from the end of the acute course."""
    slots: list[Slot] = []
    end = acute_series_end(facts, rules.stall_after_days)
    if end is not None:
        low = end + timedelta(days=rules.end_of_course_first_day)
        high = end + timedelta(days=rules.end_of_course_last_day)
        target = end + timedelta(days=min(7, rules.end_of_course_last_day))
        for instrument in _instruments(rules, "end_of_course", facts):
            slots.append(_window("end_of_course", instrument, target, low, high))
        for timepoint, day, tolerance in (
            ("month_1", rules.month_1_day, rules.month_1_tolerance),
            ("month_3", rules.month_3_day, rules.month_3_tolerance),
            ("month_6", rules.month_6_day, rules.month_6_tolerance),
        ):
            target = end + timedelta(days=day)
            for instrument in _instruments(rules, timepoint, facts):
                slots.append(
                    _window(
                        timepoint,
                        instrument,
                        target,
                        target - timedelta(days=tolerance),
                        target + timedelta(days=tolerance),
                    )
                )
    return slots
