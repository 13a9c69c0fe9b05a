"""Any record's sign, amend and void bodies, and the list fields an edit or amendment may change."""

from rest_framework import serializers

from courses.api.serializers._common import version_field
from courses.choices import IntegrationTechnique, PreparationTopic, SeriousCriterion
from kernel.api.fields import UniqueListField
from kernel.text import REASON_MAX


class SignInputSerializer(serializers.Serializer):
    version = version_field(required=False)


def _choice_list(choices):
    return lambda: UniqueListField(child=serializers.ChoiceField(choices=choices))


# The list fields a record edit or an amendment may change, held to the same list as on entry.
RECORD_LIST_FIELDS = {
    "topics": _choice_list(PreparationTopic.choices),
    "techniques": _choice_list(IntegrationTechnique.choices),
    "serious_criteria": _choice_list(SeriousCriterion.choices),
}


class RecordChangesField(serializers.DictField):
    """Field name → new value, converted with the model field's own type by the view."""

    def __init__(self, **kwargs):
        # null is a value: it clears a field such as an adverse event's `resolved_at`.
        super().__init__(child=serializers.JSONField(allow_null=True), **kwargs)


def _reason(saying: str) -> serializers.CharField:
    """A required reason whose refusal says what to write, not only that it is missing."""
    return serializers.CharField(
        max_length=REASON_MAX, error_messages={"required": saying, "blank": saying, "null": saying}
    )


class AmendInputSerializer(serializers.Serializer):
    changes = RecordChangesField(allow_empty=False)
    reason = _reason("Say why the record is being corrected.")
    version = version_field(required=False)


class VoidInputSerializer(serializers.Serializer):
    reason = _reason("Say why the record is voided (entered in error, on the wrong patient…).")
    version = version_field(required=False)
