"""Measures API serializers: input ones check shape only; measures.services and scoring judge the answers.

Answer values are not type-checked here: scoring.normalise_answers is the one place that knows
each instrument's items and options, and the service turns its complaints into errors keyed
`item_N`, the same in the web form and the API.
"""

from django.db import models as dj_models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kernel.api.fields import UniqueListField
from kernel.api.serializers import ClinicDateTimeField, SettingsSerializer, StaffBriefSerializer
from kernel.text import REASON_MAX
from measures import services
from measures.instruments import INSTRUMENTS, Instrument
from measures.models import (
    Administration,
    AdministrationStatus,
    MeasureSettings,
    MessageKind,
    MessageStatus,
    OutboundMessage,
    Response,
    ResponseSource,
    SafetyAlert,
    Timepoint,
)

# The longest instrument has 20 items; anything much larger is not a questionnaire.
ANSWERS_MAX = 40


def _states(choices: type[dj_models.TextChoices], **kwargs) -> serializers.CharField:
    """A `status` given as a plain string: a second `status` enum beside the course's would only
    collide with it in the schema, so the values are listed in the description instead."""
    values = ", ".join(choices.values)
    return serializers.CharField(help_text=f"One of: {values}.", **kwargs)


ANSWER_VALUE = {"oneOf": [{"type": "integer"}, {"type": "string"}], "nullable": True}


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": ANSWER_VALUE,
        "example": {"1": 0, "2": 1, "3": 2, "4": 0, "5": 1, "6": 0, "7": 1, "8": 0, "9": 0},
    }
)
class AnswersField(serializers.Field):
    """Item number → answer value, e.g. {"1": 0, "2": 3}. Values are checked by the scoring."""

    default_error_messages = {
        "not_a_dict": 'Send an object of item number to answer, like {{"1": 0, "2": 3}}.',
        "too_many": "Too many answers: no questionnaire has more than {max} items.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_a_dict")
        if len(data) > ANSWERS_MAX:
            self.fail("too_many", max=ANSWERS_MAX)
        return {str(key): value for key, value in data.items()}

    def to_representation(self, value):
        return value


# --- the patient's self-report ----------------------------------------------------------------


class ItemSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    text = serializers.CharField()


class OptionSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    label = serializers.CharField()


class InstrumentFormSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The instrument: phq9, gad7 or pcl5.")
    name = serializers.CharField()
    title = serializers.CharField()
    stem = serializers.CharField()
    recall = serializers.CharField()
    items = ItemSerializer(many=True)
    options = OptionSerializer(many=True)


class SelfReportFormSerializer(serializers.Serializer):
    """All a patient's link shows: the clinic, their first name and the questionnaire."""

    clinic = serializers.CharField()
    first_name = serializers.CharField()
    instrument = InstrumentFormSerializer()


class SelfReportInputSerializer(serializers.Serializer):
    answers = AnswersField(help_text="Every item must be answered: item number → value.")


class SelfReportResultSerializer(serializers.Serializer):
    instrument = serializers.ChoiceField(choices=Instrument.choices)
    complete = serializers.BooleanField()
    total = serializers.IntegerField(allow_null=True)
    band = serializers.CharField()
    safety_alert = serializers.BooleanField(
        help_text="PHQ-9 item 9 was above 0: the care team has been alerted. Show crisis contacts."
    )


class LinkProblemSerializer(serializers.Serializer):
    """Why a self-report link cannot be used, and what the patient can do next."""

    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    reason = serializers.ChoiceField(choices=["invalid", "expired", "used", "closed"])


# --- answers, as staff see them ---------------------------------------------------------------


class ResponseSerializer(serializers.ModelSerializer):
    instrument = serializers.ChoiceField(choices=Instrument.choices, read_only=True)
    source = serializers.ChoiceField(choices=ResponseSource.choices, read_only=True)
    answers = serializers.DictField(
        child=serializers.IntegerField(allow_null=True),
        read_only=True,
        help_text="Every item by number; null where unanswered.",
    )
    clusters = serializers.DictField(
        child=serializers.IntegerField(), read_only=True, help_text="PCL-5 DSM-5 cluster sub-scores B, C, D, E."
    )
    entered_by = StaffBriefSerializer(read_only=True, allow_null=True)
    timepoint = serializers.ChoiceField(choices=Timepoint.choices, source="administration.timepoint", read_only=True)
    safety_alert = serializers.SerializerMethodField(help_text="The safety alert this response raised, if any.")

    class Meta:
        model = Response
        fields = [
            "id",
            "administration",
            "course",
            "instrument",
            "timepoint",
            "answers",
            "complete",
            "total",
            "band",
            "safety_item_value",
            "clusters",
            "provisional_ptsd_cutoff",
            "provisional_ptsd_symptom_rule",
            "scoring_version",
            "source",
            "entered_by",
            "answered_at",
            "safety_alert",
        ]

    @extend_schema_field(serializers.UUIDField(allow_null=True))
    def get_safety_alert(self, response):
        alert = getattr(response, "safety_alert", None)
        return str(alert.pk) if alert is not None else None


class ClinicianEntryInputSerializer(serializers.Serializer):
    answers = AnswersField(help_text="Item number → value; unanswered items may be left out or null.")
    answered_at = ClinicDateTimeField(required=False, help_text="When the patient answered; defaults to now.")


class ScoreSerializer(serializers.Serializer):
    response = serializers.UUIDField(source="pk")
    complete = serializers.BooleanField()
    total = serializers.IntegerField(allow_null=True)
    band = serializers.CharField()
    source = serializers.ChoiceField(choices=ResponseSource.choices)
    answered_at = serializers.DateTimeField()
    safety_alert = serializers.SerializerMethodField(help_text="PHQ-9 item 9 above 0: a safety alert was raised.")

    def get_safety_alert(self, response) -> bool:
        return bool(response.safety_item_value)


# --- administrations --------------------------------------------------------------------------


class AdministrationSerializer(serializers.ModelSerializer):
    instrument = serializers.ChoiceField(choices=Instrument.choices, read_only=True)
    instrument_name = serializers.SerializerMethodField()
    timepoint = serializers.ChoiceField(choices=Timepoint.choices, read_only=True)
    status = _states(AdministrationStatus, read_only=True)
    dose = serializers.UUIDField(source="dose_id", read_only=True, allow_null=True)
    score = serializers.SerializerMethodField(help_text="The answers' score, once answered; null before.")

    class Meta:
        model = Administration
        fields = [
            "id",
            "course",
            "instrument",
            "instrument_name",
            "timepoint",
            "dose",
            "status",
            "target_date",
            "open_from",
            "due_by",
            "missed_after",
            "manually_adjusted",
            "adjustment_reason",
            "opened_at",
            "completed_at",
            "missed_at",
            "escalated_at",
            "cancelled_at",
            "cancelled_reason",
            "waived_at",
            "waived_by",
            "waived_reason",
            "score",
        ]

    def get_instrument_name(self, administration) -> str:
        return INSTRUMENTS[administration.instrument].name

    @extend_schema_field(ScoreSerializer(allow_null=True))
    def get_score(self, administration):
        response = getattr(administration, "response", None)
        if response is None:
            return None
        return ScoreSerializer(response).data


class AdministrationAddInputSerializer(serializers.Serializer):
    instrument = serializers.ChoiceField(choices=Instrument.choices)
    open_from = serializers.DateField()
    missed_after = serializers.DateField(help_text="The last day an answer is accepted.")


class AdministrationAdjustInputSerializer(serializers.Serializer):
    target_date = serializers.DateField()
    open_from = serializers.DateField()
    due_by = serializers.DateField()
    missed_after = serializers.DateField(help_text="The last day an answer is accepted.")
    reason = serializers.CharField(max_length=REASON_MAX, allow_blank=True)


class AdministrationCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX, allow_blank=True)


# --- safety alerts ----------------------------------------------------------------------------


class SafetyAlertSerializer(serializers.ModelSerializer):
    patient = serializers.UUIDField(source="course.patient_id", read_only=True)
    acknowledged_by = StaffBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = SafetyAlert
        fields = [
            "id",
            "course",
            "patient",
            "response",
            "item_value",
            "raised_at",
            "acknowledged_at",
            "acknowledged_by",
            "escalated_at",
            "action_note",
        ]


class SafetyAlertAcknowledgeInputSerializer(serializers.Serializer):
    action_note = serializers.CharField(
        max_length=REASON_MAX, allow_blank=True, help_text="What was done: contact made, safety plan, referral…"
    )


# --- messages ---------------------------------------------------------------------------------


def mask_address(address: str) -> str:
    """Enough to tell addresses apart, not enough to read one: a***@example.invalid, ***1234."""
    if not address:
        return ""
    if "@" in address:
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}***@{domain}"
    digits = [c for c in address if c.isdigit()]
    return "***" + "".join(digits[-4:])


class MessageSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=MessageKind.choices, read_only=True)
    status = _states(MessageStatus, read_only=True)
    channel = serializers.CharField(read_only=True, help_text="email or sms, as the patient prefers.")
    to = serializers.SerializerMethodField(help_text="The address, masked.")
    last_error = serializers.SerializerMethodField()
    course = serializers.SerializerMethodField()

    class Meta:
        model = OutboundMessage
        fields = [
            "id",
            "kind",
            "channel",
            "status",
            "attempts",
            "last_error",
            "to",
            "course",
            "administration",
            "safety_alert",
            "created_at",
            "sent_at",
            "failed_at",
            "next_attempt_at",
            "retry_until",
            "not_needed_reason",
        ]
        extra_kwargs = {
            "next_attempt_at": {"help_text": "After the quick retries: when the send sweep tries again."},
            "retry_until": {"help_text": "Tried again automatically until then; after that it is failed."},
            "not_needed_reason": {"help_text": "Why a not_needed message was not sent (answered, cancelled, closed)."},
        }

    def get_to(self, message) -> str:
        return mask_address(message.to_address)

    def get_last_error(self, message) -> str:
        # A mail server's refusal often quotes the address; keep it masked there too.
        if message.to_address:
            return message.last_error.replace(message.to_address, mask_address(message.to_address))
        return message.last_error

    @extend_schema_field(serializers.UUIDField())
    def get_course(self, message):
        if message.administration_id:
            return str(message.administration.course_id)
        return str(message.safety_alert.course_id)


class MessageFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=MessageStatus.choices,
        required=False,
        help_text="Only messages in this state; by default every message not yet sent (pending, sending, failed).",
    )


# --- settings ---------------------------------------------------------------------------------


class MeasureSettingsSerializer(SettingsSerializer):
    instruments_by_timepoint = serializers.DictField(
        child=UniqueListField(child=serializers.ChoiceField(choices=list(INSTRUMENTS))),
        required=False,
        help_text='Timepoint → instrument codes, e.g. {"pre_dose": ["phq9", "gad7"]}. Changes the timepoints '
        "it names and keeps the others; give a timepoint an empty list to stop its questionnaires.",
    )
    updated_by = StaffBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = MeasureSettings
        fields = [*services.MEASURE_SETTINGS_FIELDS, "updated_at", "updated_by"]
        read_only_fields = ["updated_at", "updated_by"]

    def get_validators(self):
        return []  # the single-row and range constraints are the service's full_clean to judge


class SettingMoveSerializer(serializers.Serializer):
    setting = serializers.CharField()
    questionnaires = serializers.IntegerField(
        help_text="Questionnaires not yet answered (scheduled or open, in courses in care, not adjusted by "
        "hand) that a worker is re-planning to the new value."
    )
    timepoints = serializers.ListField(child=serializers.CharField())
    figures = serializers.CharField(
        help_text="What the change moves in the outcome report, which reads the same value."
    )


class MeasureSettingsChangeSerializer(MeasureSettingsSerializer):
    moves = SettingMoveSerializer(many=True, read_only=True, help_text="One per setting that changed.")

    class Meta(MeasureSettingsSerializer.Meta):
        fields = [*MeasureSettingsSerializer.Meta.fields, "moves"]


class ReplanResultSerializer(serializers.Serializer):
    courses = serializers.IntegerField(help_text="How many courses in care were re-planned.")
