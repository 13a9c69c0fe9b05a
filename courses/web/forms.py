"""Web forms: they check shape and types (dates, numbers, lengths, choices); the services decide.

Model forms are used only to borrow field types, labels and length limits from the models:
`_post_clean` is switched off so no model validation runs here, the service does it.
"""

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.core.validators import MaxValueValidator
from django.utils import timezone

from accounts.models import Role, User
from courses import rules, services
from courses.choices import (
    IN_SESSION_ALERT_CHOICES,
    AdverseEventTerm,
    CourseStatus,
    IntegrationTechnique,
    PregnancyTest,
    PreparationTopic,
    ScreenAnswer,
    SeriousCriterion,
    VitalPhase,
)
from courses.models import (
    AdverseEvent,
    ClinicSettings,
    Course,
    DosingParticipant,
    DosingSession,
    IntegrationSession,
    MedicalEvaluation,
    Patient,
    PreparatorySession,
    PsychiatricEvaluation,
)
from courses.rules import SCREEN_ITEMS

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=DATETIME_FORMAT)


def numeric(attrs=None, decimal=False):
    base = {"inputmode": "decimal" if decimal else "numeric"}
    base.update(attrs or {})
    return forms.NumberInput(attrs=base)


def reason_field(label: str, *, rows: int = 3, required: bool = False, **kwargs) -> forms.CharField:
    """A free-text reason or note, capped at the services' limit. Optional unless said: where a
    reason is needed depends on the record (an override, a void), and the service says so naming
    the field, so the form does not guess."""
    return forms.CharField(
        label=label,
        widget=forms.Textarea(attrs={"rows": rows}),
        max_length=rules.REASON_MAX,
        required=required,
        **kwargs,
    )


def now_local_minute():
    return timezone.localtime().replace(second=0, microsecond=0)


def active_staff(role: str):
    return User.objects.filter(role=role, is_active=True).order_by("last_name", "first_name")


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return str(obj)


class StaffMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return str(obj)

    def _check_values(self, value):
        # Django puts each id straight into a pk__in query: a 20-digit one overflows SQLite's
        # integer there (a 500). An id that is not a plain database integer is an unknown choice.
        for pk in value:
            text = str(pk)
            if not (text.isascii() and text.isdigit() and int(text) < 2**63):
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super()._check_values(value)


class CourseMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.patient.display_name} — {obj.get_indication_display()} ({obj.get_status_display()})"


class CourseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.patient.display_name} — {obj.get_indication_display()} ({obj.get_status_display()})"


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


def parse_version(raw: str | None) -> int:
    """The version a page was rendered with. Hidden and never typed: a missing or malformed one is
    treated as an old read (0), a conflict the user can see and resolve, never as "don't check"
    and never as an error on a field they cannot see."""
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0


class VersionedForm:
    """Carries the version of the record the page showed, so that saving over a change someone
    else made since the page was opened is refused (services.RecordChanged), not done silently.

    Each field also carries the value the page showed (show_hidden_initial), so a save writes only
    the fields this user changed: saving again after a conflict does not put back the old values
    of fields the other person changed.

    A model form takes the version from its instance; a plain form is given `record_version`."""

    def __init__(self, *args, record_version: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if record_version is None:
            record_version = self.instance.version
        for field in self.fields.values():
            field.show_hidden_initial = True
        self.fields["version"] = forms.CharField(widget=forms.HiddenInput, required=False, initial=record_version)

    def clean_version(self) -> int:
        return parse_version(self.cleaned_data.get("version"))

    def read_version(self) -> int | None:
        return self.cleaned_data.get("version")

    def changed_values(self) -> dict:
        values = super().changed_values()
        values.pop("version", None)
        for name in list(values):
            if self.add_initial_prefix(name) not in self.data:
                # A client that did not send what its page showed: compare with the record as it is
                # (its version is checked all the same).
                field = self.fields[name]
                if not field.has_changed(self.get_initial_for_field(field, name), self[name].data):
                    del values[name]
        return values

    def show_conflict(self, exc: "services.RecordChanged") -> None:
        """Keep what the user typed, bring every field they did not touch up to the record as it
        is now, name the fields both of them changed, and carry the new version so that saving
        again is a deliberate choice. Fields this user changed keep the values the page was
        opened with as their hidden initials, so saving again writes only those fields."""
        refreshed, both_changed, posted = [], [], {}
        for name, field in self.fields.items():
            if name == "version" or not hasattr(exc.record, name):
                continue
            current = _record_value(exc.record, name)
            bound = self[name]
            if name not in self.changed_data:
                if field.has_changed(current, bound.data):
                    posted.update(self._as_posted(name, current))
                    refreshed.append(str(field.label))
            elif field.has_changed(current, self._opened_data(name)):
                shown = str(current)
                shown = shown[:80] + "…" if len(shown) > 80 else shown or "(empty)"
                both_changed.append(f"{field.label}: {shown}")
        message = str(exc)
        if refreshed:
            message += " Brought up to date on this page: " + ", ".join(refreshed) + "."
        if both_changed:
            message += (
                " You both changed — now on the record: "
                + "; ".join(both_changed)
                + ". Saving again replaces these with what you typed."
            )
        self.add_error(None, message)
        self.data = self.data.copy()
        self.data[self.add_prefix("version")] = str(exc.record.version)
        for name, values in posted.items():
            self.data.setlist(name, values)

    def _opened_data(self, name: str):
        """The value the page showed for a field when it was opened (its hidden initial)."""
        field = self.fields[name]
        return self._widget_data_value(field.hidden_widget(), self.add_initial_prefix(name))

    def _as_posted(self, name: str, value) -> dict[str, list[str]]:
        """A value as a browser would post it, in the visible field and in its hidden initial, so
        the page shows it and saving again does not write it."""
        field = self.fields[name]
        prepared = field.prepare_value(value)
        if isinstance(field.widget, forms.CheckboxInput):
            shown = ["on"] if value else []
        else:
            shown = _as_list(field.widget.format_value(prepared))
        return {
            self.add_prefix(name): shown,
            self.add_initial_prefix(name): _as_list(field.hidden_widget().format_value(prepared)),
        }


def _record_value(record, name: str):
    value = getattr(record, name)
    if hasattr(value, "all"):  # a many-to-many field's manager
        return list(value.all())
    return _to_the_minute(value)


def _as_list(formatted) -> list[str]:
    if formatted is None:
        return []
    if isinstance(formatted, (list, tuple)):
        return [str(v) for v in formatted if v is not None]
    return [str(formatted)]


class ServiceModelForm(forms.ModelForm):
    """Field types and limits from the model; validation of the rules is the service's job."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A model's integer column has a range (0–32767 for a positive small integer) that Django
        # does not hand to the form field: give it, so 99999999999999999999 is a message naming
        # the limit, and the number input carries it as max.
        for name, field in self.fields.items():
            if type(field) is not forms.IntegerField:  # not its Decimal and Float subclasses
                continue
            try:
                model_field = self._meta.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            for validator in model_field.validators:
                if isinstance(validator, MaxValueValidator) and field.max_value is None:
                    field.max_value = validator.limit_value
                    field.validators.append(validator)
                    field.widget.attrs.setdefault("max", validator.limit_value)

    def _post_clean(self):
        pass

    def changed_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data if name in self.cleaned_data}


def _to_the_minute(value):
    """Times as the forms show them, to the minute, so an untouched field does not count as changed."""
    return value.replace(second=0, microsecond=0) if hasattr(value, "hour") else value


def _minute_initial(instance, names) -> dict:
    values = {name: getattr(instance, name, None) for name in names}
    return {name: _to_the_minute(value) for name, value in values.items() if hasattr(value, "hour")}


# --- auth ------------------------------------------------------------------------------------


class PatientSearchForm(forms.Form):
    q = forms.CharField(label="Name or MRN", max_length=80, required=False)


# --- patients --------------------------------------------------------------------------------


class _PatientDetailsForm(ServiceModelForm):
    class Meta:
        model = Patient
        fields = services.PATIENT_FIELDS
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
        self.fields["therapists"].queryset = active_staff(Role.THERAPIST)
        self.fields["medical_provider"].queryset = active_staff(Role.MEDICAL_PROVIDER)


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


# --- evaluations and sessions ----------------------------------------------------------------


class MedicalEvaluationForm(ServiceModelForm):
    class Meta:
        model = MedicalEvaluation
        fields = services.MEDICAL_EVALUATION_FIELDS
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
        fields = ("evaluated_on", "diagnosis", "icd10_code", "indication", "suicide_risk", "risk_plan", "note")
        widgets = {
            "evaluated_on": DateInput(),
            "risk_plan": forms.Textarea(attrs={"rows": 3}),
            "note": forms.Textarea(attrs={"rows": 4}),
        }


class PreparatorySessionForm(ServiceModelForm):
    topics = forms.MultipleChoiceField(
        choices=PreparationTopic.choices, widget=forms.CheckboxSelectMultiple, required=False, label="Topics covered"
    )

    class Meta:
        model = PreparatorySession
        fields = ("held_at", "duration_minutes", "topics", "intentions", "note")
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
        fields = ("held_at", "duration_minutes", "techniques", "note")
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
        fields = ("courses", "held_at", "duration_minutes", "techniques", "note")

    def __init__(self, *args, courses=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["courses"].queryset = courses


class VoidForm(VersionedForm, forms.Form):
    reason = reason_field(
        "Why is this record void?",
        required=True,
        error_messages={"required": "Say why the record is voided (entered in error, on the wrong patient…)."},
    )


class AmendmentReasonForm(forms.Form):
    reason = reason_field("Reason for the amendment")


# --- dosing ----------------------------------------------------------------------------------


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
        self.fields["medical_provider"].queryset = active_staff(Role.MEDICAL_PROVIDER)
        self.fields["facilitators"].queryset = active_staff(Role.THERAPIST)


class ParticipantForm(ServiceModelForm):
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
        model = DosingParticipant
        fields = ("course", *services.DOSE_FIELDS)
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


class AdverseEventForm(ServiceModelForm):
    serious_criteria = forms.MultipleChoiceField(
        choices=SeriousCriterion.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Seriousness criteria (21 CFR 312.32)",
    )

    class Meta:
        model = AdverseEvent
        fields = services.AE_FIELDS
        widgets = {
            "onset_at": DateTimeInput(),
            "resolved_at": DateTimeInput(),
            "description": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"onset_at": "Onset", "resolved_at": "Resolved at (if resolved)", "serious": "Serious"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["term"].choices = AdverseEventTerm.choices


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


class AcknowledgeForm(forms.Form):
    note = reason_field(
        "What was done", rows=2, help_text="Required: the provider spoken to, the patient's follow-up, a report made…"
    )


class AgeExceptionForm(forms.Form):
    reason = reason_field("Why this patient is treated under the clinic's minimum age")


# --- practice lead ---------------------------------------------------------------------------


class StaffInviteForm(forms.Form):
    """The lead names the colleague; the colleague chooses the password through the mailed link."""

    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    email = forms.EmailField(help_text="The invitation goes here; so do password-reset links later.")
    username = forms.CharField(max_length=150, help_text="What they sign in with.")
    role = forms.ChoiceField(choices=Role.choices)
    credentials = forms.CharField(max_length=60, required=False, help_text="Shown after the name, e.g. MD, LCSW.")


class ClinicSettingsForm(ServiceModelForm):
    class Meta:
        model = ClinicSettings
        fields = services.SETTINGS_FIELDS
        labels = {
            "clinic_name": "Clinic name",
            "max_iv_mg_per_kg": "Maximum IV dose (mg/kg)",
            "max_im_mg_per_kg": "Maximum IM dose (mg/kg)",
            "max_intranasal_mg": "Maximum intranasal dose (mg)",
            "max_sublingual_mg": "Maximum sublingual dose (mg)",
            "ceiling_iv_mg_per_kg": "Absolute ceiling, IV (mg/kg): no reason allows more",
            "ceiling_im_mg_per_kg": "Absolute ceiling, IM (mg/kg)",
            "ceiling_intranasal_mg": "Absolute ceiling, intranasal (mg)",
            "ceiling_sublingual_mg": "Absolute ceiling, sublingual (mg)",
            "hold_systolic": "Pre-dose hold: systolic above (mmHg)",
            "hold_diastolic": "Pre-dose hold: diastolic above (mmHg)",
            "hold_recheck_minutes": "A normal re-check lifts a hold from (minutes after the high reading)",
            "alert_systolic": "Intra-session alert: systolic above (mmHg)",
            "alert_diastolic": "Intra-session alert: diastolic above (mmHg)",
            "alert_heart_rate": "Intra-session alert: heart rate above (/min)",
            "alert_spo2_below": "Intra-session alert: SpO2 below (%)",
            "alert_respiratory_rate_below": "Intra-session alert: respiratory rate below (/min)",
            "vitals_interval_minutes": "Vitals during monitoring every (minutes)",
            "monitoring_minutes_esketamine": "Minimum monitoring after intranasal esketamine (min, at least 120)",
            "monitoring_minutes_other": "Minimum monitoring, other routes (min, at least 40)",
            "min_dose_interval_hours": "Minimum interval between two doses of a patient (hours)",
            "weight_max_age_days": "A recorded weight may be used for (days)",
            "screen_valid_months": "A contraindication screen is valid for (months)",
            "minimum_age_years": "Minimum age to start a course (years)",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            default = ClinicSettings._meta.get_field(name).default
            field.help_text = f"Default: {default}"
            if name != "clinic_name":
                field.widget.attrs["inputmode"] = "decimal"


# --- amendments and edits of any record ------------------------------------------------------

# The entry form whose widgets and choices a record's edit or amendment form reuses.
_ENTRY_FORMS = {
    MedicalEvaluation: MedicalEvaluationForm,
    PsychiatricEvaluation: PsychiatricEvaluationForm,
    PreparatorySession: PreparatorySessionForm,
    IntegrationSession: IntegrationSessionForm,
    AdverseEvent: AdverseEventForm,
    DosingSession: FacilitationNoteForm,
}
# Unsigned records edited in place through the generic edit page.
EDITABLE_MODELS = (
    MedicalEvaluation,
    PsychiatricEvaluation,
    PreparatorySession,
    IntegrationSession,
    DosingParticipant,
    AdverseEvent,
)

_WIDGETS = {
    "dosed_at": DateTimeInput(),
    "taken_at": DateTimeInput(),
    "held_at": DateTimeInput(),
    "onset_at": DateTimeInput(),
    "resolved_at": DateTimeInput(),
    "evaluated_on": DateInput(),
    "dose_mg": numeric(decimal=True, attrs={"step": "0.1"}),
    "weight_kg": numeric(decimal=True, attrs={"step": "0.1"}),
    **{name: numeric() for name in VITAL_FIELDS},
}


def record_form(model, fields, instance, data=None, *, editing: bool = False):
    """A form over `fields` of a record, prefilled from it, with the entry form's widgets."""
    entry = _ENTRY_FORMS.get(model, ServiceModelForm)
    widgets = {**_WIDGETS, **getattr(getattr(entry, "Meta", None), "widgets", {})}
    meta = type("Meta", (), {"model": model, "fields": tuple(fields), "widgets": widgets})
    bases = (entry,) if issubclass(entry, VersionedForm) else (VersionedForm, entry)
    extra = {}
    if editing and model is DosingParticipant and "weight_kg" in fields:
        # A new weight is a measurement, recorded as such: see services._weight_for_dose.
        extra["weighed_now"] = forms.BooleanField(label="Weighed now (record this weight)", required=False)
    cls = type(f"{model.__name__}RecordForm", bases, {"Meta": meta, **extra})
    return cls(data=data, instance=instance, initial=_minute_initial(instance, fields))
