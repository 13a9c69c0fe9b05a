"""Patients, their weights and their audit trail."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from courses import kinds
from courses.api.serializers._common import ModelInput, PlainOut, text_field, version_field
from courses.models import AuditEvent, Course, Patient, WeightMeasurement
from kernel.text import REASON_MAX


class PatientInputSerializer(ModelInput):
    weight_kg = serializers.DecimalField(
        max_digits=5, decimal_places=1, required=False, allow_null=True, help_text="Current weight (kg), optional."
    )

    class Meta:
        model = Patient
        fields = [*kinds.PATIENT_FIELDS, "weight_kg"]


class PatientUpdateSerializer(ModelInput):
    version = version_field()
    reason = text_field(
        max_length=REASON_MAX,
        help_text="Required to change `date_of_birth` once the patient has a course (it decides the minimum-age "
        "rule); kept with the old date.",
    )

    class Meta:
        model = Patient
        fields = [*kinds.PATIENT_FIELDS, "version", "reason"]


class PatientListSerializer(PlainOut, serializers.ModelSerializer):
    is_voided = serializers.BooleanField(read_only=True)

    class Meta:
        model = Patient
        fields = ["id", "mrn", "given_name", "family_name", "date_of_birth", "sex", "is_voided"]


class WeightSerializer(serializers.ModelSerializer):
    class Meta:
        model = WeightMeasurement
        fields = [
            "id",
            "measured_on",
            "weight_kg",
            "change_reason",
            "created_at",
            "created_by",
            "is_voided",
            "void_reason",
        ]


class WeightInputSerializer(serializers.Serializer):
    measured_on = serializers.DateField()
    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=1)
    change_reason = text_field(
        max_length=REASON_MAX,
        help_text="Required when the weight differs by more than 10% from one recorded within 14 days "
        "(mg/kg comes from it; a jump is most often a typing slip).",
    )


class CourseBriefSerializer(serializers.ModelSerializer):
    is_voided = serializers.BooleanField(read_only=True)

    class Meta:
        model = Course
        fields = ["id", "indication", "format", "status", "created_at", "is_voided"]


class PatientSerializer(serializers.ModelSerializer):
    is_voided = serializers.BooleanField(read_only=True)
    latest_weight = serializers.SerializerMethodField()
    courses = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = [
            "id",
            *kinds.PATIENT_FIELDS,
            "version",
            "created_at",
            "is_voided",
            "voided_at",
            "void_reason",
            "latest_weight",
            "courses",
        ]

    @extend_schema_field(WeightSerializer(allow_null=True))
    def get_latest_weight(self, obj):
        weight = obj.weights.active().first()
        return WeightSerializer(weight).data if weight else None

    @extend_schema_field(CourseBriefSerializer(many=True))
    def get_courses(self, obj):
        # Only the courses the reader may open: a patient may also be on another caseload.
        visible = self.context.get("visible_courses")
        qs = obj.courses.all() if visible is None else visible.filter(patient=obj)
        return CourseBriefSerializer(qs, many=True).data


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "actor_username", "action", "record_type", "record_id", "ip_address", "detail"]
