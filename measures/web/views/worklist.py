"""The worklist (the safety-alert mail links here): what needs a clinician across the caseload."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from kernel.web.views import call_service, staff_view
from measures import services
from measures.selectors import message_get, safety_alert_get, worklist_for
from measures.web.forms import AcknowledgeAlertForm


def _worklist(request, ack_forms=None, status=200):
    ack_forms = ack_forms or {}
    worklist = worklist_for(user=request.user)
    for alert in worklist.alerts:
        alert.ack_form = ack_forms.get(alert.pk) or AcknowledgeAlertForm(prefix=f"alert-{alert.pk}")
    return render(request, "measures/worklist.html", {"worklist": worklist}, status=status)


@staff_view
def worklist(request):
    return _worklist(request)


@staff_view
@require_POST
def alert_acknowledge(request, alert_id):
    alert = safety_alert_get(user=request.user, alert_id=alert_id)
    form = AcknowledgeAlertForm(request.POST, prefix=f"alert-{alert.pk}")
    if form.is_valid() and call_service(
        form,
        services.safety_alert_acknowledge,
        alert=alert,
        by=request.user,
        action_note=form.cleaned_data["action_note"],
    ):
        messages.success(request, "Safety alert acknowledged; your note is on the record.")
        return redirect(request.POST["next"] if _safe_next(request) else "worklist")
    if not form.errors:
        form.add_error(None, "Not acknowledged.")
    return _worklist(request, {alert.pk: form}, status=400)


def _safe_next(request) -> bool:
    # A path on this site only. Django's check also refuses "/\\evil.example", which browsers
    # read as "//evil.example", and control characters that would break the Location header.
    target = request.POST.get("next", "")
    return target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


@staff_view
@require_POST
def message_resend(request, message_id):
    message = message_get(user=request.user, message_id=message_id)
    try:
        services.message_retry(message=message, by=request.user)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        # message_retry queues it once the retry is committed.
        messages.success(request, "Message put back in the queue; it will be sent again shortly.")
    return redirect("worklist")
