"""Landing pages: each role goes to the page made for it."""

import datetime as dt

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import redirect, render
from django.utils import timezone

from courses import bedside, hooks
from courses.choices import VitalAlert
from courses.models import AdverseEvent, Dose, IntegrationSession
from courses.progress import CourseFacts, next_steps
from courses.selectors import courses_for, dosing_sessions_for
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


def _count(queryset, key: str = "course"):
    """A per-course count as a correlated subquery, so list pages stay at a fixed query count."""
    counted = queryset.order_by().values(key).annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def with_progress(courses):
    """Annotate courses with the counts `next_steps` needs, in the same single query."""
    doses = Dose.objects.filter(course=OuterRef("pk"), voided_at__isnull=True)
    integration = IntegrationSession.courses.through.objects.filter(
        course_id=OuterRef("pk"), integrationsession__voided_at__isnull=True
    )
    return courses.select_related("patient", "medical_provider").annotate(
        doses_given=_count(doses.filter(dosed_at__isnull=False, is_maintenance=False)),
        doses_unsigned=_count(doses.filter(dosed_at__isnull=False, signed_at__isnull=True)),
        integration_count=_count(integration, "course_id"),
        open_serious=_count(AdverseEvent.objects.serious_unacknowledged().filter(course=OuterRef("pk"))),
    )


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
    courses = courses_for(request.user).active()
    courses = courses if show_closed else courses.open()
    page = paginate(
        request,
        with_progress(courses).prefetch_related("therapists").order_by("patient__family_name", "patient__given_name"),
    )
    page.object_list = course_rows(page.object_list)
    context = {"page": page, "show_closed": show_closed, **safety_banner_context(request.user)}
    return render(request, "web/caseload.html", context)


def safety_banner_context(user) -> dict:
    # The open questionnaire safety alerts of the caseload: measures fills it (courses/hooks.py).
    return hooks.page_context("safety_banner", user=user)


def local_day_bounds(now=None):
    today = timezone.localdate(now)
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(today, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def annotate_states(doses, now=None):
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


def sessions_with_doses(sessions):
    doses = Dose.objects.active().select_related("course__patient", "session", "weight_measurement")
    return (
        sessions.select_related("medical_provider")
        .prefetch_related("facilitators", Prefetch("doses", queryset=doses, to_attr="active_doses"))
        .order_by("starts_at")
    )


@staff_view
def provider_today(request):
    """Today's dosing sessions (the clinic's local day) and the provider's assigned courses."""
    start, end = local_day_bounds()
    sessions = sessions_with_doses(
        dosing_sessions_for(request.user).active().filter(starts_at__gte=start, starts_at__lt=end)
    )
    sessions = list(sessions)
    annotate_states([p for s in sessions for p in s.active_doses])
    courses = with_progress(courses_for(request.user).open()).prefetch_related("therapists")
    page = paginate(request, courses.order_by("patient__family_name", "patient__given_name"))
    page.object_list = course_rows(page.object_list)
    context = {"sessions": sessions, "page": page, "day": start, **safety_banner_context(request.user)}
    return render(request, "web/provider_today.html", context)
