"""Serializer pieces every app's API shares: the error body, date-times the clinic could record,
settings rows that refuse unknown keys, and staff members by id or in brief.

The staff pieces know the user model through django.contrib.auth.get_user_model(), not by
importing the accounts app.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.forms.utils import from_current_timezone
from django.utils import timezone
from rest_framework import serializers

from kernel import clock

# The widest primary key a staff id can be (BigAutoField); larger numbers are refused up front.
MAX_STAFF_ID = 2**63 - 1


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class RefuseUnknownKeys:
    """For a clinic settings row changed by PATCH: a key that is no setting (a typo, a setting of
    another page) is a 400 naming it, not dropped in silence while the answer says 200."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({k: ["No such setting here."] for k in unknown})
        return super().to_internal_value(data)


class SettingsSerializer(RefuseUnknownKeys, serializers.ModelSerializer):
    pass


class StaffField(serializers.PrimaryKeyRelatedField):
    """A staff member by id; out-of-range numbers are a 400, not a database overflow."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", get_user_model().objects.all())
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            number = int(data)
        except (TypeError, ValueError):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= number <= MAX_STAFF_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(number)


class StaffBriefSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "name", "role", "credentials"]


def _offset_hint(value) -> str:
    """What to send instead: the time with one of the two offsets the clinic's zone has around it."""
    zone = timezone.get_current_timezone()
    offsets = sorted({value.replace(tzinfo=zone, fold=fold).strftime("%z") for fold in (0, 1)})
    shown = " or ".join(f"{o[:3]}:{o[3:]}" for o in offsets)
    return f"Give the time with its UTC offset ({shown}) to say which moment is meant."


class ClinicDateTimeField(serializers.DateTimeField):
    """A date and time the clinic could have recorded: in the years 1900 to 2099.

    A year like 562 is a typing slip, and it also broke the API's own output: before 1883 the
    clinic's zone has a local-mean-time offset in seconds (-04:56:02), which RFC 3339 cannot
    express, so the timeline answered with a date-time that no client could parse.

    A local time without an offset that the clinic's clock shows twice (01:30 on the night the
    clocks go back) or never (02:30 on the night they go forward) is refused, as the web form
    refuses it: the same rule (django.forms.utils.from_current_timezone), or a dose could be
    stored an hour off. With an explicit offset the moment is unambiguous and is taken.
    """

    # DRF's own "Datetime value out of range." (a year 1 with an offset) says the same thing, better.
    default_error_messages = {"out_of_range": clock.RECORD_YEARS_MESSAGE, "overflow": clock.RECORD_YEARS_MESSAGE}

    def enforce_timezone(self, value):
        # Years outside the record's are refused as such below, not as a clock change.
        if settings.USE_TZ and timezone.is_naive(value) and not clock.record_year_errors({"value": value}):
            try:
                from_current_timezone(value)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(
                    [*exc.messages, _offset_hint(value)], code="ambiguous_timezone"
                ) from None
        return super().enforce_timezone(value)

    def to_internal_value(self, value):
        try:
            moment = super().to_internal_value(value)
        except OverflowError:
            # A naive 9999-12-31T23:59 made aware in the clinic's zone runs past the last datetime.
            self.fail("out_of_range")
        if clock.record_year_errors({"value": moment}):
            self.fail("out_of_range")
        return moment
