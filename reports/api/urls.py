"""Reports REST API routes, included at /api/ before the course API (whose last route is a JSON 404)."""

from django.urls import path

from reports.api import views
from reports.api.record_export import PatientRecordExportView

urlpatterns = [
    # The patient's whole record (courses and measures): reports is the layer that reads both.
    path(
        "patients/<uuid:patient_id>/record-export/", PatientRecordExportView.as_view(), name="api-patient-record-export"
    ),
    path("reports/outcomes/", views.PracticeReportView.as_view(), name="api-report-outcomes"),
    path("reports/exports/", views.ExportListView.as_view(), name="api-report-exports"),
    path("reports/exports/<uuid:export_id>/", views.ExportDetailView.as_view(), name="api-report-export"),
    path(
        "reports/exports/<uuid:export_id>/download/",
        views.ExportDownloadView.as_view(),
        name="api-report-export-download",
    ),
    path("reports/outcome-settings/", views.OutcomeSettingsView.as_view(), name="api-outcome-settings"),
]
