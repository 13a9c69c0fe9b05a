"""The PDFs: the practice report's export rules, and the per-patient progress report."""

import datetime as dt

import pytest
from django.urls import reverse

from courses import services as course_services
from reports.cohort import ReportFilters
from reports.models import ReportExport
from reports.pdf import patient_report_context, render_patient_pdf, render_practice_pdf
from reports.report import build_practice_report
from tests.reports.db_builders import Cast
from tests.reports.web_support import pdf_text, small_cohort

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
