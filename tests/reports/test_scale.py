"""The report and its API hold at practice scale: the same number of queries for 3 courses and 15.

Courses are bulk-loaded by the measure_report command's loader (doses, maintenance, scores at
every timepoint, vitals and adverse events), so every query the report makes has rows to find.
"""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from courses.models import ClinicSettings, Patient
from devtools.management.commands.measure_report import load_synthetic
from measures.models import MeasureSettings
from reports.cohort import ReportFilters
from reports.csv_export import render_practice_csv
from reports.models import ExportKind, OutcomeSettings, ReportExport
from reports.report import build_practice_report
from tests.support import NOW


@pytest.fixture
def staff(db):
    # The settings rows exist in a running clinic; made here, their first read does not count.
    OutcomeSettings.load()
    ClinicSettings.load()
    MeasureSettings.load()
    return load_synthetic(3, now=NOW)


def queries_of(action) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


def grow(staff) -> None:
    load_synthetic(12, staff=staff, first=3, now=NOW)
    assert Patient.objects.count() == 15


def test_the_report_runs_the_same_queries_for_3_and_15_courses(staff):
    small = queries_of(lambda: build_practice_report(ReportFilters(), now=NOW))
    grow(staff)
    report = None

    def build():
        nonlocal report
        report = build_practice_report(ReportFilters(), now=NOW)

    assert queries_of(build) == small
    assert report.n_courses == 15
    assert report.safety["dosing_sessions"] > 15  # doses, vitals and events were there to be read
    assert queries_of(lambda: render_practice_csv(report)) == 0


def test_a_filtered_report_too(staff):
    filters = ReportFilters(indication="mdd_trd", therapist_id=staff["therapist"].pk, age_band="45–64")
    small = queries_of(lambda: build_practice_report(filters, now=NOW))
    grow(staff)
    assert queries_of(lambda: build_practice_report(filters, now=NOW)) == small


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_report_api_is_bounded(staff):
    client = api(staff["lead"])
    small = queries_of(lambda: client.get("/api/reports/outcomes/"))
    grow(staff)
    response = None

    def get():
        nonlocal response
        response = client.get("/api/reports/outcomes/")

    assert queries_of(get) == small
    assert response.json()["n_courses"] == 15


def test_the_export_list_is_bounded(staff):
    def ask(n):
        for _ in range(n):
            ReportExport.objects.create(kind=ExportKind.PRACTICE_CSV, requested_by=staff["lead"], requested_at=NOW)

    client = api(staff["lead"])
    ask(2)
    small = queries_of(lambda: client.get("/api/reports/exports/"))
    ask(10)
    assert queries_of(lambda: client.get("/api/reports/exports/")) == small
    assert client.get("/api/reports/exports/").json()["count"] == 12


def test_measure_report_refuses_a_database_with_patients(staff):
    with pytest.raises(CommandError, match="empty database"):
        call_command("measure_report", "--courses", "2")


def test_measure_report_loads_and_prints_its_timings(db):
    out = io.StringIO()
    call_command("measure_report", "--courses", "20", stdout=out)
    text = out.getvalue()
    assert "loaded 20 courses" in text
    for step in (
        "build_practice_report (all)",
        "render_practice_csv",
        "render_practice_pdf",
        "GET /api/reports/outcomes/",
    ):
        assert step in text
    assert "status 200" in text
    assert Patient.objects.filter(family_name__startswith="Patient-").count() == 20
