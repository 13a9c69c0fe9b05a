"""Clinicians' actions on a course's questionnaires: enter answers, move a window, cancel, add."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from courses.selectors import course_get
from kernel.web.views import call_service, render_form_page, staff_view
from measures import services
from measures.instruments import INSTRUMENTS
from measures.models import AdministrationStatus
from measures.selectors import administration_get
from measures.web.forms import AddAdministrationForm, AdjustWindowForm, CancelForm, ClinicianEntryForm, WaiveForm

ENTERABLE = (AdministrationStatus.SCHEDULED, AdministrationStatus.OPEN, AdministrationStatus.MISSED)
MOVABLE = (AdministrationStatus.SCHEDULED, AdministrationStatus.OPEN)
WAIVABLE = services.WAIVABLE


def _back(administration) -> str:
    return reverse("course-timeline", args=[administration.course_id]) + "#questionnaires"


@staff_view
def enter_answers(request, administration_id):
    """A therapist or medical provider on the course enters the answers given in session."""
    if not request.user.is_clinician:
        raise PermissionDenied("Only a therapist or medical provider can enter answers for a patient.")
    administration = administration_get(user=request.user, administration_id=administration_id)
    definition = INSTRUMENTS[administration.instrument]
    form = ClinicianEntryForm(request.POST or None, definition=definition)
    if request.method == "POST" and form.is_valid():
        response = call_service(
            form,
            services.response_enter,
            administration=administration,
            by=request.user,
            answers=form.answers(),
            answered_at=form.cleaned_data["answered_at"],
        )
        if response is not None:
            if response.complete:
                messages.success(request, f"{definition.name} entered: {response.total} ({response.band}).")
            else:
                messages.warning(request, f"{definition.name} entered as incomplete (not every item answered).")
            if response.safety_item_value:
                messages.error(request, "PHQ-9 item 9 was answered above 0: a safety alert is open for this course.")
            return redirect(_back(administration))
    context = {
        "form": form,
        "administration": administration,
        "definition": definition,
        "course": administration.course,
        "enterable": administration.status in ENTERABLE,
    }
    return render_form_page(request, "measures/enter_answers.html", context, invalid=request.method == "POST")


@staff_view
def adjust_window(request, administration_id):
    administration = administration_get(user=request.user, administration_id=administration_id)
    initial = {f: getattr(administration, f) for f in ("open_from", "target_date", "due_by", "missed_after")}
    form = AdjustWindowForm(request.POST or None, initial=initial)
    if (
        request.method == "POST"
        and form.is_valid()
        and call_service(
            form, services.administration_adjust, administration=administration, by=request.user, **form.cleaned_data
        )
    ):
        messages.success(request, f"Window of {administration.get_instrument_display()} moved for this course.")
        return redirect(_back(administration))
    context = {"form": form, "administration": administration, "course": administration.course, "action": "adjust"}
    return render_form_page(request, "measures/administration_form.html", context, invalid=request.method == "POST")


def _with_reason(request, administration_id, form_class, service, action: str, done: str):
    """A questionnaire closed with a reason (cancelled, or a baseline waived): the form, the service."""
    administration = administration_get(user=request.user, administration_id=administration_id)
    form = form_class(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and call_service(
            form, service, administration=administration, by=request.user, reason=form.cleaned_data["reason"]
        )
    ):
        messages.success(request, done.format(name=administration.get_instrument_display()))
        return redirect(_back(administration))
    context = {"form": form, "administration": administration, "course": administration.course, "action": action}
    return render_form_page(request, "measures/administration_form.html", context, invalid=request.method == "POST")


@staff_view
def cancel(request, administration_id):
    return _with_reason(
        request,
        administration_id,
        CancelForm,
        services.administration_cancel,
        "cancel",
        "{name} cancelled for this course.",
    )


@staff_view
def waive(request, administration_id):
    """A clinician lets the first dose go ahead without this baseline questionnaire, saying why."""
    return _with_reason(
        request,
        administration_id,
        WaiveForm,
        services.administration_waive,
        "waive",
        "Baseline {name} waived; the reason is on record.",
    )


@staff_view
def add(request, course_id):
    course = course_get(user=request.user, course_id=course_id)
    today = timezone.localdate()
    form = AddAdministrationForm(
        request.POST or None, initial={"open_from": today, "missed_after": today + timezone.timedelta(days=7)}
    )
    if request.method == "POST" and form.is_valid():
        added = call_service(form, services.administration_add, course=course, by=request.user, **form.cleaned_data)
        if added is not None:
            messages.success(request, f"Additional {added.get_instrument_display()} added.")
            return redirect(_back(added))
    context = {"form": form, "course": course, "action": "add"}
    return render_form_page(request, "measures/administration_form.html", context, invalid=request.method == "POST")


@staff_view
@require_POST
def new_link(request, administration_id):
    """Send the patient a fresh self-report link; the earlier links stop working."""
    administration = administration_get(user=request.user, administration_id=administration_id)
    try:
        services.administration_send_new_link(administration=administration, by=request.user)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, "A new link is on its way to the patient; earlier links no longer work.")
    return redirect(_back(administration))
