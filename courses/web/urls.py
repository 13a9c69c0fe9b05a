"""URL map of the staff web UI. Only UUIDs identify records: never a name or an MRN."""

from django.contrib.auth import views as auth_views
from django.urls import path

from courses.web.views import courses, dosing, home, lead, patients, records, session

RECORD = "records/<slug:record_type>/<uuid:record_id>/"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("session/", session.session_state, name="session-state"),
    path("", home.home, name="home"),
    path("caseload/", home.caseload, name="caseload"),
    path("today/", home.provider_today, name="provider-today"),
    # Patients
    path("patients/", patients.patient_list, name="patient-list"),
    path("patients/new/", patients.patient_register, name="patient-register"),
    path("patients/<uuid:patient_id>/", patients.patient_detail, name="patient-detail"),
    path("patients/<uuid:patient_id>/edit/", patients.patient_edit, name="patient-edit"),
    path("patients/<uuid:patient_id>/weights/", patients.weight_add, name="weight-add"),
    path("patients/<uuid:patient_id>/courses/new/", patients.course_open, name="course-open"),
    path("patients/<uuid:patient_id>/audit/", patients.patient_audit, name="patient-audit"),
    # Courses
    path("courses/<uuid:course_id>/", courses.course_timeline, name="course-timeline"),
    path("courses/<uuid:course_id>/stage/", courses.course_status, name="course-status"),
    path("courses/<uuid:course_id>/follow-up-stop/", courses.course_follow_up_stop, name="course-follow-up-stop"),
    path("courses/<uuid:course_id>/medical-evaluation/", courses.medical_evaluation_new, name="medical-evaluation-new"),
    path(
        "courses/<uuid:course_id>/psychiatric-evaluation/",
        courses.psychiatric_evaluation_new,
        name="psychiatric-evaluation-new",
    ),
    path(
        "courses/<uuid:course_id>/preparatory-sessions/new/",
        courses.preparatory_session_new,
        name="preparatory-session-new",
    ),
    path(
        "courses/<uuid:course_id>/integration-sessions/new/",
        courses.integration_session_new,
        name="integration-session-new",
    ),
    path("integration-sessions/new/", courses.group_integration_new, name="group-integration-new"),
    path(
        "courses/<uuid:course_id>/adverse-events/new/",
        courses.course_adverse_event_new,
        name="course-adverse-event-new",
    ),
    path("courses/<uuid:course_id>/age-exception/", courses.course_age_exception, name="course-age-exception"),
    # Any record
    path(RECORD + "edit/", records.record_edit, name="record-edit"),
    path(RECORD + "sign/", records.record_sign, name="record-sign"),
    path(RECORD + "amend/", records.record_amend, name="record-amend"),
    path(RECORD + "void/", records.record_void, name="record-void"),
    # Dosing
    path("dosing-sessions/", dosing.session_list, name="dosing-session-list"),
    path("dosing-sessions/new/", dosing.session_schedule, name="dosing-session-schedule"),
    path("dosing-sessions/<uuid:session_id>/", dosing.session_detail, name="dosing-session"),
    path("dosing-sessions/<uuid:session_id>/note/", dosing.session_note, name="dosing-session-note"),
    path("dosing-sessions/<uuid:session_id>/doses/new/", dosing.dose_add, name="dose-add"),
    path("doses/<uuid:dose_id>/", dosing.dose_page, name="dose"),
    path("doses/<uuid:dose_id>/vitals/", dosing.vitals_add, name="dose-vitals"),
    path("doses/<uuid:dose_id>/override/", dosing.hold_override, name="dose-override"),
    path("doses/<uuid:dose_id>/give/", dosing.give_dose, name="dose-give"),
    path("doses/<uuid:dose_id>/adverse-events/", dosing.adverse_event_add, name="dose-adverse-event"),
    path("doses/<uuid:dose_id>/discharge/", dosing.discharge, name="dose-discharge"),
    path("doses/<uuid:dose_id>/left/", dosing.left_before_discharge, name="dose-left"),
    path(
        "doses/<uuid:dose_id>/alerts/<uuid:in_session_alert_id>/close/",
        dosing.alert_close,
        name="dose-alert-close",
    ),
    # Practice lead (the serious-event mail links to /lead/)
    path("lead/", lead.dashboard, name="lead-dashboard"),
    path("lead/adverse-events/<uuid:event_id>/acknowledge/", lead.acknowledge, name="adverse-event-acknowledge"),
    path("staff/", lead.staff, name="staff"),
    path("staff/<int:user_id>/active/", lead.staff_active, name="staff-active"),
    path("staff/<int:user_id>/invite/", lead.staff_invite_again, name="staff-invite"),
    path("clinic-settings/", lead.clinic_settings, name="clinic-settings"),
]
