"""The practice lead's measure schedule: which questionnaires when, and the numbers around them."""

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from kernel.web.views import call_service, lead_view, render_form_page
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
        and (saved := call_service(form, services.measure_settings_update, by=request.user, changes=form.values()))
    ):
        _row, moves = saved
        if not moves:
            messages.info(request, "Nothing changed.")
        for move in moves:
            messages.success(request, move_words(move, form.fields))
        return redirect("measure-settings")
    context = {"form": form, "current": current, "instruments": list(INSTRUMENTS.values())}
    return render_form_page(request, "measures/measure_settings.html", context, invalid=request.method == "POST")


def move_words(move: services.SettingMove, fields) -> str:
    """ "Saved +3 months: days after the end: 12 questionnaires not yet answered move … In the report: …"."""
    field = fields.get(move.setting)
    label = field.label if field is not None and field.label else move.setting.replace("_", " ")
    words = f"Saved “{label}”. "
    if move.timepoints:
        n = move.questionnaires
        words += (
            f"{n} questionnaire{'s' if n != 1 else ''} not yet answered "
            f"{'are' if n != 1 else 'is'} being re-planned to it (dates adjusted by hand are kept). "
        )
    return words + f"In the outcome report it moves {move.figures}."


@lead_view
@require_POST
def replan(request):
    count = services.schedule_sync_open_courses()
    messages.success(request, f"Re-planned the questionnaires of {count} course{'s' if count != 1 else ''} in care.")
    return redirect("measure-settings")
