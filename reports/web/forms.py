"""Web forms of the reports: the outcome report's filters (shape and types only)."""

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from accounts.models import Role, User
from courses.choices import Indication, RaceEthnicity, Route, SessionFormat, Sex
from kernel.web.forms import DateInput
from reports.cohort import AGE_BANDS, EARLIEST_START, LATEST_START, NOT_RECORDED, ReportFilters
from reports.models import Audience, ExportKind

ANY = [("", "Any")]
EARLIEST, LATEST = EARLIEST_START, LATEST_START


def _bounded(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=DateInput(attrs={"min": EARLIEST.isoformat(), "max": LATEST.isoformat()}),
        validators=[
            MinValueValidator(EARLIEST, f"Enter a date on or after {EARLIEST.isoformat()}."),
            MaxValueValidator(LATEST, f"Enter a date on or before {LATEST.isoformat()}."),
        ],
    )


class TherapistChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return str(obj) + ("" if obj.is_active else " (inactive)")


class ReportFilterForm(forms.Form):
    """The report's filters. None names a patient, so they travel in the query string."""

    start_from = _bounded("Course started on or after")
    start_to = _bounded("Course started on or before")
    indication = forms.ChoiceField(choices=ANY + list(Indication.choices), required=False)
    route = forms.ChoiceField(choices=ANY + list(Route.choices), required=False, help_text="Of the induction doses.")
    format = forms.ChoiceField(choices=ANY + list(SessionFormat.choices), required=False)
    therapist = TherapistChoice(
        queryset=User.objects.filter(role=Role.THERAPIST).order_by("last_name", "first_name"),
        required=False,
        empty_label="Any",
    )
    sex = forms.ChoiceField(choices=ANY + list(Sex.choices), required=False)
    race_ethnicity = forms.ChoiceField(
        label="Race/ethnicity (self-reported)",
        choices=ANY + list(RaceEthnicity.choices) + [(NOT_RECORDED, "Not recorded")],
        required=False,
    )
    age_band = forms.ChoiceField(
        label="Age band at course start", choices=ANY + [(label, label) for *_r, label in AGE_BANDS], required=False
    )

    def clean(self):
        data = super().clean()
        start_from, start_to = data.get("start_from"), data.get("start_to")
        if start_from and start_to and start_to < start_from:
            self.add_error("start_to", "This date is before the “on or after” date: the range would be empty.")
        return data

    def filters(self) -> ReportFilters:
        data = self.cleaned_data
        therapist = data.get("therapist")
        return ReportFilters(
            start_from=data.get("start_from"),
            start_to=data.get("start_to"),
            indication=data.get("indication", ""),
            route=data.get("route", ""),
            format=data.get("format", ""),
            therapist_id=therapist.pk if therapist else None,
            sex=data.get("sex", ""),
            race_ethnicity=data.get("race_ethnicity", ""),
            age_band=data.get("age_band", ""),
        )


class PracticeExportForm(ReportFilterForm):
    """The filters of the report on screen, posted back with the kind of file wanted."""

    kind = forms.ChoiceField(choices=[(k, v) for k, v in ExportKind.choices if k != ExportKind.PATIENT_PDF])
    audience = forms.ChoiceField(
        label="Who is the file for?",
        choices=Audience.choices,
        initial=Audience.OUTSIDE,
        widget=forms.RadioSelect,
        required=False,  # unsaid, as in the API: the outside audience, the side that cannot leak
    )
