"""The practice report from the database: a bounded number of queries, the definitions in force,
intention-to-treat as of the report's day, the equity split and the patients counted."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from courses.choices import CourseStatus, Indication, Sex
from measures.models import MeasureSettings
from reports.cohort import ReportFilters, course_key
from reports.models import OutcomeSettings
from reports.report import EQUITY_DIMENSIONS, build_practice_report, filter_labels
from tests.reports.db_builders import Cast, Plan, build_course, local
from tests.support import NOW


@pytest.fixture
def cast(therapist, provider, clock):
    return Cast(therapist=therapist, provider=provider)


def plan(n: int, **kwargs) -> Plan:
    """Two doses (days 7 and 9), PHQ-9 20 at baseline, 8 at the end (day 12), 9 at +1 month."""
    values = {
        "dose_days": (7, 9),
        "scores": {5: {"phq9": 20, "gad7": 12}, 12: {"phq9": 8}, 39: {"phq9": 9}},
        "maintenance_days": (30,),
        "indication": [Indication.PTSD, Indication.MDD_TRD, Indication.ANXIETY][n % 3],
        "sex": [Sex.FEMALE, Sex.MALE][n % 2],
    }
    values["opened_on"] = dt.date(2025, 9, 1) + dt.timedelta(days=n)
    values.update(kwargs)
    return Plan(**values)


def queries_for_report(with_rows: bool = True) -> int:
    with CaptureQueriesContext(connection) as context:
        build_practice_report(ReportFilters(), with_rows=with_rows)
    return len(context.captured_queries)


# On PostgreSQL each of the outcome statements runs in its own transaction with a larger sort
# memory (a savepoint here, SET LOCAL, the statement, the release): four queries for one.
@pytest.mark.parametrize("with_rows", [True, False])
def test_the_report_runs_the_same_queries_for_3_or_12_courses(cast, with_rows):
    for n in range(3):
        build_course(cast, plan(n))
    OutcomeSettings.load()  # created on first use: not one of the report's queries
    MeasureSettings.load()
    few = queries_for_report(with_rows)
    for n in range(3, 12):
        build_course(cast, plan(n))
    assert queries_for_report(with_rows) == few
    assert few <= (18 if connection.vendor == "postgresql" else 13)


def test_the_report_counts_the_cohort(cast):
    for n in range(3):
        build_course(cast, plan(n))
    report = build_practice_report(ReportFilters())
    assert report.n_courses == 3
    assert report.as_of == dt.date(2026, 3, 10)
    phq9 = report.summaries["phq9"]
    assert phq9.n_eligible == 3
    assert (phq9.response_oc.numerator, phq9.response_oc.denominator) == (3, 3)
    assert (phq9.still_responding["month_1"].numerator, phq9.still_responding["month_1"].denominator) == (3, 3)
    # The maintenance dose on day 30 came between the end (day 9) and the +1 month score (day 39).
    month_1 = phq9.durability_by_maintenance["month_1"]
    assert (month_1["with"].all_oc.numerator, month_1["with"].all_oc.denominator) == (3, 3)
    assert month_1["without"].all_oc.denominator == 0
    # GAD-7 12 at baseline, never measured after: eligible, every window long closed.
    gad7 = report.summaries["gad7"]
    assert (gad7.response_itt.numerator, gad7.response_itt.denominator) == (0, 3)
    assert gad7.response_oc.denominator == 0
    assert report.summaries["pcl5"].n_with_baseline == 0
    assert report.safety["dosing_sessions"] == 9  # two induction doses and a maintenance dose each
    assert len(report.rows) == 3


def test_the_report_counts_patients_not_courses(cast, therapist):
    first = build_course(cast, plan(0, discontinue_on=10, maintenance_days=(), scores={5: {"phq9": 20}}))
    build_course(cast, plan(1, patient=first.patient, opened_on=dt.date(2025, 10, 20)))
    build_course(cast, plan(2))
    report = build_practice_report(ReportFilters())
    assert report.n_courses == 3
    assert report.n_patients_dosed == 2


def test_intention_to_treat_is_as_of_the_reports_day(cast):
    # Last dose on 2026-02-10 (day 9): the end-of-course window runs to 2026-02-24.
    build_course(cast, plan(0, opened_on=dt.date(2026, 2, 1), scores={5: {"phq9": 20}}, maintenance_days=()))

    def response_itt(day):
        return build_practice_report(ReportFilters(), now=local(day, 12)).summaries["phq9"].response_itt.denominator

    assert response_itt(dt.date(2026, 2, 24)) == 0
    assert response_itt(dt.date(2026, 2, 25)) == 1


def test_the_definitions_in_force_are_the_clinics(cast):
    build_course(cast, plan(0))
    OutcomeSettings.objects.filter(id=OutcomeSettings.load().id).update(phq9_eligible_from=21)
    report = build_practice_report(ReportFilters())
    assert report.definitions.eligible_from["phq9"] == 21
    assert report.summaries["phq9"].n_eligible == 0
    assert report.summaries["phq9"].n_with_baseline == 1


def test_equity_rows_split_the_whole_cohort(cast):
    for n in range(5):
        build_course(cast, plan(n))
    report = build_practice_report(ReportFilters(indication=""))
    rows = report.equity["phq9"]
    for dimension, _title in EQUITY_DIMENSIONS:
        mine = [r for r in rows if r.dimension == dimension]
        assert sum(r.n_courses for r in mine) == 5, dimension
        assert sum(r.response.denominator for r in mine) == report.summaries["phq9"].response_itt.denominator
    by_sex = {r.group: r.n_courses for r in rows if r.dimension == "sex"}
    assert by_sex == {Sex.FEMALE: 3, Sex.MALE: 2}


def test_filter_labels(other_therapist, db):
    assert filter_labels(ReportFilters()) == [("Filters", "none: every course")]
    labels = dict(
        filter_labels(
            ReportFilters(
                start_from=dt.date(2025, 1, 1),
                indication=Indication.PTSD,
                age_band="65+",
                therapist_id=other_therapist.pk,
            )
        )
    )
    assert labels["Course start"] == "2025-01-01 to …"
    assert labels["Indication"] == "PTSD"
    assert labels["Age band"] == "65+"
    assert labels["Therapist"] == str(other_therapist)


def test_a_discontinued_course_stays_in_the_report_as_not_responding(cast):
    build_course(cast, plan(0))
    build_course(
        cast, plan(1, dose_days=(7,), planned=4, discontinue_on=8, scores={5: {"phq9": 22}}, maintenance_days=())
    )
    report = build_practice_report(ReportFilters(), now=NOW)
    phq9 = report.summaries["phq9"]
    assert (phq9.response_itt.numerator, phq9.response_itt.denominator) == (1, 2)
    assert (phq9.response_oc.numerator, phq9.response_oc.denominator) == (1, 1)
    assert report.rows[1][0].status == CourseStatus.DISCONTINUED or report.rows[0][0].status == (
        CourseStatus.DISCONTINUED
    )


def test_a_waived_baseline_is_counted_not_hidden(cast, client, lead):
    # The plan answers PHQ-9 and GAD-7 at baseline; its PCL-5 baseline is waived before the first dose.
    build_course(cast, plan(0))
    report = build_practice_report(ReportFilters())
    assert report.waived_baselines == {"phq9": 0, "gad7": 0, "pcl5": 1}
    client.force_login(lead)
    page = client.get("/reports/outcomes/").content.decode()
    assert "Baseline waived by a clinician (no baseline, no response figures)</dt><dd>1</dd>" in page
    body = client.get("/api/reports/outcomes/").json()
    assert body["instruments"]["pcl5"]["n_baseline_waived"] == 1


def test_no_ended_course_leaves_the_itt_figures_and_each_is_counted_where_it_stands(cast):
    """DOMAIN §6: a course that stalls or is discontinued part-way ends on its last dose; its score
    a week later is its end-of-course score; running and never-dosed courses are counted, not lost."""
    a_week_after_the_last_dose = {5: {"phq9": 20}, 16: {"phq9": 9}}
    build_course(cast, plan(0))
    part_way = {"planned": 6, "maintenance_days": (), "scores": a_week_after_the_last_dose}
    stalled = build_course(cast, plan(1, move_on=False, **part_way))
    build_course(cast, plan(2, discontinue_on=12, **part_way))
    build_course(
        cast,
        plan(3, opened_on=NOW.date() - dt.timedelta(days=12), dose_days=(7,), planned=6, move_on=False, scores={}),
    )
    build_course(cast, plan(4, dose_days=(), maintenance_days=(), scores={}))
    report = build_practice_report(ReportFilters())
    flow = report.course_flow
    assert (flow.series_complete, flow.discontinued, flow.stalled, flow.running, flow.never_dosed) == (1, 1, 1, 1, 1)
    assert flow.discontinued_with_follow_up == 1 and flow.discontinued_follow_up_stopped == 0
    assert [c.key for c in flow.stalled_courses] == [course_key(stalled.pk)]
    assert flow.stalled_courses[0].days_without_dose == (NOW.date() - dt.date(2025, 9, 11)).days
    phq9 = report.summaries["phq9"]
    # The three that ended, each a responder on its score after its last dose; not the running one.
    assert (phq9.response_itt.numerator, phq9.response_itt.denominator) == (3, 3)
    assert (phq9.response_oc.numerator, phq9.response_oc.denominator) == (3, 3)
