"""Small cells in a file to share outside the clinic: the pure rules the PDF prints through."""

from dataclasses import replace

import pytest

from reports.charts import km_chart, km_steps_shown, means_chart, rate_chart
from reports.presentation import parts_shown, shown
from reports.stats import KMStep, Mean, wilson
from reports.templatetags.report_format import plural_cell


@pytest.mark.parametrize(
    "counts, cell, expected",
    [
        ([20, 15, 0, 12], 11, ["20", "15", "0", "12"]),
        ([20, 15, 3, 12], 11, ["20", "15", "< 11", "suppressed"]),  # 3 alone: the smallest other goes too
        ([20, 15, 3, 2], 11, ["20", "suppressed", "< 11", "< 11"]),  # 3 + 2 is still small
        ([20, 15, 5, 6], 11, ["20", "15", "< 11", "< 11"]),  # 5 + 6: enough together
        ([20, 3], 11, ["suppressed", "< 11"]),
        ([1, 0, 0], 3, ["< 3", "0", "0"]),  # nothing else to hide: the total is hidden with it
        ([20, 3], 0, ["20", "3"]),  # inside the clinic
    ],
)
def test_parts_of_a_whole(counts, cell, expected):
    assert parts_shown(counts, cell) == expected


@pytest.mark.parametrize(
    "count, cell, text", [(0, 11, "0"), (1, 11, "< 11"), (10, 11, "< 11"), (11, 11, "11"), (1, 0, "1")]
)
def test_a_bare_count(count, cell, text):
    assert shown(count, cell) == text


@pytest.mark.parametrize("count, cell, s", [(1, 0, ""), (2, 0, "s"), (1, 3, "s"), (0, 3, "s"), (3, 3, "s")])
def test_a_hidden_count_reads_plural(count, cell, s):
    assert plural_cell(count, cell) == s


STEPS = [
    KMStep(time=0, at_risk=12, events=0, censored=0, survival=1.0),
    KMStep(time=30, at_risk=12, events=2, censored=1, survival=10 / 12),
    KMStep(time=90, at_risk=9, events=3, censored=0, survival=10 / 12 * 6 / 9),
]


def test_the_km_curve_stops_where_too_few_are_at_risk():
    assert km_steps_shown(STEPS, 0) == STEPS
    assert km_steps_shown(STEPS, 11) == STEPS[:2]
    inside, outside = km_chart(STEPS, x_max=180), km_chart(STEPS, x_max=180, threshold=11)
    assert len(outside.path) < len(inside.path)
    # 9 at risk from day 31 to 90: "< 11" on the row under the axis; 12 before, 0 after the last step.
    assert {a.n for a in outside.at_risk} == {12, None, 0}
    assert {a.n for a in inside.at_risk} == {12, 9, 0}
    assert all(c.count == 0 for c in outside.censors)  # 1 censored: no count printed
    assert [c.count for c in inside.censors] == [1]


def test_a_small_rate_keeps_no_counts_in_the_chart():
    chart = rate_chart({"a": wilson(3, 12), "b": wilson(12, 12)}, {"a": "A", "b": "B"}, threshold=11)
    a, b = chart.bars
    assert a.hidden and a.rate.denominator == 0 and a.height == 0 and a.count_label == "suppressed (< 11)"
    assert not b.hidden and b.count_label == "12/12"


def test_a_hidden_mean_is_not_drawn_and_keeps_no_n():
    means = {"baseline": Mean(12, 20.0, 2.0, 18.7, 21.3), "end": Mean(11, 9.0, 3.0, 7.0, 11.0)}
    chart = means_chart(means, {"baseline": "Baseline", "end": "End"}, 27, hidden=frozenset({"end"}))
    baseline, end = chart.points
    assert (baseline.hidden, baseline.n, baseline.mean) == (False, 12, 20.0)
    assert (end.hidden, end.n, end.mean, end.y) == (True, 0, None, None)


# --- rates beside each other: no small cell by subtraction ---------------------------------------


def _summary(**changes):
    from reports.aggregate import summarise

    return replace(summarise("phq9", [], []), **changes)


def test_an_oc_rate_whose_itt_twin_gives_the_unscored_is_hidden():
    from reports.aggregate import HIDDEN, Durability, shareable_summary

    summary = _summary(
        remission_oc=wilson(0, 11),  # 11 scored ...
        remission_itt=wilson(0, 12),  # ... of 12 due: 1 without a score
        response_oc=wilson(0, 30),
        response_itt=wilson(0, 40),  # 10 without a score, also a small cell at 11
        partial_oc=wilson(0, 40),
        partial_itt=wilson(0, 40),
        durability={"month_3": Durability(wilson(20, 40), wilson(18, 30), wilson(20, 40), wilson(18, 30))},
        durability_by_maintenance={
            "month_3": {
                "with": Durability(wilson(4, 5), wilson(4, 5), wilson(4, 5), wilson(4, 5)),
                "without": Durability(wilson(16, 35), wilson(14, 25), wilson(16, 35), wilson(14, 25)),
            }
        },
        still_responding={},
        still_responding_itt={},
    )
    shared = shareable_summary(summary, 11)
    assert shared.remission_oc is HIDDEN and shared.remission_itt == wilson(0, 12)
    assert shared.response_oc is HIDDEN
    assert shared.partial_oc == wilson(0, 40)  # nobody unscored: nothing to give away
    assert shared.durability["month_3"].all_oc is HIDDEN  # 40 due, 30 scored: 10
    # "With" is small, so "without" goes too: the whole is printed above them.
    split = shared.durability_by_maintenance["month_3"]
    assert {split["with"].all_itt, split["without"].all_itt} == {HIDDEN}
    assert shared.still_responding["month_3"] is shared.durability["month_3"].responders_oc
    assert shareable_summary(summary, 0) is summary  # inside the clinic: as it is


def test_the_course_flow_sentence_and_the_title_follow_the_table():
    from types import SimpleNamespace

    from reports.presentation import course_flow_note, dosed_shown

    flow = SimpleNamespace(
        series_complete=18,
        discontinued=12,
        stalled=3,
        running=15,
        never_dosed=12,
        stall_after_days=28,
        discontinued_with_follow_up=11,
        discontinued_follow_up_stopped=0,
    )
    report = SimpleNamespace(course_flow=flow, n_patients_dosed=48, n_courses=60)
    # Stalled 3 is hidden, and with it the smallest other part (discontinued 12 or never dosed 12).
    note = course_flow_note(report, 11)
    assert note["discontinued"] in ("12", "suppressed")
    assert note["with_follow_up"] == "suppressed"  # 11 of 12 tells that 1 has no score
    assert note["stopped"] == ("0" if note["discontinued"] == "12" else "suppressed")
    inside = course_flow_note(report, 0)
    assert inside == {"discontinued": "12", "with_follow_up": "11", "stopped": "0"}
    # Outside, courses dosed (the table's total less its no-dose row), never the patients beside it.
    assert dosed_shown(report, 11) == "48 courses"
    assert dosed_shown(report, 0) == "48 patients"
    flow.stalled, flow.never_dosed = 20, 4
    assert dosed_shown(report, 11) == "suppressed"  # with the no-dose row hidden, 4 = 60 - 56


# --- a section is shared whole or not at all ---------------------------------------------------


def test_a_section_with_a_small_group_anywhere_is_withheld_whole():
    from reports.aggregate import section_cells, section_shareable

    nobody = _summary()
    assert section_shareable(nobody, dosed=0, waived=0, threshold=11)
    assert set(section_cells(nobody, dosed=0, waived=0)) == {0}
    # 20 eligible, 15 due at the end: 5 not yet due is had by subtraction.
    not_due = _summary(n_with_baseline=20, n_eligible=20, response_itt=wilson(0, 15))
    assert not section_shareable(not_due, dosed=20, waived=0, threshold=11)
    assert section_shareable(not_due, dosed=20, waived=0, threshold=5)  # at 5, nothing under it
    # The title's courses dosed, less those with a baseline and those waived: 3 with neither.
    assert 3 in section_cells(_summary(n_with_baseline=20), dosed=23, waived=0)


def test_equity_groups_hide_until_no_count_they_print_is_small_together():
    from reports.aggregate import groups_to_hide

    # (courses, eligible, responders): the third group's 2 responders would be the headline less the others.
    groups = [(30, 30, 12), (25, 25, 12), (15, 15, 2)]
    assert groups_to_hide(groups, 11) == {1, 2}  # with the next smallest, 14 responders hidden together
    assert groups_to_hide([(30, 30, 12), (25, 25, 12)], 11) == set()


def test_a_shared_file_filtered_on_a_group_the_practice_hides_is_refused():
    from reports.cohort import ReportFilters
    from reports.render import ExportRefused, _refuse_a_hidden_group

    with pytest.raises(ExportRefused, match="Remove that filter"):
        _refuse_a_hidden_group(ReportFilters(sex="female"), {"sex": {"female", "intersex"}})
    _refuse_a_hidden_group(ReportFilters(sex="male"), {"sex": {"female", "intersex"}})  # shown: allowed


def test_the_safety_section_is_shared_only_when_no_count_of_it_is_small():
    from reports.aggregate import safety_shareable

    safety = {
        "dosing_sessions": 400,
        "events_total": 60,
        "events_outside_sessions": 0,
        "serious": [{}] * 11,
        "by_term": [("Nausea", 30, 7.5), ("Dissociation", 30, 7.5)],
        "by_grade": [(1, 49, 0), (2, 11, 0), (3, 0, 0), (4, 0, 0), (5, 0, 0)],
        "holds": 24,
        "overrides": 12,
        "overridden_doses": 12,
        "discharge_exceptions": 0,
        "left_before_discharge": 0,
        "alerts": {"high_bp": 15},
        "in_session_alerts": {"opened": 15, "open": 0, "by_action": {"rechecked": 15}},
    }
    assert safety_shareable(safety, 11)
    assert not safety_shareable(safety | {"overridden_doses": 10}, 11)  # 10 doses after an override
    assert not safety_shareable(safety | {"overrides": 15}, 11)  # 15 - 12: 3 overrides on a dose already overridden
    assert safety_shareable(safety | {"overridden_doses": 10}, 0)
