"""Right of access: the practice lead exports a patient's full record as one JSON file."""

from urllib.parse import quote

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse

from courses.selectors import patient_get
from kernel.web.views import call_service, render_form_page, staff_view
from reports.record_export import (
    AUDIT_REASON_KEPT,
    CONTENT_TYPE,
    REASON_MAX_LENGTH,
    SECTIONS,
    patient_record_export,
)

NOT_LEAD = "Only the practice lead exports a patient's full record (right of access). Ask the practice lead."


class RecordExportForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the audit trail and at the top of the file, e.g. 'Patient request received 2026-03-02'. "
        f"At most {REASON_MAX_LENGTH} characters (the audit trail keeps the first {AUDIT_REASON_KEPT}; the file keeps "
        "it whole).",
    )


@staff_view
def record_export(request, patient_id):
    # The role is checked before the patient is looked up: a clinician learns nothing about who exists.
    if not request.user.is_practice_lead:
        raise PermissionDenied(NOT_LEAD)
    posting = request.method == "POST"
    patient = patient_get(user=request.user, patient_id=patient_id, audit=not posting)
    # Bound on every POST, an empty one included, so a missing reason is named next to its field.
    form = RecordExportForm(request.POST if posting else None)
    if posting and form.is_valid():
        result = call_service(
            form, patient_record_export, patient=patient, by=request.user, reason=form.cleaned_data["reason"]
        )
        if result is not None:
            filename, content = result
            response = HttpResponse(content, content_type=CONTENT_TYPE)
            response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
            response["Cache-Control"] = "no-store"
            response["X-Content-Type-Options"] = "nosniff"
            return response
    sections = [(name.replace("courses[].", "").replace("_", " "), text) for name, text in SECTIONS.items()]
    return render_form_page(
        request,
        "web/record_export.html",
        {"patient": patient, "form": form, "sections": sections},
        invalid=posting,
    )
