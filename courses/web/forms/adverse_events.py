"""Adverse events: recording one, and a lead's acknowledgement of a serious one."""

from django import forms

from courses import kinds
from courses.choices import AdverseEventTerm, SeriousCriterion
from courses.models import AdverseEvent
from courses.web.forms.base import ServiceModelForm
from kernel.web.forms import DateTimeInput, reason_field


class AdverseEventForm(ServiceModelForm):
    serious_criteria = forms.MultipleChoiceField(
        choices=SeriousCriterion.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Seriousness criteria (21 CFR 312.32)",
    )

    class Meta:
        model = AdverseEvent
        fields = kinds.AE_FIELDS
        widgets = {
            "onset_at": DateTimeInput(),
            "resolved_at": DateTimeInput(),
            "description": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"onset_at": "Onset", "resolved_at": "Resolved at (if resolved)", "serious": "Serious"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["term"].choices = AdverseEventTerm.choices


class AcknowledgeForm(forms.Form):
    note = reason_field(
        "What was done", rows=2, help_text="Required: the provider spoken to, the patient's follow-up, a report made…"
    )
