"""DOMAIN §6, as a property: whatever the course did — finished its series, was discontinued part-way,
stalled, or is still dosing — an eligible course whose end-of-course window has closed is in the
intention-to-treat denominator, counted from the end `measures.schedule.course_end` gives it."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from courses.choices import CourseStatus
from measures.schedule import CourseFacts, DoseFact, course_end
from reports.aggregate import summarise
from reports.outcomes import CourseSeries, Definitions, ScorePoint, course_outcome

DEFS = Definitions()
OPENED = dt.date(2025, 1, 6)
STALL = 28


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


course_plans = st.tuples(
    st.sampled_from([CourseStatus.DOSING, CourseStatus.INTEGRATION, CourseStatus.DISCONTINUED]),
    st.lists(st.integers(7, 120), min_size=1, max_size=6, unique=True),  # induction dose days
    st.integers(2, 8),  # planned doses
    st.integers(10, 27),  # baseline PHQ-9 (eligible from 10)
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 27)), max_size=6),  # scores after the first dose
)


def series_for(plan, as_of: dt.date):
    status, dose_days, planned, baseline, later = plan
    days = sorted(OPENED + dt.timedelta(days=d) for d in dose_days)
    facts = CourseFacts(
        opened_on=OPENED,
        indication="mdd_trd",
        status=status,
        planned_dosing_sessions=planned,
        doses=tuple(DoseFact(None, d, True, False) for d in days),
        as_of=as_of,
    )
    end = course_end(facts, STALL)
    scores = [ScorePoint(at(days[0], 8), days[0], baseline)]
    scores += [
        ScorePoint(at(days[0] + dt.timedelta(days=d), 12), days[0] + dt.timedelta(days=d), total)
        for d, total in later
        if d > 0
    ]
    series = CourseSeries(
        instrument="phq9",
        scores=tuple(sorted(scores, key=lambda s: s.at)),
        first_dose_at=at(days[0], 9),
        first_dose_day=days[0],
        end_day=end.day if end else None,
        discontinued=status == CourseStatus.DISCONTINUED,
    )
    return end, series


@given(st.lists(course_plans, min_size=1, max_size=20), st.integers(0, 500))
def test_itt_never_leaves_out_an_eligible_course_that_has_ended(plans, days_after_opening):
    as_of = OPENED + dt.timedelta(days=days_after_opening)
    built = [series_for(plan, as_of) for plan in plans]
    outcomes = [course_outcome(series, DEFS, as_of) for _end, series in built]
    summary = summarise("phq9", outcomes, [series.end_day for _end, series in built])
    must_count = 0
    for (end, series), outcome in zip(built, outcomes, strict=True):
        assert outcome.eligible  # every baseline here is at or above the cut-off
        closed = end is not None and end.day + dt.timedelta(days=DEFS.end_last_day) < as_of
        if closed:
            # Ended — series complete, discontinued part-way or stalled — and its window closed.
            assert outcome.end_due, (end, series)
            must_count += 1
        elif end is None:
            # Still running: in no ITT figure yet, unless a score already counts as its end.
            assert not outcome.end_due
    assert summary.response_itt.denominator >= must_count
    assert summary.response_itt.denominator >= summary.response_oc.denominator
