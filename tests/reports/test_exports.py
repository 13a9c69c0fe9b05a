"""Export jobs through the API: request → the task runs on commit → status → audited download."""

import csv
import datetime as dt
import io
import uuid

import pytest
from rest_framework.test import APIClient

from courses.models import AuditAction, AuditEvent
from reports import services
from reports.models import Audience, ExportKind, ExportStatus, ReportExport
from reports.tasks import run_export
from tests.reports.api_support import Spec, build_cohort
from tests.support import NOW

URL = "/api/reports/exports/"


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def cohort(therapist, provider, clock):
    return build_cohort(therapist=therapist, provider=provider)


def request_export(user, body, capture):
    with capture(execute=True) as callbacks:
        response = api(user).post(URL, body, format="json")
    return response, callbacks


def test_a_csv_export_runs_after_commit_and_downloads_audited(cohort, lead, django_capture_on_commit_callbacks):
    response, callbacks = request_export(
        lead,
        {"kind": "practice_csv", "audience": "inside", "filters": {"indication": "ptsd"}},
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 202
    body = response.json()
    # The answer is sent before the worker starts: the client sees the queued row.
    assert (body["status"], body["progress"], body["links"]["download"]) == ("queued", 0, None)
    assert body["filters"] == {"indication": "ptsd"}
    assert len(callbacks) == 1

    status = api(lead).get(body["links"]["self"]).json()
    assert (status["status"], status["progress"], status["progress_note"], status["error"]) == (
        "done",
        100,
        "Ready",
        "",
    )
    assert status["filename"].startswith("kap-outcomes-") and status["filename"].endswith(".csv")

    download = api(lead).get(status["links"]["download"])
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert download["Content-Disposition"] == f'attachment; filename="{status["filename"]}"'
    assert download["Cache-Control"] == "no-store"
    audience_line, body_text = download.content.decode("utf-8-sig").split("\n", 1)
    assert audience_line.startswith("Inside the clinic")
    rows = list(csv.DictReader(io.StringIO(body_text)))
    assert {r["indication"] for r in rows} == {"ptsd"}
    assert len(rows) == 2 * 3

    events = AuditEvent.objects.filter(action=AuditAction.EXPORT, record_id=body["id"]).order_by("id")
    assert [e.detail for e in events] == [
        "requested practice_csv, audience inside",
        "downloaded practice_csv, audience inside",
    ]
    assert {e.actor for e in events} == {lead}


def test_running_an_export_twice_makes_it_once(cohort, lead, django_capture_on_commit_callbacks):
    response, _ = request_export(
        lead, {"kind": "practice_csv", "audience": "inside"}, django_capture_on_commit_callbacks
    )
    export = ReportExport.objects.get(pk=response.json()["id"])
    first = bytes(export.content)
    assert run_export.delay(str(export.pk)).get() == "skipped"
    assert services.export_run(export_id=export.pk) == "skipped"
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE and bytes(export.content) == first


def test_a_download_before_the_file_is_ready_is_a_409(cohort, lead):
    response = api(lead).post(URL, {"kind": "practice_csv"}, format="json")  # no commit: still queued
    got = api(lead).get(f"{URL}{response.json()['id']}/download/")
    assert got.status_code == 409
    assert "queued" in got.json()["detail"]
    assert not AuditEvent.objects.filter(detail__startswith="downloaded").exists()


def test_a_failed_render_is_shown_with_its_error(cohort, lead):
    # Filters saved by an older version that this one cannot read: the worker must fail visibly.
    export = ReportExport.objects.create(
        kind=ExportKind.PRACTICE_CSV,
        audience=Audience.INSIDE,
        filters={"start_from": "31/12/2025"},
        requested_by=lead,
        requested_at=NOW,
    )
    assert services.export_run(export_id=export.pk) == "failed"
    body = api(lead).get(f"{URL}{export.pk}/").json()
    assert body["status"] == "failed"
    assert body["error"].startswith("ValueError: Invalid isoformat string")
    assert body["links"]["download"] is None
    assert api(lead).get(f"{URL}{export.pk}/download/").status_code == 409
    assert services.export_run(export_id=export.pk) == "skipped"  # a failure is not retried by a redelivery


# --- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["practice_csv", "practice_pdf", "practice_lists"])
def test_only_a_lead_exports_the_practice_report(therapist, kind):
    response = api(therapist).post(URL, {"kind": kind}, format="json")
    assert response.status_code == 403
    assert not ReportExport.objects.exists()


def test_an_outsider_cannot_ask(outsider):
    assert api(outsider).post(URL, {"kind": "practice_csv"}, format="json").status_code == 403
    assert api().post(URL, {"kind": "practice_csv"}, format="json").status_code == 401


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "spreadsheet"}, "kind"),
        ({}, "kind"),
        ({"kind": "practice_csv", "filters": {"indication": "flu"}}, "filters"),
        ({"kind": "practice_csv", "filters": {"start_from": "2025-06-01", "start_to": "2025-01-01"}}, "filters"),
        ({"kind": "patient_pdf"}, "course"),
        ({"kind": "patient_pdf", "course": "not-a-uuid"}, "course"),
        ({"kind": "patient_pdf", "course": str(uuid.uuid4())}, "course"),
    ],
)
def test_a_bad_request_is_a_400_naming_the_field(lead, body, field):
    response = api(lead).post(URL, body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not ReportExport.objects.exists()


def test_a_course_outside_the_caseload_is_a_400(cohort, other_therapist):
    response = api(other_therapist).post(URL, {"kind": "patient_pdf", "course": str(cohort[0].pk)}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["course"]


def test_an_export_is_seen_by_its_requester_and_a_lead_only(cohort, therapist, other_therapist, lead):
    response = api(therapist).post(URL, {"kind": "patient_pdf", "course": str(cohort[0].pk)}, format="json")
    assert response.status_code == 202
    url = response.json()["links"]["self"]
    assert api(therapist).get(url).status_code == 200
    assert api(lead).get(url).status_code == 200
    assert api(other_therapist).get(url).status_code == 404
    assert api(other_therapist).get(url + "download/").status_code == 404
    assert api(lead).get(f"{URL}{uuid.uuid4()}/").status_code == 404
    assert [e["id"] for e in api(therapist).get(URL).json()["results"]] == [response.json()["id"]]
    assert api(other_therapist).get(URL).json()["results"] == []
    assert api(lead).get(URL).json()["count"] == 1


# --- PDFs (reports/pdf.py) --------------------------------------------------------------------


def test_a_practice_pdf_export(cohort, lead, django_capture_on_commit_callbacks):
    pytest.importorskip("reports.pdf")
    response, _ = request_export(
        lead, {"kind": "practice_pdf", "audience": "inside"}, django_capture_on_commit_callbacks
    )
    status = api(lead).get(response.json()["links"]["self"]).json()
    assert status["status"] == "done", status["error"]
    # Named by the clinic's clock (15:00 UTC is 11:00 in New York that day), as every page reads it.
    assert status["filename"] == "kap-outcome-report-inside-20260310-1100.pdf"
    download = api(lead).get(status["links"]["download"])
    assert download["Content-Type"] == "application/pdf"
    assert download.content.startswith(b"%PDF-")


def test_a_patient_pdf_export_by_the_courses_therapist(cohort, therapist, django_capture_on_commit_callbacks):
    pytest.importorskip("reports.pdf")
    course = cohort[0]
    response, _ = request_export(
        therapist, {"kind": "patient_pdf", "course": str(course.pk)}, django_capture_on_commit_callbacks
    )
    assert response.status_code == 202
    status = api(therapist).get(response.json()["links"]["self"]).json()
    assert status["status"] == "done", status["error"]
    download = api(therapist).get(status["links"]["download"], HTTP_ACCEPT="application/pdf")
    assert download.status_code == 200
    assert download.content.startswith(b"%PDF-")
    events = AuditEvent.objects.filter(record_id=status["id"]).order_by("id")
    assert [(e.detail, e.patient_id) for e in events] == [
        ("requested patient_pdf, audience inside", course.patient_id),
        ("downloaded patient_pdf, audience inside", course.patient_id),
    ]


def test_a_csv_download_with_an_accept_header_for_csv(
    therapist, provider, lead, clock, django_capture_on_commit_callbacks
):
    build_cohort(therapist=therapist, provider=provider, specs=[Spec(scores={"phq9": {"baseline": 12}})])
    response, _ = request_export(
        lead, {"kind": "practice_csv", "audience": "inside"}, django_capture_on_commit_callbacks
    )
    download = api(lead).get(f"{URL}{response.json()['id']}/download/", HTTP_ACCEPT="text/csv")
    assert download.status_code == 200
    missing = api(lead).get(f"{URL}{uuid.uuid4()}/download/", HTTP_ACCEPT="text/csv")
    assert (missing.status_code, missing["Content-Type"]) == (404, "application/json")


def test_a_run_left_running_by_a_dead_worker_is_taken_over(cohort, lead, clock):
    import datetime as dt

    export = ReportExport.objects.create(
        kind=ExportKind.PRACTICE_CSV,
        audience=Audience.INSIDE,
        requested_by=lead,
        requested_at=NOW,
        status=ExportStatus.RUNNING,
        started_at=NOW,
    )
    assert services.export_run(export_id=export.pk) == "skipped"  # running, and not stale: another worker has it
    clock.shift(dt.timedelta(minutes=16))
    assert services.export_run(export_id=export.pk) == "done"
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE and export.content


def test_a_selection_too_small_to_share_is_refused_outside_with_what_to_do(
    cohort, lead, django_capture_on_commit_callbacks
):
    # Six courses, threshold 11: the selection itself is a small cell, and narrow filters would let
    # two shared files be told apart course by course.
    response, _ = request_export(
        lead, {"kind": "practice_csv", "audience": "outside"}, django_capture_on_commit_callbacks
    )
    status = api(lead).get(response.json()["links"]["self"]).json()
    assert status["status"] == "failed" and status["links"]["download"] is None
    assert status["error"] == (
        "Too few courses to share outside the clinic: the filters select fewer than 11. "
        "Widen the filters, or export the file for inside the clinic."
    )
    event = AuditEvent.objects.get(action=AuditAction.EXPORT, record_id=response.json()["id"])
    assert event.detail == "requested practice_csv, audience outside, small cells under 11"


@pytest.mark.parametrize("body", [{"audience": "outside"}, {}])
def test_the_lists_csv_is_refused_at_once_for_outside_the_clinic(cohort, lead, body):
    # Outside, or unsaid (which is outside): a 400 naming the audience, and no file queued.
    response = api(lead).post(URL, {"kind": "practice_lists", **body}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["audience"][0].startswith(
        "The complete lists of serious adverse events and Kaplan–Meier steps are for inside the clinic only"
    )
    assert not ReportExport.objects.filter(kind="practice_lists").exists()


def test_the_lists_csv_is_for_inside_the_clinic_only(cohort, lead, django_capture_on_commit_callbacks):
    response, _ = request_export(
        lead, {"kind": "practice_lists", "audience": "inside"}, django_capture_on_commit_callbacks
    )
    status = api(lead).get(response.json()["links"]["self"]).json()
    assert status["status"] == "done" and status["filename"].startswith("kap-outcome-lists-inside-")
    download = api(lead).get(status["links"]["download"])
    assert download.status_code == 200 and download["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig").split("\n", 1)[1])))
    assert {r["list"] for r in rows} == {"km_step"}  # the cohort has no serious event; its curves are there


def test_the_threshold_is_the_one_in_force_when_the_file_was_asked_for(cohort, lead):
    # Asked for at 11, the setting lowered to 1 while the file waits for a worker: it still hides by 11.
    response = api(lead).post(URL, {"kind": "practice_csv", "audience": "outside"}, format="json")  # no commit yet
    services.outcome_settings_update(by=lead, changes={"suppression_threshold": 1})
    export = ReportExport.objects.get(pk=response.json()["id"])
    assert export.suppression_threshold == 11
    assert services.export_run(export_id=export.pk) == "refused"  # six courses: under 11, not under 1


def test_a_shared_file_that_leaves_out_a_few_courses_is_refused(cohort, lead, therapist, provider):
    # Beside the whole practice's shared file, one that leaves out a single course gives that
    # course's figures by difference.
    from tests.reports.api_support import START, Spec, build_course

    build_course(Spec(), n=30, therapist=therapist, provider=provider)  # opened five days after the others
    services.outcome_settings_update(by=lead, changes={"suppression_threshold": 2})
    first_days = {"start_to": (START + dt.timedelta(days=1)).date().isoformat()}
    response = api(lead).post(
        URL, {"kind": "practice_pdf", "audience": "outside", "filters": first_days}, format="json"
    )
    export = ReportExport.objects.get(pk=response.json()["id"])
    assert services.export_run(export_id=export.pk) == "refused"
    export.refresh_from_db()
    assert export.error.startswith("The filters leave out fewer than 2 of the practice's courses")
    inside = api(lead).post(URL, {"kind": "practice_pdf", "audience": "inside", "filters": first_days}, format="json")
    assert services.export_run(export_id=inside.json()["id"]) == "done"
