"""The course timeline, and the forms that add to it: stage, evaluations, sessions."""

import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Role
from courses import bedside, hooks, services
from courses.choices import (
    COURSE_STAGES,
    CourseStatus,
    IntegrationTechnique,
    PreparationTopic,
    ScreenAnswer,
    SessionFormat,
    VitalAlert,
)
from courses.progress import CourseFacts, next_steps
from courses.rules import SCREEN_ITEMS
from courses.selectors import course_get, course_timeline_data, courses_open_choices
from courses.web.forms.adverse_events import AdverseEventForm
from courses.web.forms.base import now_local_minute
from courses.web.forms.courses import AgeExceptionForm, CourseStatusForm, FollowUpStopForm
from courses.web.forms.evaluations import MedicalEvaluationForm, PsychiatricEvaluationForm
from courses.web.forms.sessions import GroupIntegrationForm, IntegrationSessionForm, PreparatorySessionForm
from courses.web.views.patients import _age
from kernel.web.views import call_service, render_form_page, staff_view

ALERT_WORDS = dict(VitalAlert.choices)
TOPIC_WORDS = dict(PreparationTopic.choices)
ANSWER_WORDS = dict(ScreenAnswer.choices)
TECHNIQUE_WORDS = dict(IntegrationTechnique.choices)


def _at(value) -> dt.datetime:
    """Dates (evaluations) and datetimes on one time line; a date sorts at the start of its local day."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time.min, tzinfo=timezone.get_current_timezone())


def _amendments(record, amendments):
    record.amendment_list = amendments.get(record.pk, [])
    return record


def timeline_facts(course, data, state) -> CourseFacts:
    doses = [d for d in data["doses"] if not d.is_voided]
    return CourseFacts(
        status=course.status,
        blockers=tuple(state.blockers),
        doses_given=sum(1 for d in doses if d.dosed_at and not d.is_maintenance),
        planned_sessions=course.planned_dosing_sessions,
        integration_sessions=sum(1 for s in data["integration_sessions"] if not s.is_voided),
        open_serious_events=sum(
            1 for e in data["adverse_events"] if e.serious and e.acknowledged_at is None and not e.is_voided
        ),
        doses_awaiting_signature=sum(1 for d in doses if d.dosed_at and not d.is_signed),
    )


def _stages(course):
    if course.status == CourseStatus.DISCONTINUED:
        reached = {c.from_status for c in course.status_changes.all()}
        return [{"label": s.label, "state": "done" if s in reached else "todo"} for s in COURSE_STAGES]
    current = COURSE_STAGES.index(course.status)
    return [
        {"label": s.label, "state": "done" if i < current else "current" if i == current else "todo"}
        for i, s in enumerate(COURSE_STAGES)
    ]


def timeline_entries(course, data) -> list[dict]:
    """Every record of the course as one list, newest first, each marked with its kind."""
    amendments = data["amendments"]
    entries = [{"kind": "opened", "at": course.created_at, "obj": course}]
    for change in data["status_changes"]:
        entries.append({"kind": "status", "at": change.changed_at, "obj": change})
    for evaluation in data["medical_evaluations"]:
        _amendments(evaluation, amendments)
        evaluation.screen = [
            {
                "label": i.label,
                "absolute": i.absolute,
                "answer": getattr(evaluation, i.field),
                "answer_label": ANSWER_WORDS.get(getattr(evaluation, i.field), "Not answered"),
            }
            for i in SCREEN_ITEMS
        ]
        evaluation.childbearing_label = ANSWER_WORDS.get(evaluation.childbearing_potential, "Not answered")
        entries.append({"kind": "medical", "at": _at(evaluation.evaluated_on), "obj": evaluation})
    for evaluation in data["psychiatric_evaluations"]:
        entries.append(
            {"kind": "psychiatric", "at": _at(evaluation.evaluated_on), "obj": _amendments(evaluation, amendments)}
        )
    for session in data["preparatory_sessions"]:
        session.topic_words = [TOPIC_WORDS.get(t, t) for t in session.topics]
        entries.append({"kind": "preparatory", "at": session.held_at, "obj": _amendments(session, amendments)})
    for dose in data["doses"]:
        _amendments(dose, amendments)
        _amendments(dose.session, amendments)
        for reading in dose.vitals.all():
            _amendments(reading, amendments)
            reading.alert_words = [ALERT_WORDS.get(a, a) for a in reading.alerts]
        for event in dose.adverse_events.all():
            _amendments(event, amendments)
        entries.append({"kind": "dose", "at": dose.dosed_at or dose.session.starts_at, "obj": dose})
    for event in data["course_adverse_events"]:
        entries.append({"kind": "adverse_event", "at": event.onset_at, "obj": _amendments(event, amendments)})
    for session in data["integration_sessions"]:
        session.technique_words = [TECHNIQUE_WORDS.get(t, t) for t in session.techniques]
        session.others = [c for c in session.courses.all() if c.pk != course.pk]
        entries.append({"kind": "integration", "at": session.held_at, "obj": _amendments(session, amendments)})
    # Newest first: the clinician opens the course for what happened last. Ties keep their
    # recorded order, reversed with the rest (a stage change stands above the opening it follows).
    entries.sort(key=lambda e: _at(e["at"]))
    entries.reverse()
    return entries


@staff_view
def course_timeline(request, course_id):
    course = course_get(user=request.user, course_id=course_id)
    data = course_timeline_data(course)
    user = request.user
    state = bedside.course_state(course)
    screen = state.screen
    psych = next((e for e in data["psychiatric_evaluations"] if not e.is_voided), None)
    # The questionnaires and their safety alerts: measures' section of the page (courses/hooks.py).
    measures_section = hooks.page_context("course", user=user, course=course)
    is_open = course.status not in (CourseStatus.COMPLETED, CourseStatus.DISCONTINUED) and not course.is_voided
    under_age = next((b for b in state.blockers if b.code == "under_age"), None)
    context = {
        "course": course,
        "patient": course.patient,
        "age": _age(course.patient.date_of_birth, timezone.localdate()),
        "entries": timeline_entries(course, data),
        "next_steps": next_steps(timeline_facts(course, data, state)),
        "state": state,
        "stages": _stages(course),
        "is_open": is_open,
        # A signed screen can be redone (a re-screen supersedes it); an unsigned one is edited.
        "can_medical": user.is_medical_provider and (screen is None or screen.is_signed),
        "rescreen": screen is not None and screen.is_signed,
        "can_report_event": user.is_clinician and is_open,
        "age_exception_form": AgeExceptionForm() if under_age and user.role == Role.PRACTICE_LEAD else None,
        "can_psych": user.is_clinician and psych is None,
        "can_session_note": user.is_therapist,
        "doses_given": sum(1 for d in data["doses"] if d.dosed_at and not d.is_voided and not d.is_maintenance),
        **measures_section,
    }
    return render(request, "web/course_timeline.html", context)


def _course_form_page(
    request, course_id, form_class, template_title, service, *, initial=None, extra=None, form_kwargs=None
):
    """GET shows the form; POST calls the service and returns to the timeline, or re-shows with 400."""
    course = course_get(user=request.user, course_id=course_id)
    form = form_class(request.POST or None, initial=initial or {}, **(form_kwargs or {}))
    if request.method == "POST" and form.is_valid():
        kwargs = dict(form.cleaned_data)
        kwargs.update(extra or {})
        if call_service(form, service, course=course, by=request.user, **kwargs) is not None:
            messages.success(request, f"{template_title} saved.")
            return redirect("course-timeline", course.pk)
    return render_form_page(
        request,
        "web/course_record_form.html",
        {"form": form, "course": course, "title": template_title},
        invalid=request.method == "POST",
    )


@staff_view
def course_status(request, course_id):
    course = course_get(user=request.user, course_id=course_id)
    # The form starts on the stage that comes next, the usual move, or on "discontinued" when the
    # worklist's "close with a reason" sent the user here.
    to = CourseStatus.DISCONTINUED if request.GET.get("to") == CourseStatus.DISCONTINUED else None
    form = CourseStatusForm(
        request.POST or None,
        initial={"to_status": to or services.next_stage(course.status), "effective_on": timezone.localdate()},
    )
    if (
        request.method == "POST"
        and form.is_valid()
        and call_service(form, services.course_change_status, course=course, by=request.user, **form.cleaned_data)
    ):
        messages.success(request, "Course stage changed.")
        return redirect("course-timeline", course.pk)
    return render_form_page(
        request, "web/course_status.html", {"form": form, "course": course}, invalid=request.method == "POST"
    )


@staff_view
def course_follow_up_stop(request, course_id):
    """Stop a discontinued course's follow-up questionnaires, with the reason."""
    course = course_get(user=request.user, course_id=course_id)
    form = FollowUpStopForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and call_service(
            form,
            services.course_follow_up_stop,
            course=course,
            by=request.user,
            **form.cleaned_data,
        )
    ):
        messages.success(request, "Follow-up questionnaires stopped; the reason is on the record.")
        return redirect("course-timeline", course.pk)
    return render_form_page(
        request, "web/course_follow_up_stop.html", {"form": form, "course": course}, invalid=request.method == "POST"
    )


@staff_view
def medical_evaluation_new(request, course_id):
    return _course_form_page(
        request,
        course_id,
        MedicalEvaluationForm,
        "Medical evaluation",
        services.medical_evaluation_add,
        initial={"evaluated_on": timezone.localdate()},
    )


@staff_view
def psychiatric_evaluation_new(request, course_id):
    course = course_get(user=request.user, course_id=course_id, audit=False)
    return _course_form_page(
        request,
        course_id,
        PsychiatricEvaluationForm,
        "Psychiatric evaluation",
        services.psychiatric_evaluation_add,
        initial={"evaluated_on": timezone.localdate(), "indication": course.indication},
    )


@staff_view
def preparatory_session_new(request, course_id):
    return _course_form_page(
        request,
        course_id,
        PreparatorySessionForm,
        "Preparatory session",
        services.preparatory_session_add,
        initial={"held_at": now_local_minute()},
    )


def _integration(**kwargs):
    course = kwargs.pop("course")
    return services.integration_session_add(courses=[course], format=SessionFormat.INDIVIDUAL, **kwargs)


@staff_view
def integration_session_new(request, course_id):
    return _course_form_page(
        request,
        course_id,
        IntegrationSessionForm,
        "Integration session",
        _integration,
        initial={"held_at": now_local_minute()},
    )


@staff_view
def group_integration_new(request):
    """A group integration session: 2–12 courses from the therapist's own caseload."""
    courses = courses_open_choices(request.user)
    form = GroupIntegrationForm(request.POST or None, courses=courses, initial={"held_at": now_local_minute()})
    if request.method == "POST" and form.is_valid():
        session = call_service(
            form, services.integration_session_add, by=request.user, format=SessionFormat.GROUP, **form.cleaned_data
        )
        if session is not None:
            messages.success(
                request, f"Group integration session saved for {len(form.cleaned_data['courses'])} courses."
            )
            return redirect("caseload")
    return render_form_page(
        request,
        "web/course_record_form.html",
        {"form": form, "title": "Group integration session"},
        invalid=request.method == "POST",
    )


@staff_view
def course_adverse_event_new(request, course_id):
    """An adverse event reported outside a dosing session (at integration, by phone)."""
    return _course_form_page(
        request,
        course_id,
        AdverseEventForm,
        "Adverse event",
        services.adverse_event_add,
        initial={"onset_at": now_local_minute()},
    )


@staff_view
@require_POST
def course_age_exception(request, course_id):
    course = course_get(user=request.user, course_id=course_id)
    form = AgeExceptionForm(request.POST)
    if form.is_valid() and call_service(
        form, services.course_age_exception, course=course, by=request.user, reason=form.cleaned_data["reason"]
    ):
        messages.success(request, "Minimum-age exception recorded on the course.")
    else:
        for field_errors in form.errors.values():
            for message in field_errors:
                messages.error(request, f"No exception recorded: {message}")
    return redirect("course-timeline", course.pk)
