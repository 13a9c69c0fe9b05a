"""Landing pages: each role goes to the page made for it."""

import datetime as dt

from django.shortcuts import redirect, render
from django.utils import timezone

from courses import bedside, hooks
from courses.choices import VitalAlert
from courses.progress import CourseFacts, next_steps
from courses.selectors import caseload_courses, dosing_sessions_between, open_courses_with_progress
from kernel.web.views import paginate, staff_view

ALERT_WORDS = dict(VitalAlert.choices)


@staff_view
def home(request):
    user = request.user
    if user.is_practice_lead:
        return redirect("lead-dashboard")
    if user.is_medical_provider:
        return redirect("provider-today")
    return redirect("caseload")


def course_rows(courses):
    """Courses of a list page with their next steps: what the next dose waits for comes from the
    services' own rule (courses.bedside.course_states), in a fixed number of queries per page."""
    rows = list(courses)
    states = bedside.course_states(rows, on=timezone.localdate())
    for course in rows:
        state = states[course.pk]
        course.cleared = state.cleared
        course.next_steps = next_steps(
            CourseFacts(
                status=course.status,
                blockers=tuple(state.blockers),
                doses_given=course.doses_given,
                planned_sessions=course.planned_dosing_sessions,
                integration_sessions=course.integration_count,
                open_serious_events=course.open_serious,
                doses_awaiting_signature=course.doses_unsigned,
            )
        )
    return rows


@staff_view
def caseload(request):
    """A therapist's own courses (a lead sees all), open ones first, with what is due next."""
    show_closed = request.GET.get("closed") == "1"
    page = paginate(request, caseload_courses(request.user, show_closed=show_closed))
    page.object_list = course_rows(page.object_list)
    context = {"page": page, "show_closed": show_closed, **safety_banner_context(request.user)}
    return render(request, "web/caseload.html", context)


def safety_banner_context(user) -> dict:
    # The open questionnaire safety alerts of the caseload: measures fills it (courses/hooks.py).
    return hooks.page_context("safety_banner", user=user)


def local_day_bounds(now: dt.datetime | None = None):
    today = timezone.localdate(now)
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(today, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def annotate_states(doses, now: dt.datetime | None = None):
    """Each dose of a page with its dose state (courses.bedside), for the cards: the
    hold, what is still needed before dosing, vitals overdue, open alerts. One computation with
    the services' refusals, in a fixed number of queries for the whole page."""
    now = now or timezone.now()
    states = bedside.dose_states(doses, now=now)
    for p in doses:
        p.state = states[p.pk]
        readings = [r for r in getattr(p, "all_vitals", []) if not r.is_voided]
        p.latest = readings[-1] if readings else None
        if p.latest:
            p.latest.alert_words = [ALERT_WORDS.get(a, a) for a in p.latest.alerts]
        p.hold_active = p.state.hold.active
        for alert in p.state.open_alerts:
            alert.alert_words = [ALERT_WORDS.get(a, a) for a in alert.alerts]
    return doses


@staff_view
def provider_today(request):
    """Today's dosing sessions (the clinic's local day) and the provider's assigned courses."""
    start, end = local_day_bounds()
    sessions = dosing_sessions_between(user=request.user, start=start, end=end)
    annotate_states([p for s in sessions for p in s.active_doses])
    page = paginate(request, open_courses_with_progress(request.user))
    page.object_list = course_rows(page.object_list)
    context = {"sessions": sessions, "page": page, "day": start, **safety_banner_context(request.user)}
    return render(request, "web/provider_today.html", context)
