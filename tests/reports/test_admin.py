"""The reports admin: definitions edited through the service, exports read-only and never the file."""

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from courses.models import AuditEvent
from reports import services
from reports.cohort import ReportFilters
from reports.models import Audience, DataVersion, ExportKind, OutcomeSettings, ReportCount, ReportExport
from tests.support import NOW


@pytest.fixture
def superuser(db):
    # An administrator who is also the practice lead: the definitions are the lead role's to change.
    return User.objects.create_superuser(
        "root", "root@kapclinic.invalid", "x-very-secret-2026", role=Role.PRACTICE_LEAD
    )


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def export(lead):
    row = ReportExport.objects.create(
        kind=ExportKind.PRACTICE_CSV, audience=Audience.INSIDE, requested_by=lead, requested_at=NOW
    )
    services.export_run(export_id=row.pk, now=NOW)
    row.refresh_from_db()
    return row


def url(model, view, *args):
    return reverse(f"admin:reports_{model._meta.model_name}_{view}", args=args)


def test_every_reports_model_is_registered():
    from django.apps import apps

    assert set(apps.get_app_config("reports").get_models()) <= set(admin.site._registry)


def test_the_definitions_page_shows_the_single_row(admin_client):
    assert admin_client.get(url(OutcomeSettings, "changelist")).status_code == 200
    assert OutcomeSettings.objects.count() == 1
    response = admin_client.get(url(OutcomeSettings, "change", 1))
    assert response.status_code == 200
    assert b"suppression_threshold" in response.content


def settings_form(**changes) -> dict:
    row = OutcomeSettings.load()
    data = {name: getattr(row, name) for name in services.OUTCOME_SETTINGS_FIELDS}
    data.update(changes)
    return data


def test_saving_the_definitions_goes_through_the_service(admin_client, superuser):
    response = admin_client.post(url(OutcomeSettings, "change", 1), settings_form(response_reduction_pct=40))
    assert response.status_code == 302
    row = OutcomeSettings.load()
    assert (row.response_reduction_pct, row.updated_by) == (40, superuser)
    assert "response_reduction_pct: 50 → 40" in AuditEvent.objects.get(record_type="outcome definitions").detail


def test_a_broken_rule_is_a_form_error_on_its_field(admin_client):
    response = admin_client.post(url(OutcomeSettings, "change", 1), settings_form(partial_reduction_pct=70))
    assert response.status_code == 200
    assert "Partial response must start below the response threshold" in response.content.decode()
    assert OutcomeSettings.load().partial_reduction_pct == 25
    assert not AuditEvent.objects.filter(record_type="outcome definitions").exists()


def test_definitions_cannot_be_added_or_deleted(admin_client):
    OutcomeSettings.load()
    assert admin_client.get(url(OutcomeSettings, "add")).status_code == 403
    assert admin_client.get(url(OutcomeSettings, "delete", 1)).status_code == 403


def test_exports_are_listed_and_shown_without_their_file(admin_client, export):
    assert admin_client.get(url(ReportExport, "changelist")).status_code == 200
    response = admin_client.get(url(ReportExport, "change", export.pk))
    assert response.status_code == 200
    page = response.content.decode()
    assert "course_key" not in page  # the CSV header, were the bytes shown
    assert f"{len(bytes(export.content)):,} bytes" in page
    assert 'name="status"' not in page  # read-only: no inputs


def test_exports_cannot_be_added_changed_or_deleted(admin_client, export):
    assert admin_client.get(url(ReportExport, "add")).status_code == 403
    assert admin_client.get(url(ReportExport, "delete", export.pk)).status_code == 403
    response = admin_client.post(url(ReportExport, "change", export.pk), {"status": "queued"})
    assert response.status_code == 403
    export.refresh_from_db()
    assert export.status == "done"


def test_the_kept_report_counts_are_read_only_and_never_show_the_payload(admin_client):
    key = services._count_key(ReportFilters(indication="ptsd"), timezone.localdate(NOW))
    count = ReportCount.objects.create(key=key, filters={"indication": "ptsd"}, as_of=timezone.localdate(NOW))
    assert services.report_count_run(key=count.key, now=NOW) == "counted"
    assert admin_client.get(url(ReportCount, "changelist")).status_code == 200
    page = admin_client.get(url(ReportCount, "change", count.pk))
    assert page.status_code == 200 and "ptsd" in page.content.decode()
    assert "payload" not in page.content.decode().lower()  # neither the pickle nor its id
    assert admin_client.post(url(ReportCount, "change", count.pk), {"as_of": "2020-01-01"}).status_code == 403
    assert admin_client.get(url(ReportCount, "delete", count.pk)).status_code == 403
    DataVersion.objects.get_or_create(pk=1)
    assert admin_client.get(url(DataVersion, "changelist")).status_code == 200
    assert admin_client.get(url(DataVersion, "delete", 1)).status_code == 403
