"""Pages of the reports: the practice outcome report, export requests, their progress and download."""

from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from courses.selectors import course_get
from kernel.web.views import lead_view, staff_view
from reports import selectors, services
from reports.models import ExportKind, ExportStatus
from reports.presentation import report_context
from reports.web.forms import PracticeExportForm, ReportFilterForm

RECENT_EXPORTS = 50


def _report_page(request, form, *, status=200):
    context = {"form": form, "report": None, "counted": None}
    if form.is_valid():
        counted = services.report_counted(form.filters())
        context["counted"] = counted
        if counted.report is not None:
            context |= report_context(counted.report, export=False)
    return render(request, "reports/outcome_report.html", context, status=status)


@lead_view
def outcome_report(request):
    form = ReportFilterForm(request.GET)
    return _report_page(request, form, status=200 if form.is_valid() else 400)


@lead_view
@require_POST
def practice_export(request):
    form = PracticeExportForm(request.POST)
    if not form.is_valid():
        filters = ReportFilterForm(request.POST)
        if filters.is_valid():
            # The filters are fine, so the page would show no problem: say which file was refused.
            if "kind" in form.errors:
                filters.add_error(None, "Not exported: choose the PDF, the CSV or the lists CSV.")
            if "audience" in form.errors:
                filters.add_error(None, "Not exported: " + " ".join(form.errors["audience"]))
        return _report_page(request, filters, status=400)
    try:
        export = services.export_request(
            by=request.user,
            kind=form.cleaned_data["kind"],
            filters=form.filters(),
            audience=form.cleaned_data["audience"] or None,
        )
    except ValidationError as exc:
        # A file the service refuses for its audience (the lists CSV is for inside the clinic only):
        # the report again, with why, and nothing queued.
        filters = ReportFilterForm(request.POST)
        filters.is_valid()
        filters.add_error(None, "Not exported: " + " ".join(exc.messages))
        return _report_page(request, filters, status=400)
    return redirect("report-export", export.pk)


@staff_view
@require_POST
def progress_report(request, course_id):
    course = course_get(user=request.user, course_id=course_id, audit=False)  # the request is audited
    export = services.export_request(by=request.user, kind=ExportKind.PATIENT_PDF, course=course)
    return redirect("report-export", export.pk)


@staff_view
def export_status(request, export_id):
    export = selectors.export_get(user=request.user, export_id=export_id)
    pending = export.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)
    return render(request, "reports/export_status.html", {"export": export, "pending": pending})


@staff_view
def export_download(request, export_id):
    export = selectors.export_get(user=request.user, export_id=export_id)
    try:
        export = services.export_for_download(export=export, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("report-export", export.pk)
    content = selectors.export_content(export)
    response = HttpResponse(bytes(content), content_type=export.content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(export.filename)}"
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@staff_view
def export_list(request):
    exports = selectors.exports_recent(request.user, RECENT_EXPORTS)
    pending = any(e.status in (ExportStatus.QUEUED, ExportStatus.RUNNING) for e in exports)
    return render(request, "reports/export_list.html", {"exports": exports, "pending": pending})
