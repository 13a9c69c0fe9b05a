"""URL map of the reports web: the practice outcome report and the export files."""

from django.urls import path

from reports.web import record_export, views

urlpatterns = [
    # The patient's whole record (courses and measures): reports is the layer that reads both.
    path("patients/<uuid:patient_id>/record-export/", record_export.record_export, name="patient-record-export"),
    path("reports/outcomes/", views.outcome_report, name="outcome-report"),
    path("reports/outcomes/export/", views.practice_export, name="outcome-report-export"),
    path("reports/exports/", views.export_list, name="report-exports"),
    path("reports/exports/<uuid:export_id>/", views.export_status, name="report-export"),
    path("reports/exports/<uuid:export_id>/download/", views.export_download, name="report-export-download"),
    path("courses/<uuid:course_id>/progress-report/", views.progress_report, name="course-progress-report"),
]
