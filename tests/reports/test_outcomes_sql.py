"""PostgreSQL picks each course's scores and counts the report's figures (reports/outcomes_sql.py)
exactly as the pure definitions do (reports/outcomes.py over reports/cohort.py, counted by
reports/aggregate.py): on random practices every course row, every outcome field and every count
equal, by both SQL paths (the CSV's, where Python counts, and the page's, where the database
counts); and the whole report built each way equal.

The practices are made to hit the edges: scores on the first dose's day before and after the
dose, at the same moment as the dose, near midnight in the clinic's zone, several at one moment,
in overlapping follow-up windows (the windows are drawn too); doses not given, voided, in voided
sessions, maintenance doses; every course status; stalled courses.
"""

import datetime as dt
import uuid
from dataclasses import replace

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from courses.choices import CourseStatus, Indication, Route
from devtools import bulk
from measures.instruments import INSTRUMENTS
from measures.models import Administration, AdministrationStatus, Response, ResponseSource, Timepoint
from reports import outcomes_sql
from reports import report as practice_report
from reports.aggregate import km_observations, outcome_counts
from reports.cohort import ReportFilters, load_cohort
from reports.outcomes import Definitions

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the SQL outcome path runs on PostgreSQL only"
)

START = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
REPORTED = ("phq9", "gad7", "pcl5")

dose_st = st.fixed_dictionaries(
    {
        "day": st.integers(0, 30) | st.integers(0, 70),
        "half_hour": st.integers(0, 47),
        "maintenance": st.booleans(),
        "given": st.booleans() | st.just(True),
        "voided": st.sampled_from([False] * 6 + [True]),
        "session_voided": st.sampled_from([False] * 6 + [True]),
        "route": st.sampled_from(list(Route.values)),
    }
)
score_st = st.fixed_dictionaries(
    {
        "instrument": st.sampled_from(REPORTED),
        # Mostly around the doses, where the baseline and end windows crowd; some far out.
        "day": st.integers(-12, 40) | st.integers(-45, 300),
        "half_hour": st.integers(0, 47),
        "fraction": st.floats(0, 1),
        "complete": st.sampled_from([True] * 8 + [False]),
    }
)
course_st = st.fixed_dictionaries(
    {
        "status": st.sampled_from(list(CourseStatus.values)),
        "indication": st.sampled_from([Indication.MDD_TRD, Indication.PTSD]),
        "planned": st.integers(1, 6),
        "opened_day": st.integers(-30, 0),
        "doses": st.lists(dose_st, max_size=7),
        "scores": st.lists(score_st, max_size=16),
        "follow_up_stopped": st.booleans(),
    }
)
defs_st = st.builds(
    lambda baseline, first, last, tolerances, pct: Definitions(
        baseline_days=baseline,
        end_first_day=first,
        end_last_day=first + last,
        follow_ups=(("month_1", 30, tolerances[0]), ("month_3", 90, tolerances[1]), ("month_6", 180, tolerances[2])),
        response_reduction_pct=pct,
    ),
    st.integers(1, 45),
    st.integers(0, 3),
    st.integers(0, 20),
    st.tuples(st.integers(0, 40), st.integers(0, 70), st.integers(0, 90)),
    st.sampled_from([40, 50]),
)
filters_st = st.sampled_from(
    [
        ReportFilters(),
        ReportFilters(indication=Indication.PTSD),
        ReportFilters(route=Route.IV),
        ReportFilters(age_band="45–64"),
        ReportFilters(start_from=dt.date(2024, 12, 20)),
    ]
)

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def at(day: int, half_hour: int) -> dt.datetime:
    # Half-hour steps across the whole UTC day: some fall on the other side of midnight in the
    # clinic's zone, and a score and a dose can share a moment.
    return START + dt.timedelta(days=day, minutes=30 * half_hour - 9 * 60)


def build(staff: dict, courses: list[dict]) -> None:
    patients, course_rows, links, sessions, doses = [], [], [], [], []
    admins, responses = [], []
    for i, spec in enumerate(courses):
        opened = START + dt.timedelta(days=spec["opened_day"])
        # Only a discontinued course can have its questionnaires stopped, and with a reason.
        stopped = spec["follow_up_stopped"] and spec["status"] == CourseStatus.DISCONTINUED
        patient = bulk.patient_row("prop", i, created_at=opened)
        course = bulk.course_row(
            patient,
            provider=staff["provider"],
            created_by=staff["lead"],
            status=spec["status"],
            at=opened + dt.timedelta(minutes=i),  # distinct created_at: the rows' order is defined
            indication=spec["indication"],
            planned_dosing_sessions=spec["planned"],
            follow_up_stopped_at=opened if stopped else None,
            follow_up_stopped_reason="Synthetic: declined further questionnaires." if stopped else "",
            discontinued_reason=("Synthetic: stopped part-way." if spec["status"] == CourseStatus.DISCONTINUED else ""),
        )
        patients.append(patient)
        course_rows.append(course)
        links.append((course, staff["therapist"]))
        for d in spec["doses"]:
            when = at(d["day"], d["half_hour"])
            session, dose = bulk.dose_rows(
                course,
                provider=staff["provider"],
                start=when,
                dosed_at=when if d["given"] else None,
                created_at=when,
                route=d["route"],
            )
            dose.is_maintenance = d["maintenance"]
            for record, voided in ((dose, d["voided"]), (session, d["session_voided"])):
                if voided:
                    record.voided_at, record.voided_by = when, staff["provider"]
                    record.void_reason = "Synthetic: entered in error."
            sessions.append(session)
            doses.append(dose)
        for s in spec["scores"]:
            when = at(s["day"], s["half_hour"])
            administration = Administration(
                id=uuid.uuid4(),
                course=course,
                instrument=s["instrument"],
                timepoint=Timepoint.AD_HOC,
                target_date=when.date(),
                open_from=when.date(),
                due_by=when.date(),
                missed_after=when.date(),
                status=AdministrationStatus.COMPLETED if s["complete"] else AdministrationStatus.OPEN,
                created_at=when,
            )
            admins.append(administration)
            total = round(s["fraction"] * INSTRUMENTS[s["instrument"]].max_total)
            responses.append(
                Response(
                    administration=administration,
                    course=course,
                    patient=patient,
                    instrument=s["instrument"],
                    answers={},
                    complete=s["complete"],
                    total=total if s["complete"] else None,
                    scoring_version="1",
                    source=ResponseSource.SELF_REPORT,
                    answered_at=when,
                )
            )
    bulk.insert(
        patients=patients,
        courses=course_rows,
        links=links,
        sessions=sessions,
        facilitator=staff["therapist"],
        doses=doses,
    )
    Administration.objects.bulk_create(admins)
    Response.objects.bulk_create(responses)


def without_series(row) -> dict:
    return {k: v for k, v in row.__dict__.items() if k != "series"}


@pytest.fixture
def staff(db):
    return bulk.staff("prop")


@PROPERTY
@given(
    courses=st.lists(course_st, min_size=1, max_size=4),
    defs=defs_st,
    as_of_day=st.integers(0, 400),
    stall_after=st.integers(7, 60),
    filters=filters_st,
)
def test_the_database_picks_the_same_scores_as_the_definitions(staff, courses, defs, as_of_day, stall_after, filters):
    as_of = timezone.localdate(START) + dt.timedelta(days=as_of_day)
    with transaction.atomic():
        build(staff, courses)
        pure = practice_report.outcomes_for(
            load_cohort(filters, as_of=as_of, stall_after_days=stall_after), defs, as_of
        )
        sql = outcomes_sql.scored_cohort(filters, as_of=as_of, stall_after_days=stall_after, defs=defs)
        assert [without_series(row) for row, _ in sql] == [without_series(row) for row, _ in pure]
        for (row, by_sql), (_row, by_python) in zip(sql, pure, strict=True):
            for instrument in REPORTED:
                assert by_sql[instrument] == by_python[instrument], (row.key, instrument)
                # The series the outcome was worked out on: the same course facts, only the scores left out.
                assert row.series[instrument] == replace(_row.series[instrument], scores=())
        # The counting path behind the page, the API and the PDF: the same counts, Kaplan–Meier
        # observations, equity split and course flow as the pure definitions counted in Python.
        rows = outcomes_sql.cohort_rows(filters, as_of=as_of, stall_after_days=stall_after)
        assert [without_series(r) | {"scored_after_end": False} for r in rows] == [
            without_series(r) | {"scored_after_end": False} for r, _ in pure
        ]
        counted = outcomes_sql.practice_figures(rows, defs, as_of=as_of)
        end_days = [r.end_day for r, _ in pure]
        maintenance = [r.maintenance_days for r, _ in pure]
        for instrument in REPORTED:
            outcomes = [o[instrument] for _r, o in pure]
            assert counted.counts[instrument] == outcome_counts(outcomes), instrument
            assert sorted(counted.km[instrument]) == sorted(km_observations(outcomes, end_days, maintenance))
            assert counted.equity[instrument] == practice_report.equity_counts(instrument, pure)
        assert counted.discontinued_with_follow_up == sum(1 for r, _ in pure if r.scored_after_end)
        transaction.set_rollback(True)


@pytest.mark.parametrize("with_rows", [False, True])
def test_the_whole_report_is_the_same_both_ways(staff, monkeypatch, with_rows):
    """A practice of every kind of course (the measure_report loader), the report built on the
    SQL path and on the pure path: every figure equal."""
    from devtools.management.commands.measure_report import load_synthetic

    load_synthetic(40, staff=staff, now=START + dt.timedelta(days=300))
    now = START + dt.timedelta(days=320)
    by_sql = practice_report.build_practice_report(ReportFilters(), now=now, with_rows=with_rows)
    monkeypatch.setattr(outcomes_sql, "supported", lambda: False)
    by_python = practice_report.build_practice_report(ReportFilters(), now=now, with_rows=with_rows)
    assert by_sql.n_courses == by_python.n_courses == 40
    assert by_sql.summaries == by_python.summaries
    assert by_sql.equity == by_python.equity
    assert by_sql.course_flow == by_python.course_flow
    assert by_sql.safety == by_python.safety
    assert by_sql.waived_baselines == by_python.waived_baselines
    assert by_sql.n_patients_dosed == by_python.n_patients_dosed
    assert [o for _r, o in by_sql.rows] == [o for _r, o in by_python.rows]
    assert len(by_sql.rows) == (40 if with_rows else 0)
    # The practice had figures to compare: responders, follow-ups, and courses that ended.
    assert by_sql.summaries["phq9"].response_itt.numerator > 0
    assert by_sql.summaries["phq9"].durability["month_3"].all_itt.denominator > 0
    assert by_sql.course_flow.ended > 0
