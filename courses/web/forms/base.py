"""What every courses form is built on: model forms that borrow only field types and limits
(ServiceModelForm: the service validates), forms that carry the version the page showed
(VersionedForm: a save over someone else's change is refused and shown), staff and course choice
fields, and times to the minute."""

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.core.validators import MaxValueValidator
from django.utils import timezone

from courses import services
from kernel.web.forms import parse_version


def now_local_minute():
    return timezone.localtime().replace(second=0, microsecond=0)


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


def minute_initial(instance, names) -> dict:
    values = {name: getattr(instance, name, None) for name in names}
    return {name: _to_the_minute(value) for name, value in values.items() if hasattr(value, "hour")}
