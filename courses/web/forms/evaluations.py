"""Before dosing: the medical evaluation with its contraindication screen, the psychiatric evaluation."""

from django import forms

from courses import kinds, rules
from courses.choices import ScreenAnswer
from courses.models import MedicalEvaluation, PsychiatricEvaluation
from courses.rules import SCREEN_ITEMS
from courses.web.forms.base import ServiceModelForm
from kernel.web.forms import DateInput, numeric


class ScreenAnswerField(forms.ChoiceField):
    """A screen item answered on purpose: yes, no or unknown. Nothing is preselected, so an item
    nobody looked at stays unanswered, and the service refuses a decision until it is answered."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(
            choices=ScreenAnswer.choices,
            widget=forms.RadioSelect(attrs={"class": "yesno"}),
            **kwargs,
        )


class MedicalEvaluationForm(ServiceModelForm):
    class Meta:
        model = MedicalEvaluation
        fields = kinds.MEDICAL_EVALUATION_FIELDS
        widgets = {
            "evaluated_on": DateInput(),
            "history": forms.Textarea(attrs={"rows": 3}),
            "medications": forms.Textarea(attrs={"rows": 3}),
            "caution_note": forms.Textarea(attrs={"rows": 3}),
            "systolic_bp": numeric(),
            "diastolic_bp": numeric(),
            "heart_rate": numeric(),
            "spo2": numeric(),
            "respiratory_rate": numeric(),
            "weight_kg": numeric(decimal=True, attrs={"step": "0.1"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for item in SCREEN_ITEMS:
            self.fields[item.field] = ScreenAnswerField(label=item.label)
        self.fields[rules.CHILDBEARING_FIELD] = ScreenAnswerField(
            label=rules.CHILDBEARING_LABEL,
            help_text="Yes or unknown: a negative pregnancy test is recorded before every dose.",
        )
        self.fields["caution_note"].help_text = "Required for 'cleared with cautions': how each caution is managed."

    @property
    def absolute_fields(self):
        return [self[item.field] for item in SCREEN_ITEMS if item.absolute]

    @property
    def caution_fields(self):
        return [self[item.field] for item in SCREEN_ITEMS if not item.absolute]

    @property
    def childbearing_field(self):
        return self[rules.CHILDBEARING_FIELD]

    @property
    def detail_fields(self):
        screen = {item.field for item in SCREEN_ITEMS} | {"decision", "caution_note", rules.CHILDBEARING_FIELD}
        return [self[name] for name in self.fields if name not in screen]


class PsychiatricEvaluationForm(ServiceModelForm):
    class Meta:
        model = PsychiatricEvaluation
        fields = kinds.PSYCHIATRIC_EVALUATION_FIELDS
        widgets = {
            "evaluated_on": DateInput(),
            "risk_plan": forms.Textarea(attrs={"rows": 3}),
            "note": forms.Textarea(attrs={"rows": 4}),
        }
