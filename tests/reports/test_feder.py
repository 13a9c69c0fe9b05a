"""A cohort built to match Feder 2025's counts must print Feder 2025's figures.

Feder et al., J Clin Psychiatry 86(2), 2025: 13 completers with PTSD, 9 responders at the end of
the acute course (69.2%), 8 still responding at 6 months (61.5% of all completers, 8 of the 9
responders). Here on PCL-5, every baseline at or above 33, every timepoint measured: observed
cases and intention-to-treat agree. Built twice: from plain series, and through the database
with the real services and the practice report.
"""

import datetime as dt

import pytest

from reports.aggregate import summarise
from reports.cohort import ReportFilters
from reports.outcomes import Definitions, course_outcome
from reports.report import build_practice_report
from tests.reports.db_builders import DOSE_DAYS, Cast, Plan, build_course
from tests.reports.support import END_DAY, LONG_AFTER, course

# (baseline, end of course, +1 month, +3 months, +6 months), PCL-5 totals.
DURABLE = [(50, 20, 21, 22, 24), (45, 18, 19, 20, 22), (60, 24, 25, 27, 29), (38, 15, 16, 17, 18)]
DURABLE += [(41, 16, 17, 18, 20), (55, 22, 23, 25, 26), (47, 19, 20, 21, 23), (52, 21, 22, 23, 25)]
LOST = [(48, 22, 24, 30, 34)]  # responds at the end, no longer at 3 months (37.5%)
NON_RESPONDERS = [(44, 35, 37, 40, 40), (36, 29, 31, 32, 32), (58, 46, 49, 52, 52), (40, 32, 34, 36, 36)]
FEDER = DURABLE + LOST + NON_RESPONDERS


def pct(rate) -> str:
    return f"{rate.pct:.1f}%"


def counts(rate):
    return (rate.numerator, rate.denominator)


def assert_feder_figures(summary):
    assert summary.n_eligible == 13
    for response in (summary.response_oc, summary.response_itt):
        assert counts(response) == (9, 13)
        assert pct(response) == "69.2%"
    for follow_up in ("month_3", "month_6"):
        durability = summary.durability[follow_up]
        for share_of_all in (durability.all_oc, durability.all_itt):
            assert counts(share_of_all) == (8, 13)
            assert pct(share_of_all) == "61.5%"
        for share_of_responders in (durability.responders_oc, durability.responders_itt):
            assert counts(share_of_responders) == (8, 9)
            assert pct(share_of_responders) == "88.9%"
    assert counts(summary.still_responding["month_6"]) == (8, 9)
    for timepoint in ("end", "month_1", "month_3", "month_6"):
        assert counts(summary.completion[timepoint]) == (13, 13)
    # Kaplan–Meier: one loss of response at 3 months among the 9 responders, 8 censored at 6.
    assert [(s.time, s.at_risk, s.events, s.censored) for s in summary.km] == [
        (0, 9, 0, 0),
        (90, 9, 1, 0),
        (180, 8, 0, 8),
    ]
    assert summary.km[-1].survival == pytest.approx(8 / 9)


def test_feder_counts_from_plain_series():
    defs = Definitions()
    series = [course(*scores, instrument="pcl5") for scores in FEDER]
    summary = summarise("pcl5", [course_outcome(s, defs, LONG_AFTER) for s in series], [END_DAY] * len(series))
    assert_feder_figures(summary)


@pytest.fixture
def feder_practice(therapist, provider, clock):
    cast = Cast(therapist=therapist, provider=provider)
    last_dose = DOSE_DAYS[-1]
    for n, (baseline, end, month_1, month_3, month_6) in enumerate(FEDER):
        build_course(
            cast,
            Plan(
                opened_on=dt.date(2025, 6, 2) + dt.timedelta(days=n),
                scores={
                    5: {"pcl5": baseline},
                    last_dose + 3: {"pcl5": end},
                    last_dose + 30: {"pcl5": month_1},
                    last_dose + 90: {"pcl5": month_3},
                    last_dose + 180: {"pcl5": month_6},
                },
            ),
        )


def test_feder_counts_through_the_database_and_the_practice_report(feder_practice):
    report = build_practice_report(ReportFilters())
    assert report.n_courses == 13
    summary = report.summaries["pcl5"]
    assert_feder_figures(summary)
    assert summary.baseline.mean == pytest.approx(sum(row[0] for row in FEDER) / 13)
    # The same numbers as the plain series give, but for the days: there the end-of-course
    # score sits on day 7 after the last dose, here on day 3.
    plain = summarise(
        "pcl5",
        [course_outcome(course(*scores, instrument="pcl5"), Definitions(), LONG_AFTER) for scores in FEDER],
        [END_DAY] * 13,
    )
    assert summary.durability == plain.durability
    assert summary.durability_by_maintenance == plain.durability_by_maintenance
    for timepoint, mean in plain.means.items():
        assert (summary.means[timepoint].n, summary.means[timepoint].mean) == (mean.n, pytest.approx(mean.mean))
        assert summary.means[timepoint].sd == pytest.approx(mean.sd)
    assert summary.km == plain.km
