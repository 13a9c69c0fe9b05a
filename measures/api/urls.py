"""Measures REST API routes, included at /api/ before the course API (whose last route is a JSON 404).

Records are named by UUID; a message by its number. The self-report token is the patient's only credential.
"""

from django.urls import path

from measures.api import views

urlpatterns = [
    path("self-report/<str:token>/", views.SelfReportView.as_view(), name="api-self-report"),
    path(
        "courses/<uuid:course_id>/administrations/",
        views.CourseAdministrationsView.as_view(),
        name="api-course-administrations",
    ),
    path("courses/<uuid:course_id>/responses/", views.CourseResponsesView.as_view(), name="api-course-responses"),
    path(
        "administrations/<uuid:administration_id>/adjust/",
        views.AdministrationAdjustView.as_view(),
        name="api-administration-adjust",
    ),
    path(
        "administrations/<uuid:administration_id>/waive/",
        views.AdministrationWaiveView.as_view(),
        name="api-administration-waive",
    ),
    path(
        "administrations/<uuid:administration_id>/cancel/",
        views.AdministrationCancelView.as_view(),
        name="api-administration-cancel",
    ),
    path(
        "administrations/<uuid:administration_id>/new-link/",
        views.AdministrationNewLinkView.as_view(),
        name="api-administration-new-link",
    ),
    path(
        "administrations/<uuid:administration_id>/responses/",
        views.AdministrationResponsesView.as_view(),
        name="api-administration-responses",
    ),
    path("safety-alerts/", views.SafetyAlertListView.as_view(), name="api-safety-alerts"),
    path(
        "safety-alerts/<uuid:alert_id>/acknowledge/",
        views.SafetyAlertAcknowledgeView.as_view(),
        name="api-safety-alert-acknowledge",
    ),
    path("messages/", views.MessageListView.as_view(), name="api-messages"),
    path("messages/<int:message_id>/retry/", views.MessageRetryView.as_view(), name="api-message-retry"),
    path("measure-settings/", views.MeasureSettingsView.as_view(), name="api-measure-settings"),
    path("measure-settings/replan/", views.MeasureSettingsReplanView.as_view(), name="api-measure-settings-replan"),
]
