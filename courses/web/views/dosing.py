"""Dosing sessions, and the page of one dose: vitals, hold, dose, events, discharge."""

import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from courses import bedside, hooks, selectors, services
from courses.choices import VitalAlert, VitalPhase
from courses.selectors import amendments_for, dose_get, dosing_session_get
from courses.web.forms.adverse_events import AdverseEventForm
from courses.web.forms.base import now_local_minute
from courses.web.forms.dosing import (
    DischargeExceptionForm,
    DischargeForm,
    DoseForm,
    DosingSessionScheduleForm,
    FacilitationNoteForm,
    GiveDoseForm,
    HoldOverrideForm,
    InSessionAlertCloseForm,
    LeftEarlyForm,
    VitalsForm,
)
from courses.web.views.home import annotate_states, local_day_bounds
from kernel.web.views import call_service, paginate, render_form_page, staff_view

ALERT_WORDS = dict(VitalAlert.choices)


@staff_view
def session_list(request):
    """Today's sessions first, then upcoming, then past (paginated)."""
    start, end = local_day_bounds()
    today, upcoming, past = selectors.dosing_sessions_by_day(user=request.user, start=start, end=end)
    past = paginate(request, past)
    return render(request, "web/session_list.html", {"today": today, "upcoming": upcoming, "past": past})


@staff_view
def session_schedule(request):
    start = now_local_minute() + dt.timedelta(hours=1)
    initial = {"starts_at": start, "ends_at": start + dt.timedelta(hours=3)}
    if request.user.is_medical_provider:
        initial["medical_provider"] = request.user.pk
    if request.user.is_therapist:
        initial["facilitators"] = [request.user.pk]
    form = DosingSessionScheduleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        session = call_service(form, services.dosing_session_schedule, by=request.user, **form.cleaned_data)
        if session is not None:
            messages.success(request, "Dosing session scheduled.")
            return redirect("dosing-session", session.pk)
    return render_form_page(request, "web/session_schedule.html", {"form": form}, invalid=request.method == "POST")


def _session_context(request, session, note_form=None):
    doses = selectors.session_doses(session)
    user = request.user
    return {
        "session": session,
        "doses": annotate_states(doses),
        "active_count": sum(1 for p in doses if not p.is_voided),
        "note_form": note_form or FacilitationNoteForm(instance=session),
        "is_facilitator": user.is_therapist and any(f.pk == user.pk for f in session.facilitators.all()),
        "is_provider": user.is_medical_provider,
    }


@staff_view
def session_detail(request, session_id):
    session = dosing_session_get(user=request.user, session_id=session_id)
    return render(request, "web/session_detail.html", _session_context(request, session))


@staff_view
@require_POST
def session_note(request, session_id):
    session = dosing_session_get(user=request.user, session_id=session_id)
    form = FacilitationNoteForm(request.POST, instance=session)
    # Only what this facilitator changed is written: a co-facilitator's edit of the other field stays.
    if form.is_valid() and call_service(
        form, services.dosing_session_note, session=session, by=request.user, **form.changed_values()
    ):
        messages.success(request, "Facilitation note saved.")
        return redirect("dosing-session", session.pk)
    return render(request, "web/session_detail.html", _session_context(request, session, form), status=400)


@staff_view
def dose_add(request, session_id):
    session = dosing_session_get(user=request.user, session_id=session_id)
    courses = selectors.dose_candidate_courses(request.user, session)
    form = DoseForm(request.POST or None, courses=courses)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        maintenance = data.pop("maintenance")
        dose = call_service(
            form, services.dose_add, session=session, by=request.user, is_maintenance=maintenance, **data
        )
        if dose is not None:
            messages.success(request, "Participant added.")
            return redirect("dose", dose.pk)
    weights = {str(c.pk): str(c.latest_weight) for c in courses if c.latest_weight is not None}
    return render_form_page(
        request,
        "web/dose_add.html",
        {"form": form, "session": session, "weights": weights},
        invalid=request.method == "POST",
    )


# --- the dose page -----------------------------------------------------------------------------


def _vitals_form(dose, data=None):
    phase = VitalPhase.PRE_DOSE if dose.dosed_at is None else VitalPhase.DURING
    return VitalsForm(data, initial={"phase": phase, "taken_at": now_local_minute()})


def _alert_forms(state, events, posted=None):
    """A close form per open in-session alert (the one just posted keeps what was typed)."""
    for alert in state.open_alerts:
        alert.alert_words = [ALERT_WORDS.get(a, a) for a in alert.alerts]
        if posted is not None and posted.prefix == f"alert-{alert.pk}":
            alert.close_form = posted
        else:
            alert.close_form = InSessionAlertCloseForm(prefix=f"alert-{alert.pk}", events=events)
    return state.open_alerts


def _render_dose(request, dose, status=200, **forms):
    now = timezone.now()
    state = bedside.dose_state(dose, now=now)
    readings = selectors.dose_readings(dose)
    for r in readings:
        r.alert_words = [ALERT_WORDS.get(a, a) for a in r.alerts]
    events = selectors.dose_adverse_events(dose)
    closed_alerts = selectors.dose_alerts_closed(dose)
    for alert in closed_alerts:
        alert.alert_words = [ALERT_WORDS.get(a, a) for a in alert.alerts]
    amendments = amendments_for([dose, *readings, *events])
    for record in [dose, *readings, *events]:
        record.amendment_list = amendments.get(record.pk, [])
    earliest = None
    if dose.dosed_at:
        earliest = dose.dosed_at + selectors.minimum_monitoring(dose)
    discharge_class = DischargeExceptionForm if state.discharge_needs_exception else DischargeForm
    context = {
        "dose": dose,
        "session": dose.session,
        "course": dose.course,
        "patient": dose.course.patient,
        "state": state,
        "readings": readings,
        "events": events,
        "open_alerts": _alert_forms(state, [e for e in events if not e.is_voided], forms.get("alert_form")),
        "closed_alerts": closed_alerts,
        # Lapsed ones too, marked: the record shows every decision, not only those still in force.
        "overrides": selectors.dose_hold_overrides(dose),
        # The course's questionnaire safety alerts: measures' section (courses/hooks.py).
        **hooks.page_context("dose", user=request.user, course=dose.course),
        "hold_active": state.hold.active,
        "earliest_discharge": earliest,
        "monitoring_minutes": int(selectors.minimum_monitoring(dose).total_seconds() // 60),
        "locked": dose.is_signed or dose.is_voided,
        "is_provider": request.user.is_medical_provider,
        "vitals_form": forms.get("vitals_form") or _vitals_form(dose),
        "override_form": forms.get("override_form") or HoldOverrideForm(),
        "give_form": forms.get("give_form") or GiveDoseForm(),
        "ae_form": forms.get("ae_form") or AdverseEventForm(initial={"onset_at": now_local_minute()}),
        "discharge_form": forms.get("discharge_form") or discharge_class(),
        "left_form": forms.get("left_form") or LeftEarlyForm(),
        "open_form": forms.get("open_form", ""),
    }
    return render(request, "web/dose.html", context, status=status)


@staff_view
def dose_page(request, dose_id):
    dose = dose_get(user=request.user, dose_id=dose_id)
    return _render_dose(request, dose)


def _dose_post(request, dose_id, form_class, form_name, service, success, args=None):
    dose = dose_get(user=request.user, dose_id=dose_id)
    form = form_class(request.POST) if form_class is not VitalsForm else _vitals_form(dose, request.POST)
    if form.is_valid():
        kwargs = (args or (lambda cd: cd))(dict(form.cleaned_data))
        if call_service(form, service, dose=dose, by=request.user, **kwargs) is not None:
            messages.success(request, success)
            return redirect("dose", dose.pk)
    dose.refresh_from_db()
    # The form's own section is gone once the act is done (a second click, another tab): its
    # refusal is said at the top of the page instead, so it is never silent.
    done = {
        "give_form": dose.dosed_at,
        "discharge_form": dose.discharged_at,
        "left_form": dose.discharged_at,
    }.get(form_name)
    if done:
        for error in form.non_field_errors():
            messages.error(request, error)
    return _render_dose(request, dose, status=400, open_form=form_name, **{form_name: form})


@staff_view
@require_POST
def vitals_add(request, dose_id):
    return _dose_post(request, dose_id, VitalsForm, "vitals_form", services.vital_reading_add, "Vital signs recorded.")


@staff_view
@require_POST
def hold_override(request, dose_id):
    return _dose_post(
        request,
        dose_id,
        HoldOverrideForm,
        "override_form",
        services.dosing_hold_override,
        "Pre-dose hold overridden; the reason is on the record.",
    )


@staff_view
@require_POST
def give_dose(request, dose_id):
    return _dose_post(
        request,
        dose_id,
        GiveDoseForm,
        "give_form",
        services.dose_administer,
        "Dose recorded as given.",
        args=lambda cd: {"dosed_at": cd["dosed_at"]} if cd.get("dosed_at") else {},
    )


@staff_view
@require_POST
def adverse_event_add(request, dose_id):
    return _dose_post(
        request, dose_id, AdverseEventForm, "ae_form", services.adverse_event_add, "Adverse event recorded."
    )


@staff_view
@require_POST
def discharge(request, dose_id):
    return _dose_post(
        request,
        dose_id,
        DischargeExceptionForm,
        "discharge_form",
        services.dose_discharge,
        "Discharged.",
        args=lambda cd: {k: v for k, v in cd.items() if not (k == "discharged_at" and v is None)},
    )


@staff_view
@require_POST
def left_before_discharge(request, dose_id):
    """The patient left before the discharge checks were met: the dose ends, saying what happened."""
    return _dose_post(
        request,
        dose_id,
        LeftEarlyForm,
        "left_form",
        services.dose_discharge,
        "Recorded: the patient left before discharge.",
        args=lambda cd: {
            "exception_reason": cd["exception_reason"],
            "left_before_discharge": True,
            "alert_oriented": False,
            "escort_present": False,
            "no_driving_advised": False,
            **({"discharged_at": cd["discharged_at"]} if cd.get("discharged_at") else {}),
        },
    )


@staff_view
@require_POST
def alert_close(request, dose_id, in_session_alert_id):
    dose = dose_get(user=request.user, dose_id=dose_id)
    alert = selectors.in_session_alert_get(dose=dose, alert_id=in_session_alert_id)
    events = selectors.dose_adverse_events_active(dose)
    form = InSessionAlertCloseForm(request.POST, prefix=f"alert-{alert.pk}", events=events)
    if form.is_valid() and call_service(
        form,
        services.in_session_alert_close,
        alert=alert,
        by=request.user,
        action=form.cleaned_data["action"],
        note=form.cleaned_data["note"],
        adverse_event=form.cleaned_data["adverse_event"],
    ):
        messages.success(request, "Alert closed; what was done is on the record.")
        return redirect("dose", dose.pk)
    return _render_dose(request, dose, status=400, alert_form=form)
