"""Staff accounts and the clinic settings: the practice lead's admin endpoints."""

from rest_framework import serializers

from accounts.models import Role, User
from courses import services
from courses.api.serializers._common import ModelInput
from courses.models import ClinicSettings
from kernel.api.serializers import RefuseUnknownKeys


class StaffSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "name", "first_name", "last_name", "email", "role", "credentials", "is_active"]


class StaffCreateSerializer(serializers.Serializer):
    """A new colleague is invited by mail and chooses their own password: the lead never types it."""

    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)
    email = serializers.EmailField(max_length=254, help_text="The invitation's one-time link is mailed here.")
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    credentials = serializers.CharField(max_length=60, required=False, allow_blank=True)

    def to_internal_value(self, data):
        # A password sent by an older client is refused, not dropped: the lead must know it was not set.
        if isinstance(data, dict) and "password" in data:
            raise serializers.ValidationError(
                {"password": ["Not accepted: the colleague chooses a password from the invitation mailed to them."]}
            )
        return super().to_internal_value(data)


class StaffInvitedSerializer(StaffSerializer):
    invitation_sent = serializers.SerializerMethodField(
        help_text="Whether the mail server took the invitation; if not, send a new one from the Staff page."
    )

    class Meta(StaffSerializer.Meta):
        fields = [*StaffSerializer.Meta.fields, "invitation_sent"]

    def get_invitation_sent(self, obj) -> bool:
        return self.context["invitation_sent"]


class StaffActiveSerializer(serializers.Serializer):
    active = serializers.BooleanField()


class ClinicSettingsSerializer(RefuseUnknownKeys, ModelInput):
    class Meta:
        model = ClinicSettings
        fields = [*services.SETTINGS_FIELDS, "updated_at", "updated_by"]
        read_only_fields = ["updated_at", "updated_by"]
