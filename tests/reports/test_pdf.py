"""The PDFs: the practice report's export rules, and the per-patient progress report."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from courses import services as course_services
from reports.cohort import ReportFilters
from reports.models import ReportExport
from reports.pdf import patient_report_context, render_patient_pdf, render_practice_pdf
from reports.report import build_practice_report
from tests.reports.db_builders import Cast
from tests.reports.web_support import pdf_text, small_cohort, text_of

SCRIPT = "<script>alert(1)</script> & “quoted”"


@pytest.fixture
def cohort(therapist, provider, clock):
    return small_cohort(Cast(therapist=therapist, provider=provider))


def test_the_practice_pdf_hides_small_cells_and_prints_the_definitions(cohort, tmp_path):
    text = pdf_text(render_practice_pdf(build_practice_report(ReportFilters())), tmp_path)
    assert "Contents" in text and "Appendix: Definitions in force" in text
    equity = text.split("Equity: the headline figures by group")[-1].split("Safety")[0]
    # Every group here is under 11 courses, so each is hidden whole.
    assert "suppressed*" in equity
    assert "66.7%" not in equity  # the 2/3 response of the whole cohort is a small cell here
    words = " ".join(text.split())  # as read, whatever the line breaks of the table cell
    # The definitions row (its label may wrap in the table's narrow first column).
    assert "no count of 1 to 10 patients, courses or events is shown" in words
    assert "Definitions differ." in text
    assert "synthetic" not in text.lower()  # printed only when the clinic's name says so
    pages = text.count("\f")  # pdftotext ends every page with a form feed
    assert f"Page {pages} of {pages}" in text


def test_the_progress_report_names_the_patient_and_lists_doses_and_events(
    client, therapist, provider, cohort, django_capture_on_commit_callbacks, tmp_path
):
    course = cohort["ptsd_responder"]
    dose = course.doses.order_by("dosed_at").first()
    course_services.adverse_event_add(
        dose=dose,
        by=provider,
        term="nausea",
        grade=1,
        relatedness="possible",
        expectedness="expected",
        onset_at=dose.dosed_at + dt.timedelta(minutes=20),
        now=dose.dosed_at + dt.timedelta(minutes=30),
        description=SCRIPT,
    )
    client.force_login(therapist)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("course-progress-report", args=[course.pk]))
    export = ReportExport.objects.get()
    assert response["Location"] == reverse("report-export", args=[export.pk])
    download = client.get(reverse("report-export-download", args=[export.pk]))
    assert download["Content-Type"] == "application/pdf" and download.content.startswith(b"%PDF")

    text = pdf_text(download.content, tmp_path)
    patient = course.patient
    assert patient.display_name in text and patient.mrn in text and patient.date_of_birth.isoformat() in text
    assert "Patient Health Questionnaire (PHQ-9)" in text and "Baseline" in text
    assert "Racemic ketamine" in text and "Intravenous" in text and "0.50" in text  # 35 mg at 70 kg
    assert "Nausea" in text and SCRIPT in " ".join(text.split())  # free text printed literally
    assert "Page 1 of" in text


def test_free_text_is_escaped_in_the_progress_reports_html(cohort, provider):
    from django.template.loader import render_to_string

    course = cohort["mdd"]
    dose = course.doses.first()
    course_services.adverse_event_add(
        dose=dose,
        by=provider,
        term="nausea",
        grade=1,
        relatedness="possible",
        expectedness="expected",
        onset_at=dose.dosed_at,
        now=dose.dosed_at + dt.timedelta(minutes=5),
        description=SCRIPT,
    )
    html = render_to_string("reports/pdf/patient.html", patient_report_context(course, now=dose.dosed_at))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; “quoted”" in html


def test_a_clinician_off_the_caseload_cannot_ask_for_the_progress_report(client, other_therapist, cohort):
    client.force_login(other_therapist)
    response = client.post(reverse("course-progress-report", args=[cohort["mdd"].pk]))
    assert response.status_code == 404 and not ReportExport.objects.exists()


def test_a_course_without_scores_or_doses_still_makes_a_report(course, tmp_path):
    text = pdf_text(render_patient_pdf(course), tmp_path)
    assert "No completed questionnaires yet." in text and "No doses planned or given." in text


def _serious_events(cohort, provider, count: int) -> list:
    """`count` serious events on the cohort's doses, one a dose, in the order of their onsets."""
    from courses.models import Dose

    doses = list(Dose.objects.filter(course__in=cohort.values(), dosed_at__isnull=False).order_by("dosed_at"))
    assert len(doses) >= count
    return [
        course_services.adverse_event_add(
            dose=dose,
            by=provider,
            term=("nausea", "dizziness", "headache")[i % 3],
            grade=3 + i % 2,
            serious=True,
            serious_criteria=["hospitalisation"],
            relatedness="possible",
            expectedness="expected",
            onset_at=dose.dosed_at + dt.timedelta(minutes=20),
            now=dose.dosed_at + dt.timedelta(minutes=30),
        )
        for i, dose in enumerate(doses[:count])
    ]


def test_the_pdf_lists_the_most_recent_serious_events_and_says_where_the_rest_are(cohort, provider, tmp_path):
    from reports.models import Audience
    from reports.presentation import SERIOUS_LISTED

    events = _serious_events(cohort, provider, SERIOUS_LISTED + 3)
    report = build_practice_report(ReportFilters())
    assert len(report.safety["serious"]) == SERIOUS_LISTED + 3
    text = pdf_text(render_practice_pdf(report, Audience.INSIDE), tmp_path)
    safety = " ".join(text.split())  # as read, whatever the line breaks
    # The body lists the bound, each row with its criteria, and says how many more and where.
    assert safety.count("Hospitalisation or its prolongation") == SERIOUS_LISTED
    assert f"The {SERIOUS_LISTED} most recent serious adverse events, of {SERIOUS_LISTED + 3}" in safety
    assert "3 earlier serious adverse events not listed here." in safety
    assert f"The complete list of {SERIOUS_LISTED + 3}, with these columns, is in the CSV" in safety
    assert "“Serious events and Kaplan–Meier steps”" in safety
    # The counts cover every event, not just those listed: 13 events, grades 3 and 4 alternating.
    assert "Grade 3 7 7/13, 53.8%" in safety and "Grade 4 6 6/13, 46.2%" in safety
    assert "Nausea 5 5/13, 38.5%" in safety
    # The most recent first: the first row listed is the last onset's month.
    latest = max(e.onset_at for e in events)
    listed = safety.split(f"The {SERIOUS_LISTED} most recent serious adverse events, of {SERIOUS_LISTED + 3}")[1]
    assert re.search(r"[A-Z][a-z]{2} \d{4}", listed).group() == timezone.localtime(latest).strftime("%b %Y")


def test_the_kaplan_meier_table_is_read_at_the_charts_days_and_points_to_the_steps(cohort, tmp_path):
    from django.template.loader import render_to_string

    from reports.charts import km_tick_days
    from reports.models import Audience
    from reports.presentation import instrument_sections, report_context

    report = build_practice_report(ReportFilters())
    section = next(s for s in instrument_sections(report) if s.km_chart)
    steps = report.summaries[section.code].km
    assert [m.day for m in section.km_table] == km_tick_days(section.km_chart.x_max)
    assert section.km_table[0].at_risk == steps[0].at_risk
    # The table and its note sit beside the chart, where pdftotext interleaves the two columns'
    # lines: they are read from the HTML the PDF is laid out from, and its text checked for the rest.
    html = text_of(render_to_string("reports/pdf/practice.html", report_context(report, export=True)).encode())
    assert f"{section.name}: time to loss of response, read at the days under the chart" in html
    assert (
        f"The curve has {len(steps)} steps, one per day on which a response was lost or a course censored: every step"
        in html
    )
    assert (
        "(day, at risk, lost response, censored, still responding) is in the CSV "
        "“Serious events and Kaplan–Meier steps”" in html
    )
    assert "the curve's data" not in html  # the step-by-step table is on screen only
    text = pdf_text(render_practice_pdf(report, Audience.INSIDE), tmp_path)
    assert "time to loss of response, read at the" in text and "the curve's data" not in text


def test_no_section_of_the_pdf_grows_with_the_serious_events(cohort, provider, tmp_path):
    from reports.models import Audience
    from reports.presentation import SERIOUS_LISTED

    _serious_events(cohort, provider, SERIOUS_LISTED)
    at_the_bound = pdf_text(render_practice_pdf(build_practice_report(ReportFilters()), Audience.INSIDE), tmp_path)
    _serious_events(cohort, provider, 6)  # on the same doses again: more events, no more rows
    past_it = pdf_text(render_practice_pdf(build_practice_report(ReportFilters()), Audience.INSIDE), tmp_path)
    assert at_the_bound.count("Hospitalisation or its prolongation") == SERIOUS_LISTED
    assert past_it.count("Hospitalisation or its prolongation") == SERIOUS_LISTED
    assert "not listed here" not in at_the_bound and "6 earlier serious adverse events not listed here" in past_it
    assert past_it.count("\f") == at_the_bound.count("\f")  # the same pages


@pytest.mark.parametrize(
    "moment, printed",
    [
        (dt.datetime(2026, 11, 1, 5, 55, tzinfo=dt.UTC), "2026-11-01 01:55 EDT"),
        # The clocks go back at 06:00 UTC: the same local hour again, which Django's "T" left blank.
        (dt.datetime(2026, 11, 1, 6, 5, tzinfo=dt.UTC), "2026-11-01 01:05 EST"),
        (dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC), "2026-03-10 11:00 EDT"),
        (None, ""),
    ],
)
def test_a_files_time_is_printed_with_the_zone_that_tells_the_two_hours_apart(moment, printed):
    from reports.templatetags.report_format import clock

    assert clock(moment) == printed
