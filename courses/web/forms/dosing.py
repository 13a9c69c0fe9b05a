"""The dosing day: scheduling a session, adding a patient's dose, the facilitation note, vitals,
the hold override, giving the dose, closing an alert, discharge."""

from django import forms
from django.utils import timezone

from accounts.models import Role, User
from courses import kinds
from courses.choices import IN_SESSION_ALERT_CHOICES, PregnancyTest, VitalPhase
from courses.models import Course, Dose, DosingSession
from courses.selectors import staff_active
from courses.web.forms.base import (
    CourseChoiceField,
    ServiceModelForm,
    StaffChoiceField,
    StaffMultipleChoiceField,
    VersionedForm,
)
from kernel.web.forms import DateTimeInput, numeric, reason_field


class DosingSessionScheduleForm(ServiceModelForm):
    medical_provider = StaffChoiceField(queryset=User.objects.none(), label="Medical provider")
    facilitators = StaffMultipleChoiceField(
        queryset=User.objects.none(), widget=forms.CheckboxSelectMultiple, label="Facilitating therapist(s)"
    )

    class Meta:
        model = DosingSession
        fields = ("format", "starts_at", "ends_at", "medical_provider", "facilitators", "location", "others_present")
        widgets = {"starts_at": DateTimeInput(), "ends_at": DateTimeInput()}
        labels = {"starts_at": "Starts at", "ends_at": "Planned end"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["medical_provider"].queryset = staff_active(Role.MEDICAL_PROVIDER)
        self.fields["facilitators"].queryset = staff_active(Role.THERAPIST)


class DoseForm(ServiceModelForm):
    course = CourseChoiceField(queryset=Course.objects.none(), label="Patient / course")
    weighed_now = forms.BooleanField(
        label="Weighed now (record this weight)",
        required=False,
        help_text="Leave unticked to use the patient's recorded weight, if it is recent enough.",
    )
    maintenance = forms.TypedChoiceField(
        label="Dose in the series",
        choices=[("", "Decide from the course stage"), ("False", "Acute series"), ("True", "Maintenance / booster")],
        coerce=lambda v: v == "True",
        empty_value=None,
        required=False,
    )

    class Meta:
        model = Dose
        fields = ("course", *kinds.DOSE_FIELDS)
        widgets = {
            "dose_mg": numeric(decimal=True, attrs={"step": "0.1"}),
            "weight_kg": numeric(decimal=True, attrs={"step": "0.1"}),
            "over_maximum_reason": forms.Textarea(attrs={"rows": 2}),
            "concomitant_medications": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, courses=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = courses
        self.fields["weight_kg"].required = False
        self.fields["weight_kg"].help_text = "The recorded weight is used; type a weight only if you weigh now."
        self.fields["over_maximum_reason"].help_text = "Only needed when the dose is above the clinic's maximum."
        self.fields["pregnancy_test"].choices = [("", "Not recorded"), *PregnancyTest.choices]


class FacilitationNoteForm(VersionedForm, ServiceModelForm):
    class Meta:
        model = DosingSession
        fields = ("facilitation_note", "others_present")
        widgets = {"facilitation_note": forms.Textarea(attrs={"rows": 6})}


VITAL_FIELDS = ("systolic_bp", "diastolic_bp", "heart_rate", "spo2", "respiratory_rate")


def _vital_field(label):
    # Wide bounds only to keep the database safe; the service names the plausible range.
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=0,
        max_value=999,
        widget=numeric(attrs={"class": "vital", "autocomplete": "off"}),
    )


class VitalsForm(forms.Form):
    phase = forms.ChoiceField(label="Phase", choices=VitalPhase.choices)
    taken_at = forms.DateTimeField(label="Time taken", widget=DateTimeInput())
    systolic_bp = _vital_field("Systolic (mmHg)")
    diastolic_bp = _vital_field("Diastolic (mmHg)")
    heart_rate = _vital_field("Heart rate (/min)")
    spo2 = _vital_field("SpO2 (%)")
    respiratory_rate = _vital_field("Resp. rate (/min)")


class HoldOverrideForm(forms.Form):
    reason = reason_field("Clinical reason for dosing despite the raised blood pressure")


class GiveDoseForm(forms.Form):
    dosed_at = forms.DateTimeField(label="Dose given at", widget=DateTimeInput(), required=False)


class DischargeForm(forms.Form):
    # The vital signs are judged from the last pre-discharge reading, not ticked: see the service.
    alert_oriented = forms.BooleanField(label="Alert and oriented", required=False)
    escort_present = forms.BooleanField(label="Escort home present", required=False)
    no_driving_advised = forms.BooleanField(label="Advised not to drive until the next day", required=False)
    discharged_at = forms.DateTimeField(label="Discharged at (blank: now)", widget=DateTimeInput(), required=False)


class DischargeExceptionForm(DischargeForm):
    """The discharge form when the last pre-discharge reading still alerts: the provider may go
    ahead only by saying why it is safe."""

    exception_reason = reason_field("Why discharge is safe despite the alerting reading")


class LeftEarlyForm(forms.Form):
    """A patient who leaves before the discharge checks are met: the dose ends, saying what happened."""

    exception_reason = reason_field(
        "What happened",
        help_text="Against advice or collected early; who they left with, what they were told, their last vital signs.",
    )
    discharged_at = forms.DateTimeField(label="Left at (blank: now)", widget=DateTimeInput(), required=False)


class InSessionAlertCloseForm(forms.Form):
    action = forms.ChoiceField(
        label="What was done", choices=IN_SESSION_ALERT_CHOICES, widget=forms.RadioSelect, required=False
    )
    adverse_event = forms.ChoiceField(label="Adverse event recorded", choices=[], required=False)
    note = reason_field("Note", rows=2)

    def __init__(self, *args, events=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.events = {str(e.pk): e for e in events}
        self.fields["adverse_event"].choices = [("", "—")] + [
            (str(e.pk), f"{e} at {timezone.localtime(e.onset_at):%H:%M}") for e in events
        ]

    def clean_adverse_event(self):
        return self.events.get(self.cleaned_data.get("adverse_event") or "")
