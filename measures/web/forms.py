"""Forms of the measures pages: they check shape and types; the services decide."""

from django import forms

from kernel.web.forms import DateInput, DateTimeInput, numeric, reason_field
from measures.instruments import INSTRUMENTS, Instrument, InstrumentDefinition
from measures.models import MeasureSettings, Timepoint
from measures.services import MEASURE_SETTINGS_FIELDS

MEASURE_SETTINGS_NUMBERS = [f for f in MEASURE_SETTINGS_FIELDS if f != "instruments_by_timepoint"]
ANSWER_REQUIRED = "Please choose an answer for this question."


class QuestionnaireForm(forms.Form):
    """One radio group per item. The patient's page requires every item; a clinician may leave
    one unanswered (the patient declined it), which stores the questionnaire as incomplete."""

    def __init__(self, *args, definition: InstrumentDefinition, require_all: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.definition = definition
        choices = [(o.value, o.label) for o in definition.options]
        for item in definition.items:
            self.fields[f"item_{item.number}"] = forms.TypedChoiceField(
                label=item.text,
                choices=choices,
                coerce=int,
                required=require_all,
                empty_value=None,
                widget=forms.RadioSelect,
                error_messages={"required": ANSWER_REQUIRED},
            )

    def item_fields(self):
        return [(item.number, self[f"item_{item.number}"]) for item in self.definition.items]

    def answers(self) -> dict[int, int | None]:
        return {item.number: self.cleaned_data.get(f"item_{item.number}") for item in self.definition.items}

    @property
    def missing_numbers(self) -> list[int]:
        return [item.number for item in self.definition.items if f"item_{item.number}" in self.errors]


class ClinicianEntryForm(QuestionnaireForm):
    answered_at = forms.DateTimeField(
        label="Answered at",
        required=False,
        widget=DateTimeInput(),
        help_text="When the patient gave these answers, if not now (clinic time).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, require_all=False, **kwargs)


class AdjustWindowForm(forms.Form):
    open_from = forms.DateField(label="Open from", widget=DateInput())
    target_date = forms.DateField(label="Target date", widget=DateInput())
    due_by = forms.DateField(label="Due by", widget=DateInput())
    missed_after = forms.DateField(
        label="Last day", widget=DateInput(), help_text="The last day an answer is accepted."
    )
    reason = reason_field(
        "Reason for the change",
        rows=2,
        required=True,
        error_messages={"required": "Say why the schedule changes for this course."},
    )


class WaiveForm(forms.Form):
    reason = reason_field(
        "Why the course goes ahead without this baseline",
        rows=2,
        help_text="Shown on the course and counted on the outcome report as a waived baseline.",
    )


class CancelForm(forms.Form):
    reason = reason_field(
        "Reason for cancelling",
        rows=2,
        required=True,
        error_messages={"required": "Say why this questionnaire is cancelled."},
    )


class AddAdministrationForm(forms.Form):
    instrument = forms.ChoiceField(label="Questionnaire", choices=Instrument.choices)
    open_from = forms.DateField(label="Open from", widget=DateInput())
    missed_after = forms.DateField(
        label="Last day", widget=DateInput(), help_text="The last day an answer is accepted."
    )


class AcknowledgeAlertForm(forms.Form):
    action_note = reason_field(
        "What was done",
        rows=2,
        required=True,
        help_text="Contact made, safety plan reviewed, referral…",
        error_messages={"required": "Record what was done (contact made, safety plan reviewed, referral…)."},
    )


SETTINGS_TIMEPOINTS = [t for t in Timepoint if t != Timepoint.AD_HOC]


def grid_name(timepoint: str, instrument: str) -> str:
    return f"grid__{timepoint}__{instrument}"


class MeasureSettingsForm(forms.Form):
    """The instrument × timepoint grid, and the numbers of the schedule."""

    def __init__(self, *args, current: MeasureSettings, **kwargs):
        super().__init__(*args, **kwargs)
        chosen = current.instruments_by_timepoint or {}
        for timepoint in SETTINGS_TIMEPOINTS:
            for instrument in INSTRUMENTS:
                self.fields[grid_name(timepoint, instrument)] = forms.BooleanField(
                    label=f"{INSTRUMENTS[instrument].name} at {timepoint.label}",
                    required=False,
                    initial=instrument in chosen.get(timepoint.value, []),
                )
        for name in MEASURE_SETTINGS_NUMBERS:
            model_field = MeasureSettings._meta.get_field(name)
            self.fields[name] = forms.IntegerField(
                label=model_field.verbose_name[:1].upper() + model_field.verbose_name[1:],
                min_value=0,
                max_value=32767,
                initial=getattr(current, name),
                widget=numeric(),
            )

    def grid_rows(self):
        return [
            {"timepoint": t, "cells": [self[grid_name(t.value, i)] for i in INSTRUMENTS]} for t in SETTINGS_TIMEPOINTS
        ]

    def number_fields(self):
        return [self[name] for name in MEASURE_SETTINGS_NUMBERS]

    def values(self) -> dict:
        data = {name: self.cleaned_data[name] for name in MEASURE_SETTINGS_NUMBERS}
        chosen = self.cleaned_data
        data["instruments_by_timepoint"] = {
            t.value: [i for i in INSTRUMENTS if chosen.get(grid_name(t.value, i))] for t in SETTINGS_TIMEPOINTS
        }
        return data
