"""Plain builders for the pure outcome tests: scores on days counted from a course's events."""

import datetime as dt

from reports.outcomes import CourseSeries, ScorePoint

FIRST_DOSE_DAY = dt.date(2026, 1, 5)
END_DAY = dt.date(2026, 1, 19)  # last induction dose, 14 days after the first
# 10:00 in the clinic (America/New_York, standard time in January) is 15:00 UTC.
CLINIC_MORNING_UTC = dt.time(15, 0, tzinfo=dt.UTC)
FIRST_DOSE_AT = dt.datetime.combine(FIRST_DOSE_DAY, CLINIC_MORNING_UTC)


def point(day: dt.date, total: int, *, minutes: int = 0) -> ScorePoint:
    """A score taken on `day` at 10:00 clinic time, `minutes` later or earlier."""
    at = dt.datetime.combine(day, CLINIC_MORNING_UTC) + dt.timedelta(minutes=minutes)
    return ScorePoint(at, day, total)


def after_end(days: int, total: int, **kwargs) -> ScorePoint:
    return point(END_DAY + dt.timedelta(days=days), total, **kwargs)


def before_dose(days: int, total: int, **kwargs) -> ScorePoint:
    return point(FIRST_DOSE_DAY - dt.timedelta(days=days), total, **kwargs)


def series(*scores, instrument="phq9", end_day=END_DAY, maintenance_days=(), discontinued=False) -> CourseSeries:
    return CourseSeries(
        instrument=instrument,
        scores=tuple(scores),
        first_dose_at=FIRST_DOSE_AT,
        first_dose_day=FIRST_DOSE_DAY,
        end_day=end_day,
        maintenance_days=tuple(maintenance_days),
        discontinued=discontinued,
    )


def course(
    baseline: int | None,
    end: int | None = None,
    month_1: int | None = None,
    month_3: int | None = None,
    month_6: int | None = None,
    *,
    instrument: str = "phq9",
    **kwargs,
) -> CourseSeries:
    """A course with a score at each timepoint given: baseline 2 days before the first dose,
    the end of course 7 days after the last dose, follow-ups on their target days."""
    scores = []
    if baseline is not None:
        scores.append(before_dose(2, baseline))
    for days, total in ((7, end), (30, month_1), (90, month_3), (180, month_6)):
        if total is not None:
            scores.append(after_end(days, total))
    return series(*scores, instrument=instrument, **kwargs)


# Far enough after the end that every window has closed.
LONG_AFTER = END_DAY + dt.timedelta(days=400)
