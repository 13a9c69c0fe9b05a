"""URL map of the measures web: the patient's self-report link and the staff pages."""

from django.urls import path

from measures.web.views import administrations, charts, self_report, settings, worklist

urlpatterns = [
    # The patient's link (services.self_report_url builds it): no login.
    path("r/<str:token>/", self_report.self_report, name="self-report"),
    # Staff (the safety-alert mail links to /worklist/)
    path("worklist/", worklist.worklist, name="worklist"),
    path("worklist/alerts/<uuid:alert_id>/acknowledge/", worklist.alert_acknowledge, name="safety-alert-acknowledge"),
    path("worklist/messages/<int:message_id>/resend/", worklist.message_resend, name="message-resend"),
    path("questionnaires/<uuid:administration_id>/answers/", administrations.enter_answers, name="answers-enter"),
    path(
        "questionnaires/<uuid:administration_id>/window/", administrations.adjust_window, name="administration-adjust"
    ),
    path("questionnaires/<uuid:administration_id>/cancel/", administrations.cancel, name="administration-cancel"),
    path("questionnaires/<uuid:administration_id>/waive/", administrations.waive, name="administration-waive"),
    path("questionnaires/<uuid:administration_id>/new-link/", administrations.new_link, name="administration-new-link"),
    path("courses/<uuid:course_id>/questionnaires/new/", administrations.add, name="administration-add"),
    path("courses/<uuid:course_id>/charts/", charts.course_charts, name="course-charts"),
    path("measure-schedule/", settings.measure_settings, name="measure-settings"),
    path("measure-schedule/replan/", settings.replan, name="measure-settings-replan"),
]
