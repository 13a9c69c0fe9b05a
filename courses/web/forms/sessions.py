"""Therapy around the doses: preparatory sessions, integration sessions (individual and group)."""

from django import forms

from courses import kinds
from courses.choices import IntegrationTechnique, PreparationTopic
from courses.models import Course, IntegrationSession, PreparatorySession
from courses.web.forms.base import CourseMultipleChoiceField, ServiceModelForm
from kernel.web.forms import DateTimeInput, numeric


class PreparatorySessionForm(ServiceModelForm):
    topics = forms.MultipleChoiceField(
        choices=PreparationTopic.choices, widget=forms.CheckboxSelectMultiple, required=False, label="Topics covered"
    )

    class Meta:
        model = PreparatorySession
        fields = kinds.PREPARATORY_SESSION_FIELDS
        widgets = {
            "held_at": DateTimeInput(),
            "duration_minutes": numeric(),
            "intentions": forms.Textarea(attrs={"rows": 3}),
            "note": forms.Textarea(attrs={"rows": 5}),
        }
        labels = {"held_at": "Held at", "duration_minutes": "Duration (minutes)"}


class IntegrationSessionForm(ServiceModelForm):
    techniques = forms.MultipleChoiceField(
        choices=IntegrationTechnique.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Techniques used",
    )

    class Meta:
        model = IntegrationSession
        fields = kinds.INTEGRATION_SESSION_FIELDS
        widgets = {
            "held_at": DateTimeInput(),
            "duration_minutes": numeric(),
            "note": forms.Textarea(attrs={"rows": 5}),
        }
        labels = {"held_at": "Held at", "duration_minutes": "Duration (minutes)"}


class GroupIntegrationForm(IntegrationSessionForm):
    courses = CourseMultipleChoiceField(
        queryset=Course.objects.none(), widget=forms.CheckboxSelectMultiple, label="Participants (2–12 courses)"
    )

    class Meta(IntegrationSessionForm.Meta):
        fields = ("courses", *kinds.INTEGRATION_SESSION_FIELDS)

    def __init__(self, *args, courses=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["courses"].queryset = courses
