"""Opening a course, moving its status, stopping its follow-up, the minimum-age exception."""

from django import forms

from accounts.models import Role, User
from courses.choices import CourseStatus
from courses.models import Course
from courses.selectors import staff_active
from courses.web.forms.base import ServiceModelForm, StaffChoiceField, StaffMultipleChoiceField
from kernel.web.forms import DateInput, numeric, reason_field


class CourseOpenForm(ServiceModelForm):
    therapists = StaffMultipleChoiceField(
        queryset=User.objects.none(), widget=forms.CheckboxSelectMultiple, label="Therapist(s)"
    )
    medical_provider = StaffChoiceField(queryset=User.objects.none(), label="Medical provider")
    age_exception_reason = reason_field(
        "Minimum-age exception (practice lead only)",
        rows=2,
        help_text="Only for a patient under the clinic's minimum age: the reason for treating them.",
    )
    started_on = forms.DateField(
        label="Course start",
        required=False,
        widget=DateInput(),
        help_text="Today unless the course began earlier (brought in from another record).",
    )
    start_backdated_reason = reason_field("Why the start is before today", rows=2)

    class Meta:
        model = Course
        fields = (
            "indication",
            "indication_detail",
            "format",
            "therapists",
            "medical_provider",
            "planned_dosing_sessions",
        )
        widgets = {"planned_dosing_sessions": numeric()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["therapists"].queryset = staff_active(Role.THERAPIST)
        self.fields["medical_provider"].queryset = staff_active(Role.MEDICAL_PROVIDER)


class CourseStatusForm(forms.Form):
    to_status = forms.ChoiceField(label="Move to", choices=CourseStatus.choices)
    reason = reason_field("Reason (required to discontinue)")
    stop_follow_up = forms.BooleanField(
        label="Also stop the follow-up questionnaires",
        required=False,
        help_text="Discontinued courses keep their end-of-course and +1/+3/+6-month questionnaires: the outcome "
        "report counts every course that started dosing. Stop them only if the patient declined them.",
    )
    follow_up_stop_reason = reason_field("Why the follow-up questionnaires stop", rows=2)
    effective_on = forms.DateField(
        label="Happened on",
        required=False,
        widget=DateInput(),
        help_text="Today unless it happened earlier and is recorded late.",
    )
    late_entry_reason = reason_field("Why it is recorded after the day it happened", rows=2)


class FollowUpStopForm(forms.Form):
    follow_up_stop_reason = reason_field("Why the follow-up questionnaires stop", rows=2)


class AgeExceptionForm(forms.Form):
    reason = reason_field("Why this patient is treated under the clinic's minimum age")
