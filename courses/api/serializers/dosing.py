"""Dosing sessions and the doses in them: vital readings, holds and their overrides, in-session
alerts, giving the dose and discharge, and each dose's state from courses.safety."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from courses import kinds, rules
from courses.api.serializers._common import (
    RECORD_META,
    SIGNED_META,
    BlockerSerializer,
    ModelInput,
    PlainOut,
    RecordOut,
    SignedOut,
    blockers_out,
    many_out,
    text_field,
    version_field,
)
from courses.api.serializers.adverse_events import AdverseEventSerializer
from courses.choices import IN_SESSION_ALERT_CHOICES, VitalPhase
from courses.models import Dose, DosingSession, HoldOverride, InSessionAlert, VitalReading
from kernel.api.fields import UniqueListField
from kernel.api.serializers import ClinicDateTimeField, StaffBriefSerializer, StaffField
from kernel.text import REASON_MAX, TEXT_MAX


class DosingSessionInputSerializer(ModelInput):
    medical_provider = StaffField()
    facilitators = UniqueListField(child=StaffField(), allow_empty=False, max_length=10)

    class Meta:
        model = DosingSession
        fields = ["starts_at", "ends_at", "medical_provider", "facilitators", "format", "location", "others_present"]


class DosingSessionNoteInputSerializer(serializers.Serializer):
    facilitation_note = serializers.CharField(max_length=TEXT_MAX, allow_blank=True)
    others_present = serializers.CharField(max_length=300, required=False, allow_blank=True)
    version = version_field()


class VitalReadingSerializer(RecordOut):
    alerts = serializers.ListField(child=serializers.CharField(), read_only=True)
    thresholds_in_force = serializers.DictField(child=serializers.IntegerField(), read_only=True)

    class Meta:
        model = VitalReading
        fields = [
            "id",
            "dose",
            "taken_at",
            "phase",
            *rules.VITAL_RANGES,
            "alerts",
            "thresholds_in_force",
            *RECORD_META,
            "amendments",
        ]


class VitalReadingInputSerializer(serializers.Serializer):
    # Column limits only: the service refuses implausible values and names the plausible range.
    phase = serializers.ChoiceField(choices=VitalPhase.choices)
    taken_at = ClinicDateTimeField(required=False, help_text="Defaults to now.")
    systolic_bp = serializers.IntegerField(min_value=0, max_value=32767, required=False, allow_null=True)
    diastolic_bp = serializers.IntegerField(min_value=0, max_value=32767, required=False, allow_null=True)
    heart_rate = serializers.IntegerField(min_value=0, max_value=32767, required=False, allow_null=True)
    spo2 = serializers.IntegerField(min_value=0, max_value=32767, required=False, allow_null=True)
    respiratory_rate = serializers.IntegerField(min_value=0, max_value=32767, required=False, allow_null=True)


DOSE_OUT_FIELDS = [
    "id",
    "session",
    "course",
    "is_maintenance",
    *kinds.DOSE_FIELDS,
    "weight_measurement",
    "dose_mg_per_kg",
    "protocol_maximum",
    "protocol_maximum_unit",
    "protocol_ceiling",
    "is_over_maximum",
    "dosed_at",
    "discharge_alert_oriented",
    "discharge_vitals_acceptable",
    "discharge_escort_present",
    "discharge_no_driving_advised",
    "discharge_exception_reason",
    "left_before_discharge",
    "discharged_at",
    "discharged_by",
]


class HoldOverrideSerializer(PlainOut, serializers.ModelSerializer):
    overridden_by = StaffBriefSerializer(read_only=True)

    class Meta:
        model = HoldOverride
        fields = ["id", "reading", "reason", "overridden_at", "overridden_by"]


class HoldSerializer(serializers.Serializer):
    active = serializers.BooleanField()
    reading = serializers.UUIDField(allow_null=True, help_text="The reading that set the hold (or the overridden one).")
    recheck_from = serializers.DateTimeField(
        allow_null=True, help_text="From when a normal full pre-dose reading lifts it."
    )
    lifted_by = serializers.CharField(help_text='"override", "recheck" or "" (never set, or still active).')
    message = serializers.CharField()


class MonitoringSerializer(serializers.Serializer):
    overdue = serializers.BooleanField()
    next_due = serializers.DateTimeField(allow_null=True)
    message = serializers.CharField()


class InSessionAlertSerializer(PlainOut, serializers.ModelSerializer):
    alerts = serializers.ListField(child=serializers.CharField(), read_only=True)
    closed_by = StaffBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = InSessionAlert
        fields = ["id", "reading", "alerts", "raised_at", "closed_at", "closed_by", "action", "adverse_event", "note"]


class InSessionAlertCloseInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=IN_SESSION_ALERT_CHOICES)
    adverse_event = serializers.UUIDField(
        required=False, allow_null=True, help_text="With action `adverse_event`: the event recorded for this alert."
    )
    note = text_field(max_length=REASON_MAX, help_text="Required with action `other`.")


class _DoseStateFields(serializers.Serializer):
    """A dose's state from courses.safety, the same fields wherever a dose is shown (the dose, the
    group session's doses): the hold, what is still needed, discharge, vitals overdue. The
    view computes every dose's state in one pass (courses.bedside.dose_states) into
    context["states"]."""

    hold = serializers.SerializerMethodField()
    blockers = serializers.SerializerMethodField()
    ready_to_dose = serializers.SerializerMethodField()
    discharge_blockers = serializers.SerializerMethodField()
    vitals_overdue = serializers.SerializerMethodField()

    STATE_FIELDS = ["hold", "blockers", "ready_to_dose", "discharge_blockers", "vitals_overdue"]

    def _state(self, obj):
        return self.context["states"][obj.pk]

    @extend_schema_field(HoldSerializer)
    def get_hold(self, obj):
        hold = self._state(obj).hold
        return {
            "active": hold.active,
            "reading": hold.reading.id if hold.reading else None,
            "recheck_from": hold.recheck_from,
            "lifted_by": hold.lifted_by,
            "message": hold.message,
        }

    @extend_schema_field(BlockerSerializer(many=True))
    def get_blockers(self, obj):
        return blockers_out(self._state(obj).blockers)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_ready_to_dose(self, obj) -> bool:
        return self._state(obj).ready_to_dose

    @extend_schema_field(BlockerSerializer(many=True))
    def get_discharge_blockers(self, obj):
        return blockers_out(self._state(obj).discharge)

    @extend_schema_field(MonitoringSerializer)
    def get_vitals_overdue(self, obj):
        m = self._state(obj).monitoring
        return {"overdue": m.overdue, "next_due": m.next_due, "message": m.message}


class DoseSerializer(_DoseStateFields, SignedOut):
    """One patient's dose with their vitals and adverse events (prefetched by the view), and its
    state from courses.safety: the hold, what is still needed, vitals overdue, open alerts."""

    is_over_maximum = serializers.BooleanField(read_only=True)
    hold_overrides = serializers.SerializerMethodField()
    in_session_alerts = serializers.SerializerMethodField()
    vitals = serializers.SerializerMethodField()
    adverse_events = serializers.SerializerMethodField()

    class Meta:
        model = Dose
        fields = [
            *DOSE_OUT_FIELDS,
            "hold",
            "hold_overrides",
            "blockers",
            "ready_to_dose",
            "discharge_blockers",
            "vitals_overdue",
            "in_session_alerts",
            "vitals",
            "adverse_events",
            *SIGNED_META,
            *RECORD_META,
            "amendments",
        ]

    @extend_schema_field(HoldOverrideSerializer(many=True))
    def get_hold_overrides(self, obj):
        return many_out(self, HoldOverrideSerializer, self._state(obj).overrides)

    @extend_schema_field(InSessionAlertSerializer(many=True))
    def get_in_session_alerts(self, obj):
        return many_out(self, InSessionAlertSerializer, obj.in_session_alerts.all())

    @extend_schema_field(VitalReadingSerializer(many=True))
    def get_vitals(self, obj):
        return many_out(self, VitalReadingSerializer, obj.vitals.all(), context=self.context)

    @extend_schema_field(AdverseEventSerializer(many=True))
    def get_adverse_events(self, obj):
        return many_out(self, AdverseEventSerializer, obj.adverse_events.all(), context=self.context)


class DoseInputSerializer(ModelInput):
    class Meta:
        model = Dose
        fields = list(kinds.DOSE_FIELDS)


WEIGHT_HELP = (
    "Omit to use the patient's latest recorded weight (if recent enough). A different weight is a new "
    "measurement: send it with `weighed_now: true` and it is recorded as the patient's weight today."
)


def _weighed_now():
    return serializers.BooleanField(
        required=False, default=False, help_text="The patient was weighed now: record `weight_kg` as their weight."
    )


class DoseAddInputSerializer(DoseInputSerializer):
    course = serializers.UUIDField()
    is_maintenance = serializers.BooleanField(
        required=False, allow_null=True, help_text="Omit to decide from the course's stage."
    )
    weighed_now = _weighed_now()

    class Meta(DoseInputSerializer.Meta):
        fields = ["course", "is_maintenance", *kinds.DOSE_FIELDS, "weighed_now"]
        extra_kwargs = {"weight_kg": {"required": False, "help_text": WEIGHT_HELP}}


class DoseUpdateInputSerializer(DoseInputSerializer):
    version = version_field()
    weighed_now = _weighed_now()

    class Meta(DoseInputSerializer.Meta):
        fields = [*kinds.DOSE_FIELDS, "is_maintenance", "weighed_now", "version"]
        extra_kwargs = {"weight_kg": {"help_text": WEIGHT_HELP}}


class HoldOverrideInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX)


class AdministerInputSerializer(serializers.Serializer):
    dosed_at = ClinicDateTimeField(required=False, help_text="Defaults to now.")


class DischargeInputSerializer(serializers.Serializer):
    alert_oriented = serializers.BooleanField()
    escort_present = serializers.BooleanField()
    no_driving_advised = serializers.BooleanField()
    exception_reason = text_field(
        max_length=REASON_MAX,
        help_text="When the last pre-discharge reading still alerts: why discharge is safe. With "
        "`left_before_discharge`: what happened. Kept on the record and counted on the safety report.",
    )
    left_before_discharge = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The patient left before the discharge checks were met (against advice, collected early): the "
        "dose ends with `exception_reason` saying what happened.",
    )
    discharged_at = ClinicDateTimeField(required=False, help_text="Defaults to now.")


class DoseBriefSerializer(_DoseStateFields, serializers.ModelSerializer):
    """A dose on the group session: the card's facts and the same state as the dose."""

    patient = serializers.UUIDField(source="course.patient_id", read_only=True)
    is_voided = serializers.BooleanField(read_only=True)
    is_signed = serializers.BooleanField(read_only=True)

    class Meta:
        model = Dose
        fields = [
            "id",
            "course",
            "patient",
            "drug",
            "route",
            "dose_mg",
            "dose_mg_per_kg",
            "dosed_at",
            "discharged_at",
            "is_maintenance",
            "is_signed",
            "is_voided",
            *_DoseStateFields.STATE_FIELDS,
        ]


# A group session's own facts, first in every answer that shows one.
DOSING_SESSION_FIELDS = [
    "id",
    "format",
    "starts_at",
    "ends_at",
    "location",
    "medical_provider",
    "facilitators",
    "others_present",
]


class DosingSessionListSerializer(SignedOut):
    medical_provider = StaffBriefSerializer(read_only=True)
    facilitators = StaffBriefSerializer(many=True, read_only=True)
    dose_count = serializers.IntegerField(read_only=True, help_text="Active doses.")

    class Meta:
        model = DosingSession
        fields = [
            *DOSING_SESSION_FIELDS,
            "dose_count",
            *SIGNED_META,
            *RECORD_META,
        ]


class DosingSessionSerializer(DosingSessionListSerializer):
    facilitation_note = serializers.CharField(read_only=True)
    doses = DoseBriefSerializer(many=True, read_only=True)

    class Meta(DosingSessionListSerializer.Meta):
        fields = [*DosingSessionListSerializer.Meta.fields, "facilitation_note", "doses", "amendments"]
