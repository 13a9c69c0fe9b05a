"""REST API routes. Records are named by UUID only: never an MRN or a name."""

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from courses.api.views.adverse_events import (
    AdverseEventAcknowledgeView,
    AdverseEventUnacknowledgedView,
    CourseAdverseEventsView,
    DoseAdverseEventsView,
)
from courses.api.views.auth import TokenListView, TokenLogoutAllView, TokenLogoutView, TokenView
from courses.api.views.courses import (
    CourseAgeExceptionView,
    CourseDetailView,
    CourseFollowUpStopView,
    CourseListView,
    CourseStatusView,
    CourseTimelineView,
)
from courses.api.views.dosing import (
    DoseAdministerView,
    DoseAlertCloseView,
    DoseDetailView,
    DoseDischargeView,
    DoseHoldOverrideView,
    DoseVitalsView,
    DosingSessionDetailView,
    DosingSessionDosesView,
    DosingSessionListView,
    DosingSessionNoteView,
)
from courses.api.views.evaluations import MedicalEvaluationCreateView, PsychiatricEvaluationCreateView
from courses.api.views.patients import PatientAuditView, PatientDetailView, PatientListView, PatientWeightsView
from courses.api.views.records import (
    RecordAmendmentsView,
    RecordAmendView,
    RecordDetailView,
    RecordSignView,
    RecordVoidView,
)
from courses.api.views.sessions import IntegrationSessionCreateView, PreparatorySessionCreateView
from courses.api.views.staff import ClinicSettingsView, StaffActiveView, StaffListView
from kernel.api.errors import not_found

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("auth/tokens/", TokenListView.as_view(), name="api-tokens"),
    path("auth/logout/", TokenLogoutView.as_view(), name="api-logout"),
    path("auth/logout-all/", TokenLogoutAllView.as_view(), name="api-logout-all"),
    path("patients/", PatientListView.as_view(), name="api-patients"),
    path("patients/<uuid:patient_id>/", PatientDetailView.as_view(), name="api-patient"),
    path("patients/<uuid:patient_id>/weights/", PatientWeightsView.as_view(), name="api-patient-weights"),
    path("patients/<uuid:patient_id>/audit/", PatientAuditView.as_view(), name="api-patient-audit"),
    path("courses/", CourseListView.as_view(), name="api-courses"),
    path("courses/<uuid:course_id>/", CourseDetailView.as_view(), name="api-course"),
    path("courses/<uuid:course_id>/status/", CourseStatusView.as_view(), name="api-course-status"),
    path(
        "courses/<uuid:course_id>/follow-up-stop/",
        CourseFollowUpStopView.as_view(),
        name="api-course-follow-up-stop",
    ),
    path("courses/<uuid:course_id>/timeline/", CourseTimelineView.as_view(), name="api-course-timeline"),
    path(
        "courses/<uuid:course_id>/adverse-events/",
        CourseAdverseEventsView.as_view(),
        name="api-course-adverse-events",
    ),
    path(
        "courses/<uuid:course_id>/age-exception/",
        CourseAgeExceptionView.as_view(),
        name="api-course-age-exception",
    ),
    path(
        "courses/<uuid:course_id>/medical-evaluation/",
        MedicalEvaluationCreateView.as_view(),
        name="api-course-medical-evaluation",
    ),
    path(
        "courses/<uuid:course_id>/psychiatric-evaluation/",
        PsychiatricEvaluationCreateView.as_view(),
        name="api-course-psychiatric-evaluation",
    ),
    path(
        "courses/<uuid:course_id>/preparatory-sessions/",
        PreparatorySessionCreateView.as_view(),
        name="api-course-preparatory-sessions",
    ),
    path("integration-sessions/", IntegrationSessionCreateView.as_view(), name="api-integration-sessions"),
    path("dosing-sessions/", DosingSessionListView.as_view(), name="api-dosing-sessions"),
    path("dosing-sessions/<uuid:session_id>/", DosingSessionDetailView.as_view(), name="api-dosing-session"),
    path(
        "dosing-sessions/<uuid:session_id>/doses/",
        DosingSessionDosesView.as_view(),
        name="api-dosing-session-doses",
    ),
    path("dosing-sessions/<uuid:session_id>/note/", DosingSessionNoteView.as_view(), name="api-dosing-session-note"),
    path("doses/<uuid:dose_id>/", DoseDetailView.as_view(), name="api-dose"),
    path("doses/<uuid:dose_id>/vitals/", DoseVitalsView.as_view(), name="api-dose-vitals"),
    path("doses/<uuid:dose_id>/hold-override/", DoseHoldOverrideView.as_view(), name="api-dose-hold-override"),
    path("doses/<uuid:dose_id>/administer/", DoseAdministerView.as_view(), name="api-dose-administer"),
    path("doses/<uuid:dose_id>/discharge/", DoseDischargeView.as_view(), name="api-dose-discharge"),
    path("doses/<uuid:dose_id>/adverse-events/", DoseAdverseEventsView.as_view(), name="api-dose-adverse-events"),
    path(
        "doses/<uuid:dose_id>/alerts/<uuid:in_session_alert_id>/close/",
        DoseAlertCloseView.as_view(),
        name="api-dose-alert-close",
    ),
    path(
        "adverse-events/unacknowledged/",
        AdverseEventUnacknowledgedView.as_view(),
        name="api-adverse-events-unacknowledged",
    ),
    path(
        "adverse-events/<uuid:event_id>/acknowledge/",
        AdverseEventAcknowledgeView.as_view(),
        name="api-adverse-event-acknowledge",
    ),
    path("records/<str:record_type>/<uuid:record_id>/", RecordDetailView.as_view(), name="api-record"),
    path("records/<str:record_type>/<uuid:record_id>/sign/", RecordSignView.as_view(), name="api-record-sign"),
    path("records/<str:record_type>/<uuid:record_id>/amend/", RecordAmendView.as_view(), name="api-record-amend"),
    path("records/<str:record_type>/<uuid:record_id>/void/", RecordVoidView.as_view(), name="api-record-void"),
    path(
        "records/<str:record_type>/<uuid:record_id>/amendments/",
        RecordAmendmentsView.as_view(),
        name="api-record-amendments",
    ),
    path("settings/", ClinicSettingsView.as_view(), name="api-settings"),
    path("staff/", StaffListView.as_view(), name="api-staff"),
    path("staff/<int:staff_id>/active/", StaffActiveView.as_view(), name="api-staff-active"),
    # Anything else under /api/, a malformed id included, is a JSON 404 rather than an HTML page,
    # whatever the method: without csrf_exempt a POST there got Django's HTML "CSRF failed" 403.
    # [\s\S]: an id holding a newline (%0A) fell past ".*" to the web UI's HTML 404. (Not the
    # (?s) flag: Django's reverse() cannot read inline flags, and every reverse() then fails.)
    re_path(r"^[\s\S]*$", csrf_exempt(not_found), name="api-not-found"),
]
