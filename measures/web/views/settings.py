"""The practice lead's measure schedule: which questionnaires when, and the numbers around them."""

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from courses.web.common import call_service, lead_view, render_form_page
from measures import services
from measures.instruments import INSTRUMENTS
from measures.models import MeasureSettings
from measures.web.forms import MeasureSettingsForm


@lead_view
def measure_settings(request):
    current = MeasureSettings.load()
    form = MeasureSettingsForm(request.POST or None, current=current)
    if (
        request.method == "POST"
        and form.is_valid()
        and call_service(form, services.measure_settings_update, by=request.user, **form.values())
    ):
        messages.success(
            request,
            "Measure schedule saved. Open courses pick it up when re-planned (button below) or at their next event.",
        )
        return redirect("measure-settings")
    context = {"form": form, "current": current, "instruments": list(INSTRUMENTS.values())}
    return render_form_page(request, "measures/measure_settings.html", context, invalid=request.method == "POST")


@lead_view
@require_POST
def replan(request):
    count = services.schedule_sync_open_courses()
    messages.success(request, f"Re-planned the questionnaires of {count} course{'s' if count != 1 else ''} in care.")
    return redirect("measure-settings")
