"""The report filters: which courses a report counts, as a query string or an export's body."""

from rest_framework import serializers

from accounts.models import Role, User
from courses.choices import Indication, RaceEthnicity, Route, SessionFormat, Sex
from kernel.api.serializers import StaffField
from reports.cohort import AGE_BANDS, EARLIEST_START, LATEST_START, NOT_RECORDED, ReportFilters

AGE_BAND_CHOICES = [label for *_range, label in AGE_BANDS] + ["under 18"]
RACE_FILTER_VALUES = (*RaceEthnicity.values, NOT_RECORDED)


def within_start_range(value):
    if not EARLIEST_START <= value <= LATEST_START:
        raise serializers.ValidationError(
            f"Give a day from {EARLIEST_START.isoformat()} to {LATEST_START.isoformat()}."
        )


class ReportFilterSerializer(serializers.Serializer):
    """Which courses the report counts. Every field is optional; none means every course."""

    start_from = serializers.DateField(
        required=False,
        help_text="Courses started on or after this day (YYYY-MM-DD, 1900-01-01 to 2100-12-31).",
        validators=[within_start_range],
    )
    start_to = serializers.DateField(
        required=False,
        help_text="Courses started on or before this day (YYYY-MM-DD, 1900-01-01 to 2100-12-31).",
        validators=[within_start_range],
    )
    indication = serializers.ChoiceField(choices=Indication.choices, required=False)
    route = serializers.ChoiceField(choices=Route.choices, required=False, help_text="Route of the first dose.")
    format = serializers.ChoiceField(choices=SessionFormat.choices, required=False)
    therapist = StaffField(
        queryset=User.objects.filter(role=Role.THERAPIST), required=False, help_text="A therapist on the care team."
    )
    sex = serializers.ChoiceField(choices=Sex.choices, required=False)
    # A plain string, not a second race/ethnicity enum beside the patient's: the two would only
    # collide in the schema. The values are checked in validate_race_ethnicity.
    race_ethnicity = serializers.CharField(
        required=False, help_text=f"One of: {', '.join(RACE_FILTER_VALUES)} (never asked)."
    )
    age_band = serializers.ChoiceField(
        choices=AGE_BAND_CHOICES, required=False, help_text="Age at course start; an ASCII hyphen is accepted too."
    )

    def to_internal_value(self, data):
        if hasattr(data, "get") and isinstance(data.get("age_band"), str):
            data = {k: data.get(k) for k in data}  # a QueryDict is immutable
            data["age_band"] = data["age_band"].replace("-", "–")
        return super().to_internal_value(data)

    def validate_race_ethnicity(self, value):
        if value not in RACE_FILTER_VALUES:
            raise serializers.ValidationError(f'"{value}" is not a valid choice.')
        return value

    def validate(self, attrs):
        if attrs.get("start_from") and attrs.get("start_to") and attrs["start_from"] > attrs["start_to"]:
            raise serializers.ValidationError({"start_to": ["The end of the date range comes before its start."]})
        return attrs


def report_filters(validated: dict) -> ReportFilters:
    values = dict(validated)
    therapist = values.pop("therapist", None)
    return ReportFilters(therapist_id=therapist.pk if therapist else None, **values)


def filters_out(filters: ReportFilters) -> dict:
    """The filters in force, under the names the query string uses."""
    data = filters.as_dict()
    if "therapist_id" in data:
        data["therapist"] = data.pop("therapist_id")
    return data
