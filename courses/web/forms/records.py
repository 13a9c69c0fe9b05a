"""Any record's lifecycle: voiding, amending, and the generic edit and amendment form of a record
kind (record_form), reusing its entry form's widgets and choices."""

from django import forms

from courses import kinds
from courses.models import Dose
from courses.web.forms.adverse_events import AdverseEventForm
from courses.web.forms.base import ServiceModelForm, VersionedForm, minute_initial
from courses.web.forms.dosing import VITAL_FIELDS, FacilitationNoteForm
from courses.web.forms.evaluations import MedicalEvaluationForm, PsychiatricEvaluationForm
from courses.web.forms.sessions import IntegrationSessionForm, PreparatorySessionForm
from kernel.web.forms import DateInput, DateTimeInput, numeric, reason_field


class VoidForm(VersionedForm, forms.Form):
    reason = reason_field(
        "Why is this record void?",
        required=True,
        error_messages={"required": "Say why the record is voided (entered in error, on the wrong patient…)."},
    )


class AmendmentReasonForm(forms.Form):
    reason = reason_field("Reason for the amendment")


# The entry form whose widgets and choices a record's edit or amendment form reuses, by kind.
_ENTRY_FORMS = {
    "medical-evaluation": MedicalEvaluationForm,
    "psychiatric-evaluation": PsychiatricEvaluationForm,
    "preparatory-session": PreparatorySessionForm,
    "integration-session": IntegrationSessionForm,
    "adverse-event": AdverseEventForm,
    "dosing-session": FacilitationNoteForm,
}
# A dosing session's note is edited on the session's own note page (it has its own service), not
# through the generic edit page; every other kind with editable fields is edited there.
EDITED_ON_OWN_PAGE = {"dosing-session"}


def edited_here(kind: kinds.RecordKind) -> bool:
    return bool(kind.editable) and kind.slug not in EDITED_ON_OWN_PAGE


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


def record_form(kind: kinds.RecordKind, fields, instance, data=None, *, editing: bool = False):
    """A form over `fields` of a record, prefilled from it, with the entry form's widgets."""
    model = kind.model
    entry = _ENTRY_FORMS.get(kind.slug, ServiceModelForm)
    widgets = {**_WIDGETS, **getattr(getattr(entry, "Meta", None), "widgets", {})}
    meta = type("Meta", (), {"model": model, "fields": tuple(fields), "widgets": widgets})
    bases = (entry,) if issubclass(entry, VersionedForm) else (VersionedForm, entry)
    extra = {}
    if editing and model is Dose and "weight_kg" in fields:
        # A new weight is a measurement, recorded as such: see services.dosing._weight_for_dose.
        extra["weighed_now"] = forms.BooleanField(label="Weighed now (record this weight)", required=False)
    cls = type(f"{model.__name__}RecordForm", bases, {"Meta": meta, **extra})
    return cls(data=data, instance=instance, initial=minute_initial(instance, fields))
