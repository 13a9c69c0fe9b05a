"""Finding and registering patients, their details and weights."""

from django import forms

from courses import kinds
from courses.models import Patient
from courses.web.forms.base import ServiceModelForm, VersionedForm
from kernel.web.forms import DateInput, numeric, reason_field


class PatientSearchForm(forms.Form):
    q = forms.CharField(label="Name or MRN", max_length=80, required=False)


class _PatientDetailsForm(ServiceModelForm):
    class Meta:
        model = Patient
        fields = kinds.PATIENT_FIELDS
        widgets = {"date_of_birth": DateInput()}


class PatientForm(VersionedForm, _PatientDetailsForm):
    reason = reason_field(
        "Reason for changing the date of birth",
        rows=2,
        help_text="Needed once the patient has a course: the date of birth decides the minimum-age rule.",
    )


class PatientRegisterForm(_PatientDetailsForm):
    weight_kg = forms.DecimalField(
        label="First weight (kg, optional)",
        required=False,
        max_digits=5,
        decimal_places=1,
        widget=numeric(decimal=True, attrs={"step": "0.1"}),
    )


class WeightForm(forms.Form):
    measured_on = forms.DateField(label="Measured on", widget=DateInput())
    weight_kg = forms.DecimalField(
        label="Weight (kg)", max_digits=5, decimal_places=1, widget=numeric(decimal=True, attrs={"step": "0.1"})
    )
    change_reason = reason_field(
        "If it differs by more than 10% from a recent weight: why",
        rows=2,
        help_text="Re-weighed and confirmed, an illness, or the earlier weight was wrong.",
    )
