"""Counting outcomes into a report's figures: a hand-computed cohort, every numerator and
denominator, the four durability views, the maintenance split, completion, and Kaplan–Meier."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.aggregate import summarise, suppressed
from reports.outcomes import Definitions, course_outcome, loss_of_response_time
from reports.stats import wilson
from tests.reports.support import END_DAY, FIRST_DOSE_DAY, LONG_AFTER, course

DEFS = Definitions()
END = dt.timedelta

# PHQ-9, every timepoint's score on its target day (end of course on day 7). Worked out by hand:
#   A responds throughout, maintenance on day 10       sustained at 3 and 6
#   B responds at the end and 1 month, lost at 3       not sustained at 3 nor 6 (6 responds again)
#   C responds at the end, 3 months not measured,      sustained at 6, not measurable at 3
#     6 months responds, maintenance on day 40
#   D 25% drop: partial, not a responder
#   E no end-of-course score (window long closed)
#   F discontinued part-way through the series: ends on its last dose, no score after it
#   G baseline 9, below the cut-off: not eligible
#   H responds and remits, 6 months not measured
COHORT = {
    "A": course(20, 8, 8, 8, 8, maintenance_days=[END_DAY + END(days=10)]),
    "B": course(20, 8, 8, 15, 8),
    "C": course(20, 8, None, None, 9, maintenance_days=[END_DAY + END(days=40)]),
    "D": course(20, 15, 15, 15, 15),
    "E": course(20),
    "F": course(20, end_day=FIRST_DOSE_DAY + END(days=7), discontinued=True),
    "G": course(9, 2, 2, 2, 2),
    "H": course(24, 3, 3, 3, None),
}


def counts(rate):
    return (rate.numerator, rate.denominator)


@pytest.fixture
def summary():
    outcomes = [course_outcome(s, DEFS, LONG_AFTER) for s in COHORT.values()]
    return summarise("phq9", outcomes, [s.end_day for s in COHORT.values()])


def test_who_is_counted(summary):
    assert summary.n_with_baseline == 8
    assert summary.n_eligible == 7  # all but G


def test_response_partial_and_remission_at_the_end(summary):
    assert counts(summary.response_itt) == (4, 7)  # A B C H of every eligible course
    assert counts(summary.response_oc) == (4, 5)  # of the five with an end-of-course score
    assert counts(summary.partial_oc) == (1, 5)  # D
    assert counts(summary.partial_itt) == (1, 7)  # D, of every eligible course
    assert counts(summary.remission_itt) == (1, 7)  # H
    assert counts(summary.remission_oc) == (1, 5)
    assert summary.meaningful_change_oc is None and summary.meaningful_change_itt is None  # PCL-5 only
    assert summary.response_itt == wilson(4, 7)


def test_completion_per_window(summary):
    assert counts(summary.completion["end"]) == (5, 7)
    assert counts(summary.completion["month_1"]) == (4, 7)  # A B D H
    assert counts(summary.completion["month_3"]) == (4, 7)  # A B D H
    assert counts(summary.completion["month_6"]) == (4, 7)  # A B C D


@pytest.mark.parametrize(
    "follow_up, all_itt, all_oc, responders_itt, responders_oc",
    [
        ("month_1", (3, 7), (3, 4), (3, 4), (3, 3)),  # A B H sustained; observed A B D H
        ("month_3", (2, 7), (2, 4), (2, 4), (2, 3)),  # A H; observed A B D H; responders A B C H
        ("month_6", (2, 7), (2, 4), (2, 4), (2, 3)),  # A C; observed A B C D; responders A B C H
    ],
)
def test_durability_four_ways(summary, follow_up, all_itt, all_oc, responders_itt, responders_oc):
    durability = summary.durability[follow_up]
    assert counts(durability.all_itt) == all_itt
    assert counts(durability.all_oc) == all_oc
    assert counts(durability.responders_itt) == responders_itt
    assert counts(durability.responders_oc) == responders_oc


@pytest.mark.parametrize(
    "follow_up, group, all_itt, all_oc, responders_itt, responders_oc",
    [
        # C's maintenance (day 40) comes after its unscored 1-month window closed (day 37).
        ("month_1", "with", (1, 1), (1, 1), (1, 1), (1, 1)),  # A
        ("month_1", "without", (2, 6), (2, 3), (2, 3), (2, 2)),  # B C D E F H
        ("month_3", "with", (1, 2), (1, 1), (1, 2), (1, 1)),  # A C
        ("month_3", "without", (1, 5), (1, 3), (1, 2), (1, 2)),  # B D E F H
        ("month_6", "with", (2, 2), (2, 2), (2, 2), (2, 2)),  # A C
        ("month_6", "without", (0, 5), (0, 2), (0, 2), (0, 1)),  # B D E F H
    ],
)
def test_durability_split_by_maintenance(summary, follow_up, group, all_itt, all_oc, responders_itt, responders_oc):
    durability = summary.durability_by_maintenance[follow_up][group]
    assert counts(durability.all_itt) == all_itt
    assert counts(durability.all_oc) == all_oc
    assert counts(durability.responders_itt) == responders_itt
    assert counts(durability.responders_oc) == responders_oc


def test_still_responding_is_sustained_response_among_end_of_course_responders(summary):
    # Observed cases: responders scored at that follow-up.
    assert counts(summary.still_responding["month_1"]) == (3, 3)  # A B H scored
    assert counts(summary.still_responding["month_3"]) == (2, 3)  # B had lost it
    # DOMAIN §6: at 6 months a responder lost at 3 months is not sustained, though B responds again.
    assert counts(summary.still_responding["month_6"]) == (2, 3)  # A C of A B C
    # Its intention-to-treat twin: every end-of-course responder (A B C H), a missing score not responding.
    assert counts(summary.still_responding_itt["month_3"]) == (2, 4)  # A H; C not measured
    assert counts(summary.still_responding_itt["month_6"]) == (2, 4)  # A C; H not measured
    for name in ("month_1", "month_3", "month_6"):
        assert summary.still_responding[name] == summary.durability[name].responders_oc
        assert summary.still_responding_itt[name] == summary.durability[name].responders_itt


def test_the_km_curve_is_censored_at_the_first_maintenance_dose():
    # A responds at every follow-up but had a maintenance dose on day 10: censored on day 10, not
    # carried to day 180 as a durable response of the acute course.
    a = COHORT["A"]
    outcome = course_outcome(a, DEFS, LONG_AFTER)
    assert loss_of_response_time(outcome, END_DAY) == (180, False)
    assert loss_of_response_time(outcome, END_DAY, a.maintenance_days) == (10, False)
    # B lost its response at 3 months with no maintenance dose: an event at day 90.
    assert loss_of_response_time(course_outcome(COHORT["B"], DEFS, LONG_AFTER), END_DAY, ()) == (90, True)
    outcomes = [course_outcome(s, DEFS, LONG_AFTER) for s in COHORT.values()]
    summary = summarise(
        "phq9", outcomes, [s.end_day for s in COHORT.values()], [s.maintenance_days for s in COHORT.values()]
    )
    censored_at = {step.time for step in summary.km if step.censored}
    assert 10 in censored_at and 40 in censored_at  # A and C, at their maintenance doses


def test_means_by_timepoint(summary):
    assert summary.baseline.n == 7 and summary.baseline.mean == pytest.approx(144 / 7)
    assert (summary.end.n, summary.end.mean) == (5, pytest.approx(8.4))
    assert (summary.means["month_1"].n, summary.means["month_1"].mean) == (4, pytest.approx(8.5))
    assert summary.means["month_3"].mean == pytest.approx(10.25)
    assert summary.means["month_6"].mean == pytest.approx(10.0)
    assert summary.means["baseline"] is summary.baseline


def test_kaplan_meier_of_loss_of_response(summary):
    # Responders A (censored 180), B (lost at 90), C (censored 180), H (censored 90).
    steps = [(s.time, s.at_risk, s.events, s.censored, round(s.survival, 4)) for s in summary.km]
    assert steps == [(0, 4, 0, 0, 1.0), (90, 4, 1, 1, 0.75), (180, 2, 0, 2, 0.75)]


def test_intention_to_treat_waits_for_windows_to_close():
    # Ten days after the end: two courses have their end-of-course scores, the third's window
    # is still open.
    as_of = END_DAY + END(days=10)
    series = [course(20, 8), course(20, 8), course(20)]
    result = summarise("phq9", [course_outcome(s, DEFS, as_of) for s in series], [END_DAY] * 3)
    assert counts(result.response_itt) == (2, 2)
    assert counts(result.completion["end"]) == (2, 2)
    assert counts(result.durability["month_1"].all_itt) == (0, 0)
    # Both responders censored at their end-of-course score, day 7.
    assert [(k.time, k.at_risk, k.censored) for k in result.km] == [(0, 2, 0), (7, 2, 2)]


def test_pcl5_meaningful_change_among_those_with_an_end_score():
    series = [course(50, 40, instrument="pcl5"), course(50, 41, instrument="pcl5"), course(50, instrument="pcl5")]
    result = summarise("pcl5", [course_outcome(s, DEFS, LONG_AFTER) for s in series], [END_DAY] * 3)
    assert counts(result.meaningful_change_oc) == (1, 2)


def test_an_empty_cohort():
    result = summarise("gad7", [], [])
    assert result.n_eligible == 0
    assert counts(result.response_itt) == (0, 0) and result.response_itt.pct is None
    assert result.km == []


@pytest.mark.parametrize(
    "numerator, denominator, hidden",
    [
        (0, 11, False),
        (11, 11, False),
        (10, 11, True),
        (1, 40, True),
        (0, 10, True),
        (12, 30, False),
        (38, 40, True),  # 2 non-responders would be 40 - 38 away
        (29, 40, False),
        (0, 0, False),  # nobody: no cell to hide
    ],
)
def test_small_cells_are_suppressed(numerator, denominator, hidden):
    assert suppressed(wilson(numerator, denominator), 11) is hidden
    # The clinic's own view (threshold 0) hides nothing.
    assert suppressed(wilson(numerator, denominator), 0) is False


timepoint_score = st.none() | st.integers(0, 27)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 27),
            timepoint_score,
            timepoint_score,
            timepoint_score,
            timepoint_score,
            st.booleans(),
            st.booleans(),
        ),
        max_size=25,
    ),
    st.integers(0, 260),
)
def test_itt_denominators_are_never_smaller_than_observed_ones(rows, days_after_end):
    series = [
        course(b, e, m1, m3, m6, discontinued=stopped, end_day=None if stopped and ended else END_DAY)
        for b, e, m1, m3, m6, stopped, ended in rows
    ]
    as_of = END_DAY + END(days=days_after_end)
    result = summarise("phq9", [course_outcome(s, DEFS, as_of) for s in series], [s.end_day for s in series])
    assert result.response_itt.denominator >= result.response_oc.denominator
    assert result.response_itt.numerator == result.response_oc.numerator
    assert result.response_itt.denominator <= result.n_eligible
    for durability in result.durability.values():
        assert durability.all_itt.denominator >= durability.all_oc.denominator
        assert durability.responders_itt.denominator >= durability.responders_oc.denominator
        assert durability.all_itt.numerator == durability.all_oc.numerator
        assert durability.all_itt.numerator <= durability.responders_itt.denominator
    for name, split in result.durability_by_maintenance.items():
        assert split["with"].all_itt.denominator + split["without"].all_itt.denominator == (
            result.durability[name].all_itt.denominator
        )


@pytest.mark.parametrize(
    "counts, hidden",
    [
        ([20, 15], set()),  # nothing small
        ([20, 5], {0, 1}),  # one small group: the other is hidden too, or 5 = total - 20
        ([20, 30, 5], {0, 2}),  # the smallest other group goes with it
        ([3, 4, 30], {0, 1, 2}),  # two small groups still sum to a small cell: the rest goes too
        ([5, 8, 40], {0, 1}),  # two small groups summing to 13 protect each other
        ([3, 4, 30, 40], {0, 1, 2}),
        ([5], {0}),  # alone: nothing else to hide
        ([0, 12, 20], set()),  # an empty group is no small cell
        ([10, 11], {0, 1}),  # 10 is below the threshold of 11
    ],
)
def test_groups_to_hide(counts, hidden):
    from reports.aggregate import groups_to_hide

    assert groups_to_hide(counts, 11) == hidden
