"""REST API routes. Records are named by UUID only: never an MRN or a name."""

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from courses.api import auth_views, views
from courses.api.errors import not_found
from courses.api.record_export import PatientRecordExportView

urlpatterns = [
    path("auth/token/", auth_views.TokenView.as_view(), name="api-token"),
    path("auth/tokens/", auth_views.TokenListView.as_view(), name="api-tokens"),
    path("auth/logout/", auth_views.TokenLogoutView.as_view(), name="api-logout"),
    path("auth/logout-all/", auth_views.TokenLogoutAllView.as_view(), name="api-logout-all"),
    path("patients/", views.PatientListView.as_view(), name="api-patients"),
    path("patients/<uuid:patient_id>/", views.PatientDetailView.as_view(), name="api-patient"),
    path("patients/<uuid:patient_id>/weights/", views.PatientWeightsView.as_view(), name="api-patient-weights"),
    path("patients/<uuid:patient_id>/audit/", views.PatientAuditView.as_view(), name="api-patient-audit"),
    path(
        "patients/<uuid:patient_id>/record-export/", PatientRecordExportView.as_view(), name="api-patient-record-export"
    ),
    path("courses/", views.CourseListView.as_view(), name="api-courses"),
    path("courses/<uuid:course_id>/", views.CourseDetailView.as_view(), name="api-course"),
    path("courses/<uuid:course_id>/status/", views.CourseStatusView.as_view(), name="api-course-status"),
    path(
        "courses/<uuid:course_id>/follow-up-stop/",
        views.CourseFollowUpStopView.as_view(),
        name="api-course-follow-up-stop",
    ),
    path("courses/<uuid:course_id>/timeline/", views.CourseTimelineView.as_view(), name="api-course-timeline"),
    path(
        "courses/<uuid:course_id>/adverse-events/",
        views.CourseAdverseEventsView.as_view(),
        name="api-course-adverse-events",
    ),
    path(
        "courses/<uuid:course_id>/age-exception/",
        views.CourseAgeExceptionView.as_view(),
        name="api-course-age-exception",
    ),
    path(
        "courses/<uuid:course_id>/medical-evaluation/",
        views.MedicalEvaluationCreateView.as_view(),
        name="api-course-medical-evaluation",
    ),
    path(
        "courses/<uuid:course_id>/psychiatric-evaluation/",
        views.PsychiatricEvaluationCreateView.as_view(),
        name="api-course-psychiatric-evaluation",
    ),
    path(
        "courses/<uuid:course_id>/preparatory-sessions/",
        views.PreparatorySessionCreateView.as_view(),
        name="api-course-preparatory-sessions",
    ),
    path("integration-sessions/", views.IntegrationSessionCreateView.as_view(), name="api-integration-sessions"),
    path("dosing-sessions/", views.DosingSessionListView.as_view(), name="api-dosing-sessions"),
    path("dosing-sessions/<uuid:session_id>/", views.DosingSessionDetailView.as_view(), name="api-dosing-session"),
    path(
        "dosing-sessions/<uuid:session_id>/participants/",
        views.DosingSessionParticipantsView.as_view(),
        name="api-dosing-session-participants",
    ),
    path(
        "dosing-sessions/<uuid:session_id>/note/", views.DosingSessionNoteView.as_view(), name="api-dosing-session-note"
    ),
    path("doses/<uuid:dose_id>/", views.DoseDetailView.as_view(), name="api-dose"),
    path("doses/<uuid:dose_id>/vitals/", views.DoseVitalsView.as_view(), name="api-dose-vitals"),
    path("doses/<uuid:dose_id>/hold-override/", views.DoseHoldOverrideView.as_view(), name="api-dose-hold-override"),
    path("doses/<uuid:dose_id>/administer/", views.DoseAdministerView.as_view(), name="api-dose-administer"),
    path("doses/<uuid:dose_id>/discharge/", views.DoseDischargeView.as_view(), name="api-dose-discharge"),
    path("doses/<uuid:dose_id>/adverse-events/", views.DoseAdverseEventsView.as_view(), name="api-dose-adverse-events"),
    path(
        "doses/<uuid:dose_id>/alerts/<uuid:in_session_alert_id>/close/",
        views.DoseAlertCloseView.as_view(),
        name="api-dose-alert-close",
    ),
    path(
        "adverse-events/unacknowledged/",
        views.AdverseEventUnacknowledgedView.as_view(),
        name="api-adverse-events-unacknowledged",
    ),
    path(
        "adverse-events/<uuid:event_id>/acknowledge/",
        views.AdverseEventAcknowledgeView.as_view(),
        name="api-adverse-event-acknowledge",
    ),
    path("records/<str:record_type>/<uuid:record_id>/", views.RecordDetailView.as_view(), name="api-record"),
    path("records/<str:record_type>/<uuid:record_id>/sign/", views.RecordSignView.as_view(), name="api-record-sign"),
    path("records/<str:record_type>/<uuid:record_id>/amend/", views.RecordAmendView.as_view(), name="api-record-amend"),
    path("records/<str:record_type>/<uuid:record_id>/void/", views.RecordVoidView.as_view(), name="api-record-void"),
    path(
        "records/<str:record_type>/<uuid:record_id>/amendments/",
        views.RecordAmendmentsView.as_view(),
        name="api-record-amendments",
    ),
    path("settings/", views.ClinicSettingsView.as_view(), name="api-settings"),
    path("staff/", views.StaffListView.as_view(), name="api-staff"),
    path("staff/<int:staff_id>/active/", views.StaffActiveView.as_view(), name="api-staff-active"),
    # Anything else under /api/, a malformed id included, is a JSON 404 rather than an HTML page,
    # whatever the method: without csrf_exempt a POST there got Django's HTML "CSRF failed" 403.
    # [\s\S]: an id holding a newline (%0A) fell past ".*" to the web UI's HTML 404. (Not the
    # (?s) flag: Django's reverse() cannot read inline flags, and every reverse() then fails.)
    re_path(r"^[\s\S]*$", csrf_exempt(not_found), name="api-not-found"),
]
