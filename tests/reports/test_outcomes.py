"""The outcome arithmetic of DOMAIN §6, by tables of cases: windows and their edges, which score
counts, response, partial response, remission, eligibility, durability and intention-to-treat."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from courses.choices import CourseStatus, Indication
from measures.schedule import CourseFacts, DoseFact, acute_series_end
from reports.outcomes import (
    CourseSeries,
    Definitions,
    baseline_score,
    course_outcome,
    end_of_course_score,
    follow_up_score,
    follow_up_window,
    is_eligible,
    is_partial_response,
    is_remission,
    is_response,
    loss_of_response_time,
)
from tests.reports.support import (
    END_DAY,
    FIRST_DOSE_DAY,
    LONG_AFTER,
    after_end,
    before_dose,
    course,
    point,
    series,
)

DEFS = Definitions()


# --- which score counts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "days_before, counts",
    [(1, True), (30, True), (31, False), (45, False)],
)
def test_baseline_window_is_the_30_days_before_the_first_dose(days_before, counts):
    score = before_dose(days_before, 20)
    assert baseline_score(series(score), DEFS) == (score if counts else None)


@pytest.mark.parametrize("minutes, counts", [(-60, True), (-1, True), (60, False)])
def test_a_score_on_the_first_dose_day_counts_only_if_taken_before_the_dose(minutes, counts):
    score = point(FIRST_DOSE_DAY, 20, minutes=minutes)
    assert baseline_score(series(score), DEFS) == (score if counts else None)


def test_baseline_is_the_latest_score_in_its_window():
    older, newer = before_dose(20, 22), before_dose(3, 18)
    assert baseline_score(series(newer, older), DEFS) == newer
    same_day_early, same_day_late = before_dose(3, 15, minutes=-120), before_dose(3, 16)
    assert baseline_score(series(same_day_late, same_day_early), DEFS) == same_day_late


def test_no_first_dose_means_no_baseline():
    assert baseline_score(CourseSeries("phq9", (before_dose(3, 20),)), DEFS) is None


@pytest.mark.parametrize(
    "days_after, counts",
    [(0, False), (1, True), (7, True), (14, True), (15, False)],
)
def test_end_of_course_window_is_days_1_to_14_after_the_last_dose(days_after, counts):
    score = after_end(days_after, 8)
    assert end_of_course_score(series(score), DEFS) == (score if counts else None)


def test_end_of_course_is_the_first_score_in_its_window():
    first, later = after_end(3, 9), after_end(10, 4)
    assert end_of_course_score(series(later, first), DEFS) == first


def test_no_end_of_the_acute_series_means_no_end_of_course_score():
    assert end_of_course_score(series(after_end(3, 9), end_day=None), DEFS) is None


@pytest.mark.parametrize(
    "follow_up, days_after, counts",
    [
        ("month_1", 22, False),
        ("month_1", 23, True),
        ("month_1", 30, True),
        ("month_1", 37, True),
        ("month_1", 38, False),
        ("month_3", 68, False),
        ("month_3", 69, True),
        ("month_3", 111, True),
        ("month_3", 112, False),
        ("month_6", 149, False),
        ("month_6", 150, True),
        ("month_6", 210, True),
        ("month_6", 211, False),
    ],
)
def test_follow_up_windows_include_both_ends(follow_up, days_after, counts):
    score = after_end(days_after, 7)
    assert follow_up_score(series(score), DEFS, follow_up) == (score if counts else None)


def test_follow_up_windows_are_counted_from_the_end_of_course():
    assert follow_up_window(END_DAY, DEFS, "month_3") == (
        END_DAY + dt.timedelta(days=69),
        END_DAY + dt.timedelta(days=90),
        END_DAY + dt.timedelta(days=111),
    )


@pytest.mark.parametrize(
    "days, expected",
    [
        ((25, 33), 33),  # 3 days from the target beats 5
        ((28, 32), 28),  # a tie: the earlier
        ((32, 28), 28),  # whatever the order they come in
        ((23, 37), 23),
        ((30, 31), 30),
    ],
)
def test_the_score_nearest_the_target_day_counts(days, expected):
    scores = [after_end(d, d) for d in days]
    assert follow_up_score(series(*scores), DEFS, "month_1").day == END_DAY + dt.timedelta(days=expected)


def test_two_scores_on_the_target_day_the_earlier_counts():
    early, late = after_end(30, 5, minutes=-90), after_end(30, 9)
    assert follow_up_score(series(late, early), DEFS, "month_1") == early


def test_the_windows_follow_the_clinic_settings():
    defs = Definitions(baseline_days=14, end_first_day=0, end_last_day=7, follow_ups=(("month_1", 28, 3),))
    assert baseline_score(series(before_dose(15, 20)), defs) is None
    assert end_of_course_score(series(after_end(0, 3)), defs) is not None
    assert follow_up_score(series(after_end(32, 3)), defs, "month_1") is None
    assert follow_up_score(series(after_end(31, 3)), defs, "month_1") is not None


# --- response, partial response, remission, eligibility -------------------------------------------


@pytest.mark.parametrize(
    "baseline, score, response, partial",
    [
        (20, 10, True, False),  # exactly 50%
        (20, 0, True, False),
        (59, 30, False, True),  # 49.2%
        (27, 14, False, True),  # 48.1%
        (20, 15, False, True),  # exactly 25%
        (41, 31, False, False),  # 24.4%
        (21, 16, False, False),  # 23.8%
        (20, 20, False, False),
        (20, 24, False, False),  # worse
    ],
)
def test_response_is_a_50_percent_drop_and_partial_25_to_49(baseline, score, response, partial):
    assert is_response(baseline, score, DEFS) is response
    assert is_partial_response(baseline, score, DEFS) is partial


@pytest.mark.parametrize(
    "instrument, score, remission",
    [
        ("phq9", 4, True),
        ("phq9", 5, False),
        ("gad7", 4, True),
        ("gad7", 5, False),
        ("pcl5", 32, True),
        ("pcl5", 33, False),
    ],
)
def test_remission_is_below_the_instruments_threshold(instrument, score, remission):
    assert is_remission(instrument, score, DEFS) is remission


@pytest.mark.parametrize(
    "instrument, baseline, eligible",
    [
        ("phq9", 9, False),
        ("phq9", 10, True),
        ("gad7", 9, False),
        ("gad7", 10, True),
        ("pcl5", 32, False),
        ("pcl5", 33, True),
    ],
)
def test_only_a_baseline_at_or_above_the_cut_off_is_eligible(instrument, baseline, eligible):
    assert is_eligible(instrument, point(FIRST_DOSE_DAY, baseline), DEFS) is eligible
    assert is_eligible(instrument, None, DEFS) is False


def test_a_baseline_below_the_cut_off_enters_no_response_or_remission_figure():
    outcome = course_outcome(course(9, 2, 2, 2, 2), DEFS, LONG_AFTER)
    assert outcome.baseline.total == 9 and not outcome.eligible
    assert outcome.response_end is None
    assert outcome.partial_end is None
    assert outcome.reduction_pct_end is None
    assert outcome.remission_end is None
    assert set(outcome.response_at.values()) == {None}
    assert set(outcome.remission_at.values()) == {None}
    assert set(outcome.sustained.values()) == {None}


def test_an_eligible_course_at_the_cut_off():
    outcome = course_outcome(course(10, 4, 3, 5, 4), DEFS, LONG_AFTER)
    assert outcome.eligible
    assert outcome.reduction_pct_end == 60.0
    assert (outcome.response_end, outcome.partial_end, outcome.remission_end) == (True, False, True)
    assert outcome.response_at == {"month_1": True, "month_3": True, "month_6": True}
    assert outcome.remission_at == {"month_1": True, "month_3": False, "month_6": True}


@pytest.mark.parametrize("end, meaningful", [(40, True), (41, False), (20, True), (55, False)])
def test_pcl5_meaningful_change_is_a_drop_of_10_points(end, meaningful):
    outcome = course_outcome(course(50, end, instrument="pcl5"), DEFS, LONG_AFTER)
    assert outcome.meaningful_change_end is meaningful


def test_a_course_below_the_cut_off_has_no_remission_flag_even_when_its_scores_are_low():
    # PHQ-9 4 at baseline and 2 at the end: "remission" would only restate where it started.
    outcome = course_outcome(course(4, 2, 2), DEFS, LONG_AFTER)
    assert outcome.remission_end is None
    assert outcome.remission_at["month_1"] is None


@pytest.mark.parametrize("baseline, end", [(32, 20), (25, 5)])
def test_pcl5_meaningful_change_follows_the_response_eligibility(baseline, end):
    # Below the PCL-5 cut-off (33) the course is in no response figure, and in no change figure either.
    outcome = course_outcome(course(baseline, end, instrument="pcl5"), DEFS, LONG_AFTER)
    assert not outcome.eligible
    assert outcome.response_end is None and outcome.meaningful_change_end is None


def test_meaningful_change_is_reported_for_pcl5_only():
    assert course_outcome(course(25, 5), DEFS, LONG_AFTER).meaningful_change_end is None


def test_the_thresholds_follow_the_clinic_settings():
    defs = Definitions(
        response_reduction_pct=40, partial_reduction_pct=20, remission_below={"phq9": 7}, eligible_from={"phq9": 15}
    )
    assert is_response(20, 12, defs) and not is_response(20, 13, defs)
    assert is_partial_response(20, 16, defs) and not is_partial_response(20, 17, defs)
    assert is_remission("phq9", 6, defs) and not is_remission("phq9", 7, defs)
    assert not course_outcome(course(14, 2), defs, LONG_AFTER).eligible


# --- durability ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scores, sustained_3, sustained_6",
    [
        ((20, 8, 8, 8, 8), True, True),
        ((20, 8, None, None, 8), None, True),  # 3 months not measured: end and 6 months decide
        ((20, 8, 8, 15, 8), False, False),  # lost response at 3 months: not sustained at 6
        ((20, 8, 8, 8, 15), True, False),  # lost at 6 months
        ((20, 15, 8, 8, 8), False, False),  # not a responder at the end
        ((20, None, 8, 8, 8), None, None),  # no end-of-course score: not observable
        ((20, 8, 8, None, None), None, None),
    ],
)
def test_sustained_response(scores, sustained_3, sustained_6):
    outcome = course_outcome(course(*scores), DEFS, LONG_AFTER)
    assert outcome.sustained["month_3"] is sustained_3
    assert outcome.sustained["month_6"] is sustained_6


@given(
    baseline=st.integers(0, 27),
    end=st.none() | st.integers(0, 27),
    month_3=st.none() | st.integers(0, 27),
    month_6=st.none() | st.integers(0, 27),
)
def test_sustained_implies_a_response_at_the_end(baseline, end, month_3, month_6):
    outcome = course_outcome(course(baseline, end, None, month_3, month_6), DEFS, LONG_AFTER)
    for name in ("month_3", "month_6"):
        if outcome.sustained[name]:
            assert outcome.eligible and outcome.response_end and outcome.response_at[name]
    if outcome.sustained["month_6"] and outcome.response_at["month_3"] is not None:
        assert outcome.response_at["month_3"]


# --- intention-to-treat: when a timepoint is due ---------------------------------------------


@pytest.mark.parametrize(
    "as_of_days, due",
    [(7, False), (14, False), (15, True), (100, True)],
)
def test_a_missing_end_of_course_score_is_due_once_its_window_has_closed(as_of_days, due):
    outcome = course_outcome(course(20), DEFS, END_DAY + dt.timedelta(days=as_of_days))
    assert outcome.end is None
    assert outcome.end_due is due
    assert outcome.response_end is None


@pytest.mark.parametrize(
    "follow_up, last_day",
    [("month_1", 37), ("month_3", 111), ("month_6", 210)],
)
def test_a_missing_follow_up_is_due_the_day_after_its_window_closes(follow_up, last_day):
    on_last_day = course_outcome(course(20, 8), DEFS, END_DAY + dt.timedelta(days=last_day))
    day_after = course_outcome(course(20, 8), DEFS, END_DAY + dt.timedelta(days=last_day + 1))
    assert on_last_day.follow_up_due[follow_up] is False
    assert day_after.follow_up_due[follow_up] is True


def test_a_score_makes_its_timepoint_due_before_the_window_closes():
    outcome = course_outcome(course(20, 8, 9), DEFS, END_DAY + dt.timedelta(days=31))
    assert outcome.end_due and outcome.follow_up_due["month_1"]
    assert not outcome.follow_up_due["month_3"]


def test_a_course_still_dosing_is_not_due_anywhere():
    outcome = course_outcome(course(20, end_day=None), DEFS, LONG_AFTER)
    assert outcome.eligible
    assert not outcome.end_due
    assert not any(outcome.follow_up_due.values())


def test_a_discontinued_course_stays_in_intention_to_treat_as_not_responding():
    last_dose = FIRST_DOSE_DAY + dt.timedelta(days=7)
    outcome = course_outcome(course(20, end_day=last_dose, discontinued=True), DEFS, LONG_AFTER)
    assert outcome.eligible and outcome.discontinued
    assert outcome.end_due and all(outcome.follow_up_due.values())
    assert not outcome.response_end
    assert not any(outcome.sustained.values())


def test_a_discontinued_course_is_due_when_its_windows_close_from_its_last_dose():
    # DOMAIN §6: a course discontinued part-way ends on its last dose given (course_end).
    last_dose = FIRST_DOSE_DAY + dt.timedelta(days=10)
    a_week_later = last_dose + dt.timedelta(days=7)
    outcome = course_outcome(course(20, end_day=last_dose, discontinued=True), DEFS, a_week_later)
    assert not outcome.end_due and not any(outcome.follow_up_due.values())  # nothing has closed yet

    after_month_1 = last_dose + dt.timedelta(days=38)
    outcome = course_outcome(course(20, end_day=last_dose, discontinued=True), DEFS, after_month_1)
    assert outcome.end_due and outcome.follow_up_due["month_1"]
    assert not outcome.follow_up_due["month_3"] and not outcome.follow_up_due["month_6"]
    assert outcome.response_end is None and not outcome.sustained["month_1"]


def test_a_discontinued_course_keeps_what_it_scored():
    outcome = course_outcome(course(20, 8, None, None, None, discontinued=True), DEFS, LONG_AFTER)
    assert outcome.response_end is True
    assert outcome.follow_up_due["month_1"] and outcome.sustained["month_3"] is None


# --- maintenance doses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "maintenance_after_end, before",
    [
        (-3, {"month_1": False, "month_3": False, "month_6": False}),  # before the end: no
        (0, {"month_1": False, "month_3": False, "month_6": False}),
        (10, {"month_1": True, "month_3": True, "month_6": True}),
        (30, {"month_1": True, "month_3": True, "month_6": True}),  # on the 1-month score's day
        (45, {"month_1": False, "month_3": True, "month_6": True}),
        (120, {"month_1": False, "month_3": False, "month_6": True}),
    ],
)
def test_maintenance_is_counted_between_the_end_and_the_follow_up(maintenance_after_end, before):
    maintenance = END_DAY + dt.timedelta(days=maintenance_after_end)
    outcome = course_outcome(course(20, 8, 8, 8, 8, maintenance_days=[maintenance]), DEFS, LONG_AFTER)
    assert outcome.maintenance_before == before


def test_maintenance_before_an_unscored_follow_up_counts_up_to_the_window_end():
    maintenance = END_DAY + dt.timedelta(days=200)
    outcome = course_outcome(course(20, 8, maintenance_days=[maintenance]), DEFS, LONG_AFTER)
    assert outcome.maintenance_before == {"month_1": False, "month_3": False, "month_6": True}


def _facts(status, *doses, planned=6):
    return CourseFacts(
        opened_on=dt.date(2025, 12, 1),
        indication=Indication.MDD_TRD,
        status=status,
        planned_dosing_sessions=planned,
        doses=tuple(DoseFact(None, day, given, maintenance) for day, given, maintenance in doses),
    )


def test_a_maintenance_dose_does_not_move_the_end_of_the_acute_series():
    induction = [(FIRST_DOSE_DAY + dt.timedelta(days=d), True, False) for d in (0, 3, 7, 10)]
    facts = _facts(
        CourseStatus.FOLLOW_UP,
        *induction,
        (FIRST_DOSE_DAY + dt.timedelta(days=60), True, True),
        planned=4,
    )
    assert acute_series_end(facts) == FIRST_DOSE_DAY + dt.timedelta(days=10)


def test_the_acute_series_ends_with_every_planned_dose_or_when_the_course_moves_on():
    three = [(FIRST_DOSE_DAY + dt.timedelta(days=d), True, False) for d in (0, 3, 7)]
    assert acute_series_end(_facts(CourseStatus.DOSING, *three, planned=4)) is None
    assert acute_series_end(_facts(CourseStatus.DOSING, *three, planned=3)) == FIRST_DOSE_DAY + dt.timedelta(days=7)
    assert acute_series_end(_facts(CourseStatus.INTEGRATION, *three, planned=6)) == FIRST_DOSE_DAY + dt.timedelta(
        days=7
    )
    booked = (FIRST_DOSE_DAY + dt.timedelta(days=12), False, False)
    assert acute_series_end(_facts(CourseStatus.INTEGRATION, *three, booked)) == FIRST_DOSE_DAY + dt.timedelta(days=7)
    assert acute_series_end(_facts(CourseStatus.DOSING)) is None


# --- time to loss of response --------------------------------------------------------------------


@pytest.mark.parametrize(
    "scores, expected",
    [
        ((20, 8, 8, 8, 8), (180, False)),  # censored at the last follow-up (the 6-month score)
        ((20, 8, 8, 15, 8), (90, True)),  # lost at 3 months: the event
        ((20, 8, 12, 8, 8), (30, True)),
        ((20, 8, None, 8, None), (90, False)),
        ((20, 8, None, None, None), (7, False)),  # no follow-up: censored at the end-of-course score
        ((20, 15, 8, 8, 8), None),  # not a responder at the end
    ],
)
def test_loss_of_response_time_counts_days_from_the_end_of_the_acute_series(scores, expected):
    outcome = course_outcome(course(*scores), DEFS, LONG_AFTER)
    assert loss_of_response_time(outcome, END_DAY) == expected
