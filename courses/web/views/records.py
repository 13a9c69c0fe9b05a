"""Any record by type: edit while unsigned, sign, amend once signed, void with a reason."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from courses import kinds, services
from courses.selectors import record_get, record_patient
from courses.web.forms.records import AmendmentReasonForm, VoidForm, edited_here, record_form
from kernel.web.views import add_service_errors, call_service, posted_version, staff_view


def _context(record, **extra):
    return {
        "record": record,
        "record_label": record._meta.verbose_name,
        "back": record.get_absolute_url(),
        "patient": record_patient(record),
        **extra,
    }


@staff_view
@require_POST
def record_sign(request, record_type, record_id):
    record = record_get(user=request.user, record_type=record_type, record_id=record_id)
    try:
        services.record_sign(record=record, by=request.user, version=posted_version(request))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, f"Not signed: {message}")
    except services.RecordChanged as exc:
        messages.error(request, f"Not signed: {exc}")
    else:
        messages.success(request, f"{record._meta.verbose_name.capitalize()} signed and locked.")
    return redirect(record.get_absolute_url())


@staff_view
def record_edit(request, record_type, record_id):
    record = record_get(user=request.user, record_type=record_type, record_id=record_id)
    kind = kinds.of(record)
    if not edited_here(kind):
        raise Http404("This record is not edited here.")
    form = record_form(kind, kind.editable, record, request.POST or None, editing=True)
    if request.method == "POST" and form.is_valid():
        changes = form.changed_values()
        if not changes or call_service(form, services.record_update, record=record, by=request.user, changes=changes):
            messages.success(request, "Saved." if changes else "Nothing changed.")
            return redirect(record.get_absolute_url())
    status = 400 if request.method == "POST" else 200
    return render(request, "web/record_edit.html", _context(record, form=form), status=status)


@staff_view
def record_amend(request, record_type, record_id):
    record = record_get(user=request.user, record_type=record_type, record_id=record_id)
    kind = kinds.of(record)
    if not kind.amendable:
        raise Http404("This record is not amended here.")
    data = request.POST or None
    form = record_form(kind, kind.amendable, record, data)
    reason_form = AmendmentReasonForm(data)
    if request.method == "POST" and form.is_valid() and reason_form.is_valid():
        try:
            services.record_amend(
                record=record,
                by=request.user,
                changes=form.changed_values(),
                reason=reason_form.cleaned_data["reason"],
                version=form.read_version(),
            )
        except services.RecordChanged as exc:
            form.show_conflict(exc)
        except ValidationError as exc:
            errors = exc.error_dict if hasattr(exc, "error_dict") else {None: exc.error_list}
            for field, field_errors in errors.items():
                if field == "reason":
                    reason_form.add_error("reason", field_errors)
                else:
                    add_service_errors(form, ValidationError({field or "__all__": field_errors}))
        else:
            messages.success(request, "Amendment recorded beside the original.")
            return redirect(record.get_absolute_url())
    status = 400 if request.method == "POST" else 200
    return render(request, "web/record_amend.html", _context(record, form=form, reason_form=reason_form), status=status)


@staff_view
def record_void(request, record_type, record_id):
    record = record_get(user=request.user, record_type=record_type, record_id=record_id)
    form = VoidForm(request.POST or None, record_version=record.version)
    if (
        request.method == "POST"
        and form.is_valid()
        and call_service(form, services.record_void, record=record, by=request.user, reason=form.cleaned_data["reason"])
    ):
        messages.success(request, f"{record._meta.verbose_name.capitalize()} voided; it stays on the record.")
        return redirect(record.get_absolute_url())
    status = 400 if request.method == "POST" else 200
    return render(request, "web/record_void.html", _context(record, form=form), status=status)
