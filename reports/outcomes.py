"""Outcome arithmetic (DOMAIN §6) as pure functions over one course's dated scores and events.

No ORM here: reports/cohort.py turns rows into `CourseSeries`, these functions say what the
course's baseline, end-of-course and follow-up scores are and whether it responded, and
reports/aggregate.py counts. Days are calendar days in the clinic's time zone, windows include
both ends, and every threshold comes from `Definitions` (the clinic's settings).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

FOLLOW_UPS = ("month_1", "month_3", "month_6")
FOLLOW_UP_LABELS = {"month_1": "+1 month", "month_3": "+3 months", "month_6": "+6 months"}


@dataclass(frozen=True)
class Definitions:
    baseline_days: int = 30
    end_first_day: int = 1
    end_last_day: int = 14
    follow_ups: tuple[tuple[str, int, int], ...] = (("month_1", 30, 7), ("month_3", 90, 21), ("month_6", 180, 30))
    response_reduction_pct: int = 50
    partial_reduction_pct: int = 25
    pcl5_meaningful_drop: int = 10
    remission_below: dict = field(default_factory=lambda: {"phq9": 5, "gad7": 5, "pcl5": 33})
    eligible_from: dict = field(default_factory=lambda: {"phq9": 10, "gad7": 10, "pcl5": 33})

    def window(self, follow_up: str) -> tuple[int, int]:
        for name, day, tolerance in self.follow_ups:
            if name == follow_up:
                return day, tolerance
        raise KeyError(follow_up)


@dataclass(frozen=True)
class ScorePoint:
    at: datetime
    day: date  # the clinic-local calendar day of `at`
    total: int


@dataclass(frozen=True)
class CourseSeries:
    """One course's scores on one instrument, and the events the definitions hang on."""

    instrument: str
    scores: tuple[ScorePoint, ...]
    first_dose_at: datetime | None = None
    first_dose_day: date | None = None
    end_day: date | None = None  # last induction dose, once the acute series is over
    maintenance_days: tuple[date, ...] = ()
    discontinued: bool = False


@dataclass(frozen=True)
class Outcome:
    instrument: str
    baseline: ScorePoint | None
    eligible: bool
    end: ScorePoint | None
    end_due: bool
    follow_ups: dict
    follow_up_due: dict
    reduction_pct_end: float | None
    response_end: bool | None
    partial_end: bool | None
    remission_end: bool | None
    meaningful_change_end: bool | None
    response_at: dict
    remission_at: dict
    sustained: dict  # follow_up -> True/False/None (None: not measurable under observed cases)
    maintenance_before: dict  # follow_up -> bool
    discontinued: bool


def baseline_score(series: CourseSeries, defs: Definitions) -> ScorePoint | None:
    """The latest score in the N days before the first dose; on the dose day, only if taken before it."""
    if series.first_dose_day is None:
        return None
    earliest = series.first_dose_day - timedelta(days=defs.baseline_days)
    candidates = [
        s
        for s in series.scores
        if earliest <= s.day <= series.first_dose_day and (series.first_dose_at is None or s.at <= series.first_dose_at)
    ]
    return max(candidates, key=lambda s: s.at, default=None)


def end_of_course_score(series: CourseSeries, defs: Definitions) -> ScorePoint | None:
    """The first score taken 1 to 14 days after the last induction dose."""
    if series.end_day is None:
        return None
    low = series.end_day + timedelta(days=defs.end_first_day)
    high = series.end_day + timedelta(days=defs.end_last_day)
    return min((s for s in series.scores if low <= s.day <= high), key=lambda s: s.at, default=None)


def follow_up_window(end_day: date, defs: Definitions, follow_up: str) -> tuple[date, date, date]:
    day, tolerance = defs.window(follow_up)
    target = end_day + timedelta(days=day)
    return target - timedelta(days=tolerance), target, target + timedelta(days=tolerance)


def follow_up_score(series: CourseSeries, defs: Definitions, follow_up: str) -> ScorePoint | None:
    """The score nearest the target day inside the window; on a tie, the earlier."""
    if series.end_day is None:
        return None
    low, target, high = follow_up_window(series.end_day, defs, follow_up)
    inside = [s for s in series.scores if low <= s.day <= high]
    return min(inside, key=lambda s: (abs((s.day - target).days), s.day, s.at), default=None)


def reduction_pct(baseline: int, score: int) -> float:
    return 100.0 * (baseline - score) / baseline


def is_response(baseline: int, score: int, defs: Definitions) -> bool:
    return reduction_pct(baseline, score) >= defs.response_reduction_pct


def is_partial_response(baseline: int, score: int, defs: Definitions) -> bool:
    return defs.partial_reduction_pct <= reduction_pct(baseline, score) < defs.response_reduction_pct


def is_remission(instrument: str, score: int, defs: Definitions) -> bool:
    return score < defs.remission_below[instrument]


def is_eligible(instrument: str, baseline: ScorePoint | None, defs: Definitions) -> bool:
    """Only a baseline at or above the clinical cut-off enters response and remission figures
    (a baseline of 0 could never halve)."""
    return baseline is not None and baseline.total >= defs.eligible_from[instrument] and baseline.total > 0


@dataclass(frozen=True)
class Picks:
    """The scores the definitions pick from a course's series: its baseline, its end-of-course
    score and the score of each follow-up window (None where the window holds none)."""

    baseline: ScorePoint | None
    end: ScorePoint | None
    follow_ups: dict  # follow-up -> ScorePoint | None


def pick_scores(series: CourseSeries, defs: Definitions) -> Picks:
    return Picks(
        baseline=baseline_score(series, defs),
        end=end_of_course_score(series, defs),
        follow_ups={name: follow_up_score(series, defs, name) for name, _day, _tolerance in defs.follow_ups},
    )


def course_outcome(series: CourseSeries, defs: Definitions, as_of: date) -> Outcome:
    """Everything the reports count for one course on one instrument, as of a day."""
    return outcome_of(series, pick_scores(series, defs), defs, as_of)


def outcome_of(series: CourseSeries, picks: Picks, defs: Definitions, as_of: date) -> Outcome:
    """The outcome from the scores already picked (pick_scores here, or the database picking the
    same scores with the same windows: reports/outcomes_sql.py); `series.scores` is not read.

    `*_due` says whether the course belongs in that timepoint's intention-to-treat denominator:
    its window closed before `as_of` (the window's last day is over), or it has a score there.
    Windows count from `series.end_day`, the end of the acute course (measures.schedule.course_end):
    the last induction dose of a finished series, of a course discontinued part-way, or of a
    course that stalled. A discontinued or stalled course is due when its windows close, like any
    other, so a course stopped last week is not yet missing at six months.
    """
    baseline = picks.baseline
    eligible = is_eligible(series.instrument, baseline, defs)
    end = picks.end
    # A window has closed once its last day is over: on that day a score can still come in.
    anchor = series.end_day
    end_closed = anchor is not None and anchor + timedelta(days=defs.end_last_day) < as_of
    end_due = end is not None or end_closed

    follow_ups, due, closes = {}, {}, {}
    for name, day, tolerance in defs.follow_ups:
        score = picks.follow_ups[name]
        follow_ups[name] = score
        # The window's last day (follow_up_window's third), worked out once per course: at 30,000
        # outcomes a report called the window helper 200,000 times.
        closes[name] = None if anchor is None else anchor + timedelta(days=day + tolerance)
        due[name] = score is not None or (anchor is not None and closes[name] < as_of)

    def responds(point):
        return None if point is None or not eligible else is_response(baseline.total, point.total, defs)

    def remits(point):
        # Like response: a course below the cut-off at baseline enters no remission figure.
        return None if point is None or not eligible else is_remission(series.instrument, point.total, defs)

    response_end = responds(end)
    response_at = {name: responds(point) for name, point in follow_ups.items()}
    remission_at = {name: remits(point) for name, point in follow_ups.items()}
    sustained = {}
    for name in follow_ups:
        if end is None or follow_ups[name] is None or not eligible:
            sustained[name] = None
            continue
        # At 6 months: a responder at the end, at 3 months (if measured) and at 6 months.
        lost_at_3 = name == "month_6" and response_at["month_3"] is False
        sustained[name] = bool(response_end and response_at[name] and not lost_at_3)

    maintenance_before = {}
    for name, score in follow_ups.items():
        if anchor is None or not series.maintenance_days:
            maintenance_before[name] = False
            continue
        until = score.day if score is not None else closes[name]
        maintenance_before[name] = any(anchor < d <= until for d in series.maintenance_days)

    return Outcome(
        instrument=series.instrument,
        baseline=baseline,
        eligible=eligible,
        end=end,
        end_due=end_due,
        follow_ups=follow_ups,
        follow_up_due=due,
        reduction_pct_end=reduction_pct(baseline.total, end.total) if eligible and end else None,
        response_end=response_end,
        partial_end=None if end is None or not eligible else is_partial_response(baseline.total, end.total, defs),
        remission_end=remits(end),
        # The same eligibility as response: a course below the cut-off is in no PCL-5 change figure.
        meaningful_change_end=(
            None
            if end is None or not eligible or series.instrument != "pcl5"
            else baseline.total - end.total >= defs.pcl5_meaningful_drop
        ),
        response_at=response_at,
        remission_at=remission_at,
        sustained=sustained,
        maintenance_before=maintenance_before,
        discontinued=series.discontinued,
    )


def loss_of_response_time(outcome: Outcome, end_day: date, maintenance_days=()) -> tuple[int, bool] | None:
    """For an end-of-course responder: days from the end of the course to the first follow-up that
    is not a response (event), or to the last follow-up observed (censored).

    A maintenance dose after the end changes what is measured (durability of the course, or of
    the course plus boosters), so follow-up is censored at the first one: the curve is the
    durability of the acute course alone."""
    if not outcome.response_end:
        return None
    first_maintenance = min((d for d in maintenance_days if d > end_day), default=None)
    last = outcome.end.day
    for name in FOLLOW_UPS:
        point = outcome.follow_ups.get(name)
        if point is None:
            continue
        if first_maintenance is not None and point.day >= first_maintenance:
            return (first_maintenance - end_day).days, False
        if not outcome.response_at[name]:
            return (point.day - end_day).days, True
        last = point.day
    return (last - end_day).days, False
