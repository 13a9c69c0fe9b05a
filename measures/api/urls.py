"""Measures REST API routes, included at /api/ before the course API (whose last route is a JSON 404).

Records are named by UUID; a message by its number. The self-report token is the patient's only credential.
"""

from django.urls import path

from measures.api.views.administrations import (
    AdministrationAdjustView,
    AdministrationCancelView,
    AdministrationNewLinkView,
    AdministrationResponsesView,
    AdministrationWaiveView,
    CourseAdministrationsView,
    CourseResponsesView,
)
from measures.api.views.messages import MessageListView, MessageRetryView
from measures.api.views.safety_alerts import SafetyAlertAcknowledgeView, SafetyAlertListView
from measures.api.views.self_report import SelfReportView
from measures.api.views.settings import MeasureSettingsReplanView, MeasureSettingsView

urlpatterns = [
    path("self-report/<str:token>/", SelfReportView.as_view(), name="api-self-report"),
    path(
        "courses/<uuid:course_id>/administrations/",
        CourseAdministrationsView.as_view(),
        name="api-course-administrations",
    ),
    path("courses/<uuid:course_id>/responses/", CourseResponsesView.as_view(), name="api-course-responses"),
    path(
        "administrations/<uuid:administration_id>/adjust/",
        AdministrationAdjustView.as_view(),
        name="api-administration-adjust",
    ),
    path(
        "administrations/<uuid:administration_id>/waive/",
        AdministrationWaiveView.as_view(),
        name="api-administration-waive",
    ),
    path(
        "administrations/<uuid:administration_id>/cancel/",
        AdministrationCancelView.as_view(),
        name="api-administration-cancel",
    ),
    path(
        "administrations/<uuid:administration_id>/new-link/",
        AdministrationNewLinkView.as_view(),
        name="api-administration-new-link",
    ),
    path(
        "administrations/<uuid:administration_id>/responses/",
        AdministrationResponsesView.as_view(),
        name="api-administration-responses",
    ),
    path("safety-alerts/", SafetyAlertListView.as_view(), name="api-safety-alerts"),
    path(
        "safety-alerts/<uuid:alert_id>/acknowledge/",
        SafetyAlertAcknowledgeView.as_view(),
        name="api-safety-alert-acknowledge",
    ),
    path("messages/", MessageListView.as_view(), name="api-messages"),
    path("messages/<int:message_id>/retry/", MessageRetryView.as_view(), name="api-message-retry"),
    path("measure-settings/", MeasureSettingsView.as_view(), name="api-measure-settings"),
    path("measure-settings/replan/", MeasureSettingsReplanView.as_view(), name="api-measure-settings-replan"),
]
