"""The practice lead's pages: safety dashboard, staff accounts, clinic settings."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import invitations
from courses import hooks, services
from courses.choices import COURSE_STAGES, CourseStatus, SeriousCriterion, VitalAlert
from courses.models import ClinicSettings
from courses.selectors import (
    course_stage_counts,
    discharge_exceptions_recent,
    hold_overrides_recent,
    in_session_alerts_open,
    record_get,
    serious_events_unacknowledged,
    staff_list,
    staff_member_get,
    vital_alerts_recent,
)
from courses.web.forms.adverse_events import AcknowledgeForm
from courses.web.forms.lead import ClinicSettingsForm, StaffInviteForm
from courses.web.views.home import safety_banner_context
from kernel.web.views import add_service_errors, call_service, lead_view, render_form_page
from ops.heartbeats import banner as heartbeat_banner

ALERT_WORDS = dict(VitalAlert.choices)
CRITERIA_WORDS = dict(SeriousCriterion.choices)
RECENT = 20


def _dashboard(request, ack_forms=None, status=200):
    ack_forms = ack_forms or {}
    events = list(serious_events_unacknowledged().order_by("onset_at")[:50])
    for event in events:
        event.ack_form = ack_forms.get(event.pk) or AcknowledgeForm(prefix=f"ae-{event.pk}")
        event.criteria_words = [CRITERIA_WORDS.get(c, c) for c in event.serious_criteria]
    counts = course_stage_counts()
    stages = [(s.label, counts.get(s, 0)) for s in [*COURSE_STAGES, CourseStatus.DISCONTINUED]]
    alerts = vital_alerts_recent(RECENT)
    for reading in alerts:
        reading.alert_words = [ALERT_WORDS.get(a, a) for a in reading.alerts]
    overrides = hold_overrides_recent(RECENT)
    exceptions = discharge_exceptions_recent(RECENT)
    open_alerts = in_session_alerts_open(RECENT)
    for alert in open_alerts:
        alert.alert_words = [ALERT_WORDS.get(a, a) for a in alert.alerts]
    context = {
        "events": events,
        "stages": stages,
        "alerts": alerts,
        "overrides": overrides,
        "discharge_exceptions": exceptions,
        "open_in_session_alerts": open_alerts,
        # escalated_safety_alerts, undelivered: the questionnaires' part, from measures (courses/hooks.py).
        **hooks.page_context("lead_dashboard", user=request.user),
        # "Questionnaires are not being sent: …" when beat or the worker has stopped (ops/heartbeats.py).
        "heartbeat_banner": heartbeat_banner(),
        **safety_banner_context(request.user),
    }
    return render(request, "web/lead_dashboard.html", context, status=status)


@lead_view
def dashboard(request):
    return _dashboard(request)


@lead_view
@require_POST
def acknowledge(request, event_id):
    event = record_get(user=request.user, record_type="adverse-event", record_id=event_id)
    form = AcknowledgeForm(request.POST, prefix=f"ae-{event.pk}")
    if form.is_valid() and call_service(
        form, services.adverse_event_acknowledge, event=event, by=request.user, note=form.cleaned_data["note"]
    ):
        messages.success(request, "Serious adverse event acknowledged.")
        return redirect("lead-dashboard")
    if not form.errors:
        form.add_error(None, "Not acknowledged.")
    return _dashboard(request, {event.pk: form}, status=400)


def _staff_page(request, form=None, status=200):
    staff = staff_list()
    context = {"staff": staff, "form": form or StaffInviteForm(), "invitation_days": settings.INVITATION_DAYS}
    return render(request, "web/staff.html", context, status=status)


@lead_view
def staff(request):
    if request.method != "POST":
        return _staff_page(request)
    form = StaffInviteForm(request.POST)
    created = form.is_valid() and call_service(form, services.staff_invite, by=request.user, **form.cleaned_data)
    if not created:
        return _staff_page(request, form, status=400)
    member, sent = created
    if sent:
        messages.success(request, f"Account {member.username} created; the invitation is mailed to {member.email}.")
    else:
        messages.error(
            request,
            f"Account {member.username} created, but the invitation mail could not be sent: send it again below.",
        )
    return redirect("staff")


@lead_view
@require_POST
def staff_invite_again(request, user_id):
    """A new invitation link (the earlier one stops working), for a colleague who has no password yet."""
    member = staff_member_get(user_id)
    if member.has_usable_password() or not member.is_active or not member.email:
        messages.error(
            request, f"{member} needs no invitation: they have a password, are deactivated or have no email."
        )
    elif member.is_superuser and not request.user.is_superuser:
        messages.error(request, "An administrator account is managed by another administrator, not by a practice lead.")
    elif invitations.send_invitation(by=request.user, user=member):
        messages.success(request, f"A new invitation is mailed to {member.email}.")
    else:
        messages.error(request, "The invitation mail could not be sent: try again later.")
    return redirect("staff")


@lead_view
@require_POST
def staff_active(request, user_id):
    member = staff_member_get(user_id)
    active = request.POST.get("active") == "1"
    try:
        services.staff_set_active(by=request.user, user=member, active=active)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"{member} {'activated' if active else 'deactivated'}.")
    return redirect("staff")


@lead_view
def clinic_settings(request):
    current = ClinicSettings.load()
    form = ClinicSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        changes = form.changed_values()
        try:
            if changes:
                services.clinic_settings_update(by=request.user, changes=changes)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Settings saved." if changes else "Nothing changed.")
            return redirect("clinic-settings")
    return render_form_page(
        request, "web/clinic_settings.html", {"form": form, "current": current}, invalid=request.method == "POST"
    )
