"""Exports through the web: request, follow the progress page, download; audited; others refused."""

import pytest
from django.urls import reverse

from courses.models import AuditAction, AuditEvent
from reports.models import ExportStatus, ReportExport
from tests.reports.db_builders import Cast
from tests.reports.web_support import pdf_text, small_cohort, text_of


@pytest.fixture
def cohort(therapist, provider, clock):
    return small_cohort(Cast(therapist=therapist, provider=provider))


def request_export(client, django_capture_on_commit_callbacks, kind, **filters):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("outcome-report-export"), {"kind": kind, **filters})
    assert response.status_code == 302
    return ReportExport.objects.get(), response["Location"]


def test_the_lead_downloads_the_practice_pdf(client, lead, cohort, django_capture_on_commit_callbacks, tmp_path):
    client.force_login(lead)
    export, location = request_export(
        client, django_capture_on_commit_callbacks, "practice_pdf", indication="ptsd", audience="inside"
    )
    assert location == reverse("report-export", args=[export.pk])
    assert export.filters == {"indication": "ptsd"}
    page = client.get(location).content.decode()
    assert "Ready" in page and 'http-equiv="refresh"' not in page
    download = client.get(reverse("report-export-download", args=[export.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == f"attachment; filename*=UTF-8''{export.filename}"
    assert download.content.startswith(b"%PDF")
    trail = AuditEvent.objects.filter(actor=lead, action=AuditAction.EXPORT, record_id=str(export.pk))
    assert sorted(trail.values_list("detail", flat=True)) == [
        "downloaded practice_pdf, audience inside",
        "requested practice_pdf, audience inside",
    ]

    text = pdf_text(download.content, tmp_path)
    assert "KAP outcome report" in text and "Page 1 of" in text
    assert "Indication" in text and "PTSD" in text
    assert "1/2, 50.0%" in text  # the PTSD courses' PHQ-9 response, as on screen
    assert "Inside the clinic" in text
    for course in cohort.values():
        patient = course.patient
        for identifier in (patient.family_name, patient.given_name, patient.mrn, str(course.pk), str(patient.pk)):
            assert identifier not in text
        assert patient.date_of_birth.isoformat() not in text


def test_the_csv_is_requested_the_same_way(client, lead, cohort, django_capture_on_commit_callbacks):
    client.force_login(lead)
    export, _ = request_export(client, django_capture_on_commit_callbacks, "practice_csv", audience="inside")
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE and export.content_type.startswith("text/csv")


def test_a_queued_export_refreshes_its_page_every_two_seconds(client, lead):
    client.force_login(lead)
    response = client.post(reverse("outcome-report-export"), {"kind": "practice_pdf"})  # no commit: stays queued
    page = client.get(response["Location"]).content.decode()
    assert '<meta http-equiv="refresh" content="2">' in page
    assert "Queued" in page and "<progress" in page
    not_ready = client.get(reverse("report-export-download", args=[ReportExport.objects.get().pk]))
    assert not_ready.status_code == 302
    assert "not ready" in client.get(not_ready["Location"]).content.decode()


def test_a_failed_export_shows_its_error(client, lead):
    client.force_login(lead)
    client.post(reverse("outcome-report-export"), {"kind": "practice_pdf"})
    export = ReportExport.objects.get()
    ReportExport.objects.filter(pk=export.pk).update(status=ExportStatus.FAILED, error="OSError: disk full")
    page = text_of(client.get(reverse("report-export", args=[export.pk])).content)
    assert "The export failed. OSError: disk full" in page


def test_a_bad_filter_in_the_export_request_is_refused(client, lead):
    client.force_login(lead)
    response = client.post(
        reverse("outcome-report-export"), {"kind": "practice_pdf", "start_from": "2025-07-01", "start_to": "2025-01-01"}
    )
    assert response.status_code == 400 and not ReportExport.objects.exists()


def test_the_lists_csv_with_the_outside_audience_is_refused_on_the_page(client, lead):
    # The page's audience radio starts at "outside": a hurried click on "Download lists CSV" is told
    # why on the report page, and no file is queued.
    client.force_login(lead)
    response = client.post(reverse("outcome-report-export"), {"kind": "practice_lists", "audience": "outside"})
    assert response.status_code == 400 and not ReportExport.objects.exists()
    page = text_of(response.content)
    assert "Not exported: The complete lists of serious adverse events and Kaplan–Meier steps are for inside" in page


def test_a_therapist_cannot_export_the_practice_report(client, therapist):
    client.force_login(therapist)
    assert client.post(reverse("outcome-report-export"), {"kind": "practice_pdf"}).status_code == 403
    assert not ReportExport.objects.exists()


def test_someone_elses_export_is_refused(client, lead, other_therapist):
    client.force_login(lead)
    client.post(reverse("outcome-report-export"), {"kind": "practice_pdf"})
    export = ReportExport.objects.get()
    client.force_login(other_therapist)
    assert client.get(reverse("report-export", args=[export.pk])).status_code == 404
    assert client.get(reverse("report-export-download", args=[export.pk])).status_code == 404
    assert "No exports yet." in client.get(reverse("report-exports")).content.decode()


def test_the_list_shows_my_recent_exports(client, lead, cohort, django_capture_on_commit_callbacks):
    client.force_login(lead)
    export, _ = request_export(client, django_capture_on_commit_callbacks, "practice_csv", audience="inside")
    page = client.get(reverse("report-exports")).content.decode()
    assert reverse("report-export-download", args=[export.pk]) in page
    assert "Outcome data for analysts (CSV)" in page and 'http-equiv="refresh"' not in page
