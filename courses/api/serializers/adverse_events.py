"""Adverse events, their acknowledgement by a practice lead, and the leads' list of serious ones."""

from rest_framework import serializers

from courses import kinds
from courses.api.serializers._common import RECORD_META, ModelInput, RecordOut, text_field
from courses.choices import SeriousCriterion
from courses.models import AdverseEvent
from kernel.api.fields import UniqueListField
from kernel.api.serializers import StaffBriefSerializer
from kernel.text import REASON_MAX


class AdverseEventSerializer(RecordOut):
    serious_criteria = serializers.ListField(child=serializers.ChoiceField(choices=SeriousCriterion.choices))
    acknowledged_by = StaffBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = AdverseEvent
        fields = [
            "id",
            "course",
            "dose",
            *kinds.AE_FIELDS,
            "lead_notified_at",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledgement_note",
            *RECORD_META,
            "amendments",
        ]


class AdverseEventInputSerializer(ModelInput):
    serious_criteria = UniqueListField(child=serializers.ChoiceField(choices=SeriousCriterion.choices), required=False)

    class Meta:
        model = AdverseEvent
        fields = list(kinds.AE_FIELDS)
        extra_kwargs = {
            "onset_at": {"required": False, "help_text": "Defaults to now."},
            "expectedness": {"required": True, "allow_blank": False},
        }


class AcknowledgeInputSerializer(serializers.Serializer):
    note = text_field(max_length=REASON_MAX)


class AdverseEventDashboardSerializer(AdverseEventSerializer):
    patient = serializers.UUIDField(source="course.patient_id", read_only=True)
    session = serializers.UUIDField(source="dose.session_id", read_only=True, allow_null=True, default=None)

    class Meta(AdverseEventSerializer.Meta):
        fields = [*AdverseEventSerializer.Meta.fields, "patient", "course", "session"]
