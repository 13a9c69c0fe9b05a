"""Patients: list and search (by POST, so no name reaches a URL), register, details, weights, audit."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from courses import services
from courses.selectors import (
    audit_trail_for_patient,
    patient_courses,
    patient_get,
    patient_weights,
    patients_matching,
    patients_with_open_courses,
)
from courses.web.forms.courses import CourseOpenForm
from courses.web.forms.patients import PatientForm, PatientRegisterForm, PatientSearchForm, WeightForm
from kernel.web.views import call_service, paginate, render_form_page, staff_view


@staff_view
def patient_list(request):
    """The search term travels in a POST body: a GET query string would put a name in the URL."""
    patients = patients_with_open_courses(request.user)
    form = PatientSearchForm(request.POST or None)
    searching = request.method == "POST" and form.is_valid() and form.cleaned_data["q"].strip()
    if searching:
        term = form.cleaned_data["q"].strip()
        matches = patients_matching(patients, term)
        results = list(matches[:50])
        return render(request, "web/patient_list.html", {"form": form, "results": results, "searching": True})
    page = paginate(request, patients)
    # A search that was refused (too long, a NUL byte) says so beside the field, answered 400.
    status = 400 if request.method == "POST" and form.errors else 200
    return render(request, "web/patient_list.html", {"form": form, "page": page}, status=status)


@staff_view
def patient_register(request):
    form = PatientRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "weight_kg"}
        patient = call_service(
            form, services.patient_register, by=request.user, weight_kg=form.cleaned_data["weight_kg"], **fields
        )
        if patient is not None:
            messages.success(request, "Patient registered.")
            return redirect("patient-detail", patient.pk)
    return render_form_page(
        request,
        "web/patient_form.html",
        {"form": form, "title": "Register a patient"},
        invalid=request.method == "POST",
    )


def _age(born, today) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _detail_context(request, patient, weight_form=None):
    courses = patient_courses(user=request.user, patient=patient)
    return {
        "patient": patient,
        "age": _age(patient.date_of_birth, timezone.localdate()),
        "weights": patient_weights(patient),
        "courses": courses,
        "weight_form": weight_form or WeightForm(initial={"measured_on": timezone.localdate()}),
    }


@staff_view
def patient_detail(request, patient_id):
    patient = patient_get(user=request.user, patient_id=patient_id)
    return render(request, "web/patient_detail.html", _detail_context(request, patient))


@staff_view
@require_POST
def weight_add(request, patient_id):
    patient = patient_get(user=request.user, patient_id=patient_id)
    form = WeightForm(request.POST)
    if form.is_valid() and call_service(
        form, services.weight_add, patient=patient, by=request.user, **form.cleaned_data
    ):
        messages.success(request, "Weight recorded.")
        return redirect("patient-detail", patient.pk)
    return render(request, "web/patient_detail.html", _detail_context(request, patient, form), status=400)


@staff_view
def patient_edit(request, patient_id):
    patient = patient_get(user=request.user, patient_id=patient_id)
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        changes = form.changed_values()
        reason = changes.pop("reason", "")
        if not (changes or reason) or call_service(
            form, services.patient_update, patient=patient, by=request.user, reason=reason, changes=changes
        ):
            messages.success(request, "Details saved." if changes else "Nothing changed.")
            return redirect("patient-detail", patient.pk)
    return render_form_page(
        request,
        "web/patient_form.html",
        {"form": form, "patient": patient, "title": "Edit patient details"},
        invalid=request.method == "POST",
    )


@staff_view
def course_open(request, patient_id):
    patient = patient_get(user=request.user, patient_id=patient_id)
    initial = {"therapists": [request.user.pk]} if request.user.is_therapist else {}
    initial["started_on"] = timezone.localdate()
    if request.user.is_medical_provider:
        initial["medical_provider"] = request.user.pk
    form = CourseOpenForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        course = call_service(form, services.course_open, patient=patient, by=request.user, **form.cleaned_data)
        if course is not None:
            messages.success(request, "Course opened.")
            return redirect("course-timeline", course.pk)
    return render_form_page(
        request, "web/course_open.html", {"form": form, "patient": patient}, invalid=request.method == "POST"
    )


@staff_view
def patient_audit(request, patient_id):
    if not request.user.is_practice_lead:
        raise PermissionDenied("Only a practice lead can read a patient's audit trail.")
    patient = patient_get(user=request.user, patient_id=patient_id)
    page = paginate(request, audit_trail_for_patient(patient))
    return render(request, "web/patient_audit.html", {"patient": patient, "page": page})
