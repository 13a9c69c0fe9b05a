"""Preparatory and integration sessions."""

from rest_framework import serializers

from courses import rules
from courses.api.serializers._common import RECORD_META, SIGNED_META, SignedOut, text_field
from courses.choices import IntegrationTechnique, PreparationTopic, SessionFormat
from courses.models import IntegrationSession, PreparatorySession
from kernel.api.fields import UniqueListField
from kernel.api.serializers import ClinicDateTimeField, StaffBriefSerializer
from kernel.text import TEXT_MAX


class PreparatorySessionInputSerializer(serializers.Serializer):
    held_at = ClinicDateTimeField()
    note = serializers.CharField(max_length=TEXT_MAX)
    topics = UniqueListField(child=serializers.ChoiceField(choices=PreparationTopic.choices), required=False)
    intentions = text_field()
    duration_minutes = serializers.IntegerField(min_value=5, max_value=480, required=False)


class PreparatorySessionSerializer(SignedOut):
    therapist = StaffBriefSerializer(read_only=True)
    topics = serializers.ListField(child=serializers.ChoiceField(choices=PreparationTopic.choices))

    class Meta:
        model = PreparatorySession
        fields = [
            "id",
            "course",
            "therapist",
            "held_at",
            "duration_minutes",
            "topics",
            "intentions",
            "note",
            *SIGNED_META,
            *RECORD_META,
            "amendments",
        ]


class IntegrationSessionInputSerializer(serializers.Serializer):
    courses = UniqueListField(child=serializers.UUIDField(), allow_empty=False, max_length=rules.GROUP_SIZE[1])
    held_at = ClinicDateTimeField()
    note = serializers.CharField(max_length=TEXT_MAX)
    format = serializers.ChoiceField(choices=SessionFormat.choices, required=False)
    techniques = UniqueListField(child=serializers.ChoiceField(choices=IntegrationTechnique.choices), required=False)
    duration_minutes = serializers.IntegerField(min_value=5, max_value=480, required=False)


class IntegrationSessionSerializer(SignedOut):
    therapist = StaffBriefSerializer(read_only=True)
    courses = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    techniques = serializers.ListField(child=serializers.ChoiceField(choices=IntegrationTechnique.choices))

    class Meta:
        model = IntegrationSession
        fields = [
            "id",
            "courses",
            "format",
            "therapist",
            "held_at",
            "duration_minutes",
            "techniques",
            "note",
            *SIGNED_META,
            *RECORD_META,
            "amendments",
        ]
