"""The outcome definitions a practice lead may change."""

from rest_framework import serializers

from kernel.api.serializers import SettingsSerializer
from reports import services
from reports.models import OutcomeSettings


class OutcomeSettingsSerializer(SettingsSerializer):
    class Meta:
        model = OutcomeSettings
        fields = [*services.OUTCOME_SETTINGS_FIELDS, "updated_at", "updated_by"]
        read_only_fields = ["updated_at", "updated_by"]

    def to_internal_value(self, data):
        # A client still sending a timing definition here would otherwise be ignored without a word.
        if isinstance(data, dict) and (moved := services.moved_to_schedule(data)):
            raise serializers.ValidationError({k: [v] for k, v in moved.items()})
        return super().to_internal_value(data)
