"""Serializer pieces shared by several resources: input derived from the model, free text, the
`version` a writer read, the record and signature fields of an answer (with its amendments), and
the blockers courses.safety lists."""

from django.db import models as dj_models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from courses.models import Amendment
from kernel.api.serializers import ClinicDateTimeField, StaffBriefSerializer
from kernel.text import TEXT_MAX


def text_field(**kwargs):
    kwargs.setdefault("max_length", TEXT_MAX)
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_blank", True)
    return serializers.CharField(**kwargs)


class ModelInput(serializers.ModelSerializer):
    """Model-derived limits without model-level uniqueness checks: the service decides those."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        dj_models.TextField: serializers.CharField,
        dj_models.DateTimeField: ClinicDateTimeField,
    }

    def build_standard_field(self, field_name, model_field):
        # Text limits come with the model's max_length (models.free_text); the rest is the service's.
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        kwargs.pop("validators", None)
        return field_class, kwargs

    def get_validators(self):
        return []


class AmendmentSerializer(serializers.ModelSerializer):
    amended_by = StaffBriefSerializer(read_only=True)
    changes = serializers.JSONField(help_text='Each changed field: {"from": old, "to": new}.')

    class Meta:
        model = Amendment
        fields = ["id", "record_type", "record_id", "changes", "reason", "amended_at", "amended_by"]


RECORD_META = ["version", "created_at", "created_by", "is_voided", "voided_at", "voided_by", "void_reason"]


def version_field(required: bool = True):
    """The version the client read: a write over a newer one is a 409, not a silent overwrite."""
    return serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=required,
        help_text="The record's `version` as you last read it. If someone saved it since, the answer is 409 "
        "and nothing is changed: read the record again and resend.",
    )


SIGNED_META = ["signed_at", "signed_by", "is_signed"]


class RecordOut(serializers.ModelSerializer):
    """Who made a record, its voiding, and (when the view supplies them) its amendments."""

    is_voided = serializers.BooleanField(read_only=True)
    amendments = serializers.SerializerMethodField()

    @extend_schema_field(AmendmentSerializer(many=True))
    def get_amendments(self, obj):
        by_record = self.context.get("amendments")
        if by_record is None:
            return []
        return AmendmentSerializer(by_record.get(obj.pk, []), many=True).data


class SignedOut(RecordOut):
    is_signed = serializers.BooleanField(read_only=True)
    signed_by = StaffBriefSerializer(read_only=True, allow_null=True)


class BlockerSerializer(serializers.Serializer):
    """One thing still needed before an act (courses.safety): the same list the pages show and the
    service refuses with."""

    code = serializers.CharField()
    field = serializers.CharField()
    message = serializers.CharField()
    exceptionable = serializers.BooleanField(
        help_text="A medical provider may go ahead by documenting why (a discharge exception)."
    )


def blockers_out(blockers) -> list[dict]:
    return [
        {"code": b.code, "field": b.field, "message": b.message, "exceptionable": b.exceptionable} for b in blockers
    ]
