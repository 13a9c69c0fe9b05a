"""measures.schedule.plan as tables of cases: which administrations a course should have, and when."""

import dataclasses
from datetime import date, timedelta

import pytest

from courses.choices import CourseStatus, Indication
from measures.models import default_instruments_by_timepoint
from measures.schedule import CourseFacts, DoseFact, EndReason, ScheduleRules, acute_series_end, course_end, plan

RULES = ScheduleRules(instruments_by_timepoint=default_instruments_by_timepoint())
OPENED = date(2026, 1, 5)
BOTH = ["gad7", "phq9"]
ALL = ["gad7", "pcl5", "phq9"]


def day(n: int) -> date:
    return OPENED + timedelta(days=n)


def dose(n: int, pid=None, *, given=True, maintenance=False) -> DoseFact:
    return DoseFact(dose_id=pid or f"p{n}", session_date=day(n), given=given, maintenance=maintenance)


def facts(*doses, status=CourseStatus.DOSING, indication=Indication.MDD_TRD, planned=6, pcl5=None) -> CourseFacts:
    return CourseFacts(
        opened_on=OPENED,
        indication=indication,
        status=status,
        planned_dosing_sessions=planned,
        doses=tuple(doses),
        baseline_pcl5_total=pcl5,
    )


def slots(result, timepoint, dose=None):
    return sorted(
        (s for s in result if s.timepoint == timepoint and (dose is None or s.dose_id == dose)),
        key=lambda s: s.instrument,
    )


def windows(result, timepoint):
    found = {(s.open_from, s.due_by, s.missed_after, s.target) for s in slots(result, timepoint)}
    assert len(found) == 1, found
    return found.pop()


# --- baseline ---------------------------------------------------------------------------------


def test_baseline_without_a_dose_opens_at_the_course_start_for_30_days():
    result = plan(facts(status=CourseStatus.EVALUATION), RULES)
    assert {s.timepoint for s in result} == {"baseline"}
    assert [s.instrument for s in slots(result, "baseline")] == ALL
    assert windows(result, "baseline") == (OPENED, day(7), day(30), OPENED)


def test_baseline_closes_on_the_day_of_the_first_dose():
    result = plan(facts(dose(10, given=False), status=CourseStatus.PREPARATION), RULES)
    assert windows(result, "baseline") == (OPENED, day(7), day(10), OPENED)


def test_baseline_due_by_never_passes_the_first_dose():
    result = plan(facts(dose(3, given=False), status=CourseStatus.PREPARATION), RULES)
    assert windows(result, "baseline") == (OPENED, day(3), day(3), OPENED)


def test_baseline_of_a_course_opened_long_before_the_first_dose_opens_30_days_before_it():
    result = plan(facts(dose(50, given=False), status=CourseStatus.PREPARATION), RULES)
    assert windows(result, "baseline") == (day(20), day(27), day(50), day(20))


def test_baseline_window_exactly_30_days_before_the_first_dose():
    result = plan(facts(dose(30, given=False), status=CourseStatus.PREPARATION), RULES)
    assert windows(result, "baseline")[:3] == (OPENED, day(7), day(30))


def test_maintenance_dose_does_not_count_as_first_dose():
    # Only induction doses set the baseline window.
    result = plan(facts(dose(40, maintenance=True), dose(45, given=False), status=CourseStatus.DOSING), RULES)
    assert windows(result, "baseline")[2] == day(45)


# --- before each dose -------------------------------------------------------------------------


def test_pre_dose_slot_per_dose_phq9_and_gad7_only():
    result = plan(facts(dose(10), dose(17), dose(24, given=False)), RULES)
    pre = slots(result, "pre_dose")
    assert sorted((s.dose_id, s.instrument) for s in pre) == [(p, i) for p in ("p10", "p17", "p24") for i in BOTH]
    p17 = slots(result, "pre_dose", "p17")[0]
    # Opens 3 days before, due and last on the day of the dose.
    assert (p17.open_from, p17.due_by, p17.missed_after, p17.target) == (day(14), day(17), day(17), day(17))


def test_pre_dose_within_7_days_of_baseline_is_covered_by_the_baseline():
    result = plan(facts(dose(4), dose(11)), RULES)
    assert slots(result, "pre_dose", "p4") == []
    assert len(slots(result, "pre_dose", "p11")) == 2


def test_two_doses_3_days_apart_get_one_pre_dose_slot():
    result = plan(facts(dose(10), dose(13), dose(17), dose(20)), RULES)
    assert sorted({s.dose_id for s in slots(result, "pre_dose")}) == ["p10", "p17"]


@pytest.mark.parametrize("gap, second_gets_slot", [(6, False), (7, True), (8, True)])
def test_pre_dose_spacing_is_at_least_7_days(gap, second_gets_slot):
    result = plan(facts(dose(10), dose(10 + gap)), RULES)
    assert bool(slots(result, "pre_dose", f"p{10 + gap}")) is second_gets_slot


def test_spacing_counts_from_the_last_slot_not_the_last_dose():
    # 10 (slot), 14 (skipped), 18 (8 days after the slot at 10: slot).
    result = plan(facts(dose(10), dose(14), dose(18)), RULES)
    assert sorted({s.dose_id for s in slots(result, "pre_dose")}) == ["p10", "p18"]


def test_pre_dose_pcl5_only_when_configured():
    rules = ScheduleRules(instruments_by_timepoint={**default_instruments_by_timepoint(), "pre_dose": ["pcl5"]})
    result = plan(facts(dose(10), indication=Indication.PTSD), rules)
    assert [s.instrument for s in slots(result, "pre_dose")] == ["pcl5"]
    assert slots(plan(facts(dose(10)), rules), "pre_dose") == []  # not PTSD, no baseline PCL-5 at cut-off


# --- end of the acute series ------------------------------------------------------------------


def test_no_series_end_while_dosing_with_doses_still_planned():
    result = plan(facts(dose(10), dose(17), planned=4), RULES)
    assert slots(result, "end_of_course") == [] and slots(result, "month_1") == []


def test_series_end_when_every_planned_dose_is_given():
    f = facts(dose(10), dose(17), dose(24), dose(31), planned=4)
    assert acute_series_end(f) == day(31)
    assert windows(plan(f, RULES), "end_of_course") == (day(32), day(38), day(45), day(38))


def test_planned_but_not_given_doses_do_not_end_the_series():
    f = facts(dose(10), dose(17), dose(24), dose(31, given=False), planned=4)
    assert acute_series_end(f) is None


@pytest.mark.parametrize(
    "status",
    [CourseStatus.INTEGRATION, CourseStatus.FOLLOW_UP, CourseStatus.COMPLETED],
)
def test_series_end_when_past_dosing_even_with_fewer_doses(status):
    f = facts(dose(10), dose(17), status=status, planned=6)
    assert acute_series_end(f) == day(17)
    assert windows(plan(f, RULES), "end_of_course")[:3] == (day(18), day(24), day(31))


@pytest.mark.parametrize("status", [CourseStatus.EVALUATION, CourseStatus.PREPARATION, CourseStatus.DOSING])
def test_no_series_end_before_dosing_is_over(status):
    assert acute_series_end(facts(dose(10), status=status)) is None


def test_past_dosing_without_any_induction_dose_has_no_series_end():
    assert acute_series_end(facts(status=CourseStatus.INTEGRATION)) is None
    assert acute_series_end(facts(dose(10, maintenance=True), status=CourseStatus.FOLLOW_UP)) is None


def test_maintenance_doses_do_not_move_the_end_of_the_acute_series():
    induction = [dose(10), dose(17), dose(24), dose(31)]
    before = plan(facts(*induction, status=CourseStatus.FOLLOW_UP, planned=4), RULES)
    after = plan(facts(*induction, dose(80, maintenance=True), status=CourseStatus.FOLLOW_UP, planned=4), RULES)
    for timepoint in ("end_of_course", "month_1", "month_3", "month_6"):
        assert windows(before, timepoint) == windows(after, timepoint)
    # ... but a maintenance dose still gets its own pre-dose questionnaires.
    assert len(slots(after, "pre_dose", "p80")) == 2


def test_end_of_course_window_is_days_1_to_14_after_the_last_induction_dose():
    f = facts(dose(10), dose(17), status=CourseStatus.INTEGRATION)
    opens, due, last, target = windows(plan(f, RULES), "end_of_course")
    assert (opens - day(17)).days == 1 and (last - day(17)).days == 14
    assert opens <= target <= last and due == target


@pytest.mark.parametrize(
    "timepoint, target_day, tolerance",
    [("month_1", 30, 7), ("month_3", 90, 21), ("month_6", 180, 30)],
)
def test_follow_up_windows_include_both_ends(timepoint, target_day, tolerance):
    end = day(17)
    f = facts(dose(10), dose(17), status=CourseStatus.FOLLOW_UP, indication=Indication.PTSD)
    result = plan(f, RULES)
    assert [s.instrument for s in slots(result, timepoint)] == ALL
    opens, due, last, target = windows(result, timepoint)
    assert target == due == end + timedelta(days=target_day)
    assert opens == end + timedelta(days=target_day - tolerance)
    assert last == end + timedelta(days=target_day + tolerance)


def test_custom_rules_move_the_windows():
    rules = ScheduleRules(
        instruments_by_timepoint=default_instruments_by_timepoint(),
        end_of_course_first_day=0,
        end_of_course_last_day=3,
        month_1_day=28,
        month_1_tolerance=0,
    )
    result = plan(facts(dose(10), status=CourseStatus.INTEGRATION), rules)
    assert windows(result, "end_of_course") == (day(10), day(13), day(13), day(13))
    assert windows(result, "month_1") == (day(38), day(38), day(38), day(38))


# --- PCL-5 after baseline ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "indication, baseline_pcl5, follows",
    [
        (Indication.PTSD, None, True),
        (Indication.PTSD, 10, True),
        (Indication.MDD_TRD, None, False),
        (Indication.MDD_TRD, 32, False),
        (Indication.MDD_TRD, 33, True),
        (Indication.ANXIETY, 80, True),
    ],
)
def test_pcl5_after_baseline_only_for_ptsd_or_baseline_at_cutoff(indication, baseline_pcl5, follows):
    f = facts(dose(10), dose(17), status=CourseStatus.FOLLOW_UP, indication=indication, pcl5=baseline_pcl5)
    result = plan(f, RULES)
    assert "pcl5" in {s.instrument for s in slots(result, "baseline")}
    for timepoint in ("end_of_course", "month_1", "month_3", "month_6"):
        assert ("pcl5" in {s.instrument for s in slots(result, timepoint)}) is follows


def test_pcl5_cutoff_is_the_rules_cutoff():
    rules = ScheduleRules(instruments_by_timepoint=default_instruments_by_timepoint(), pcl5_cutoff=31)
    f = facts(dose(10), status=CourseStatus.FOLLOW_UP, pcl5=31)
    assert "pcl5" in {s.instrument for s in slots(plan(f, rules), "month_1")}


# --- the whole plan ---------------------------------------------------------------------------


def test_a_discontinued_course_keeps_its_follow_ups_from_its_last_dose():
    # DOMAIN §6: discontinued part-way, it ends on its last dose given; ITT needs its follow-ups.
    result = plan(facts(dose(10), dose(17), status=CourseStatus.DISCONTINUED), RULES)
    assert {s.timepoint for s in result} == {"end_of_course", "month_1", "month_3", "month_6"}
    assert {s.target for s in result if s.timepoint == "month_1"} == {day(17) + timedelta(days=30)}


def test_a_discontinued_course_whose_follow_up_was_stopped_has_an_empty_plan():
    f = facts(dose(10), dose(17), status=CourseStatus.DISCONTINUED)
    assert plan(dataclasses.replace(f, follow_up_stopped=True), RULES) == []


def test_a_discontinued_course_never_dosed_has_an_empty_plan():
    assert plan(facts(dose(10, given=False), status=CourseStatus.DISCONTINUED), RULES) == []


@pytest.mark.parametrize(
    "status, days_since_last_dose, planned, expected",
    [
        (CourseStatus.DOSING, 28, 6, None),  # the limit itself: not yet stalled
        (CourseStatus.DOSING, 29, 6, EndReason.STALLED),
        (CourseStatus.PREPARATION, 40, 6, EndReason.STALLED),
        (CourseStatus.DOSING, 40, 2, EndReason.SERIES),  # every planned dose given: ended, not stalled
        (CourseStatus.INTEGRATION, 2, 6, EndReason.SERIES),  # moved on past dosing
        (CourseStatus.DISCONTINUED, 2, 6, EndReason.DISCONTINUED),
        (CourseStatus.DISCONTINUED, 2, 2, EndReason.SERIES),
    ],
)
def test_course_end_says_when_and_why_the_course_ended(status, days_since_last_dose, planned, expected):
    f = dataclasses.replace(
        facts(dose(10), dose(17), status=status),
        planned_dosing_sessions=planned,
        as_of=day(17) + timedelta(days=days_since_last_dose),
    )
    end = course_end(f, stall_after_days=28)
    assert (end.why if end else None) == expected
    if end:
        assert end.day == day(17)  # the last induction dose, whatever the reason


def test_a_stalled_course_gets_its_follow_ups_and_loses_them_when_it_doses_again():
    f = dataclasses.replace(facts(dose(10), dose(17), status=CourseStatus.DOSING), as_of=day(17 + 35))
    assert {s.timepoint for s in plan(f, RULES)} >= {"month_1", "month_3", "month_6"}
    resumed = dataclasses.replace(f, doses=(*f.doses, dose(17 + 34)))
    assert not {s.timepoint for s in plan(resumed, RULES)} & {"end_of_course", "month_1", "month_3", "month_6"}


def test_a_full_course_plan():
    f = facts(dose(10), dose(13), dose(17), dose(20), dose(24), dose(27), status=CourseStatus.INTEGRATION)
    result = plan(f, RULES)
    counts = {}
    for s in result:
        counts[s.timepoint] = counts.get(s.timepoint, 0) + 1
    # Baseline 3; pre-dose on days 10, 17, 24 (13, 20, 27 too close); PCL-5 not after baseline.
    assert counts == {"baseline": 3, "pre_dose": 6, "end_of_course": 2, "month_1": 2, "month_3": 2, "month_6": 2}
    assert len({s.key for s in result}) == len(result)
    for s in result:
        assert s.open_from <= s.due_by <= s.missed_after and s.open_from <= s.target <= s.missed_after


def test_instruments_per_timepoint_come_from_the_rules():
    rules = ScheduleRules(instruments_by_timepoint={"baseline": ["phq9"], "month_3": ["gad7"]})
    result = plan(facts(dose(10), status=CourseStatus.FOLLOW_UP), rules)
    assert sorted((s.timepoint, s.instrument) for s in result) == [("baseline", "phq9"), ("month_3", "gad7")]
