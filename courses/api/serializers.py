"""API serializers: input ones check shape and types only; output ones render the record.

Input limits mirror the model (max_length, digits, integer column ranges, choices) so bad input
is a 400 naming the field before any service runs. Clinical ranges and rules (plausible vitals,
route maxima, screen decisions) are the services' to judge, so their messages are the same in
the web UI and the API.
"""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models as dj_models
from django.forms.utils import from_current_timezone
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Role, User
from courses import bedside, rules, services
from courses.api.fields import UniqueListField
from courses.choices import (
    IN_SESSION_ALERT_CHOICES,
    CourseStatus,
    IntegrationTechnique,
    PreparationTopic,
    SeriousCriterion,
    SessionFormat,
    VitalPhase,
)
from courses.models import (
    AdverseEvent,
    Amendment,
    AuditEvent,
    ClinicSettings,
    Course,
    CourseStatusChange,
    DosingParticipant,
    DosingSession,
    HoldOverride,
    InSessionAlert,
    IntegrationSession,
    MedicalEvaluation,
    Patient,
    PreparatorySession,
    PsychiatricEvaluation,
    VitalReading,
    WeightMeasurement,
)

# The widest primary key a staff id can be (BigAutoField); larger numbers are refused up front.
MAX_STAFF_ID = 2**63 - 1


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class RefuseUnknownKeys:
    """For a clinic settings row changed by PATCH: a key that is no setting (a typo, a setting of
    another page) is a 400 naming it, not dropped in silence while the answer says 200."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({k: ["No such setting here."] for k in unknown})
        return super().to_internal_value(data)


class SettingsSerializer(RefuseUnknownKeys, serializers.ModelSerializer):
    pass


class StaffField(serializers.PrimaryKeyRelatedField):
    """A staff member by id; out-of-range numbers are a 400, not a database overflow."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", User.objects.all())
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            number = int(data)
        except (TypeError, ValueError):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= number <= MAX_STAFF_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(number)


def _text(**kwargs):
    kwargs.setdefault("max_length", rules.TEXT_MAX)
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_blank", True)
    return serializers.CharField(**kwargs)


def _offset_hint(value) -> str:
    """What to send instead: the time with one of the two offsets the clinic's zone has around it."""
    zone = timezone.get_current_timezone()
    offsets = sorted({value.replace(tzinfo=zone, fold=fold).strftime("%z") for fold in (0, 1)})
    shown = " or ".join(f"{o[:3]}:{o[3:]}" for o in offsets)
    return f"Give the time with its UTC offset ({shown}) to say which moment is meant."


class ClinicDateTimeField(serializers.DateTimeField):
    """A date and time the clinic could have recorded: in the years 1900 to 2099.

    A year like 562 is a typing slip, and it also broke the API's own output: before 1883 the
    clinic's zone has a local-mean-time offset in seconds (-04:56:02), which RFC 3339 cannot
    express, so the timeline answered with a date-time that no client could parse.

    A local time without an offset that the clinic's clock shows twice (01:30 on the night the
    clocks go back) or never (02:30 on the night they go forward) is refused, as the web form
    refuses it: the same rule (django.forms.utils.from_current_timezone), or a dose could be
    stored an hour off. With an explicit offset the moment is unambiguous and is taken.
    """

    # DRF's own "Datetime value out of range." (a year 1 with an offset) says the same thing, better.
    default_error_messages = {"out_of_range": rules.RECORD_YEARS_MESSAGE, "overflow": rules.RECORD_YEARS_MESSAGE}

    def enforce_timezone(self, value):
        # Years outside the record's are refused as such below, not as a clock change.
        if settings.USE_TZ and timezone.is_naive(value) and not rules.record_year_errors({"value": value}):
            try:
                from_current_timezone(value)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(
                    [*exc.messages, _offset_hint(value)], code="ambiguous_timezone"
                ) from None
        return super().enforce_timezone(value)

    def to_internal_value(self, value):
        try:
            moment = super().to_internal_value(value)
        except OverflowError:
            # A naive 9999-12-31T23:59 made aware in the clinic's zone runs past the last datetime.
            self.fail("out_of_range")
        if rules.record_year_errors({"value": moment}):
            self.fail("out_of_range")
        return moment


class _Input(serializers.ModelSerializer):
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


# --- staff ------------------------------------------------------------------------------------


class StaffBriefSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "name", "role", "credentials"]


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


# --- common pieces ----------------------------------------------------------------------------


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


class _RecordOut(serializers.ModelSerializer):
    """Who made a record, its voiding, and (when the view supplies them) its amendments."""

    is_voided = serializers.BooleanField(read_only=True)
    amendments = serializers.SerializerMethodField()

    @extend_schema_field(AmendmentSerializer(many=True))
    def get_amendments(self, obj):
        by_record = self.context.get("amendments")
        if by_record is None:
            return []
        return AmendmentSerializer(by_record.get(obj.pk, []), many=True).data


class _SignedOut(_RecordOut):
    is_signed = serializers.BooleanField(read_only=True)
    signed_by = StaffBriefSerializer(read_only=True, allow_null=True)


# --- patients ---------------------------------------------------------------------------------


class PatientInputSerializer(_Input):
    weight_kg = serializers.DecimalField(
        max_digits=5, decimal_places=1, required=False, allow_null=True, help_text="Current weight (kg), optional."
    )

    class Meta:
        model = Patient
        fields = [*services.PATIENT_FIELDS, "weight_kg"]


class PatientUpdateSerializer(_Input):
    version = version_field()
    reason = _text(
        max_length=rules.REASON_MAX,
        help_text="Required to change `date_of_birth` once the patient has a course (it decides the minimum-age "
        "rule); kept with the old date.",
    )

    class Meta:
        model = Patient
        fields = [*services.PATIENT_FIELDS, "version", "reason"]


class PatientListSerializer(serializers.ModelSerializer):
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
    change_reason = _text(
        max_length=rules.REASON_MAX,
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
            *services.PATIENT_FIELDS,
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


# --- courses ----------------------------------------------------------------------------------


class CourseInputSerializer(_Input):
    patient = serializers.UUIDField()
    therapists = UniqueListField(child=StaffField(), allow_empty=False, max_length=20)
    medical_provider = StaffField()
    age_exception_reason = _text(
        max_length=rules.REASON_MAX,
        help_text="Only for a patient under the clinic's minimum age, and only from a practice lead: why.",
    )
    started_on = serializers.DateField(
        required=False, help_text="The day the course started; today if absent. An earlier day needs the reason."
    )
    start_backdated_reason = _text(max_length=rules.REASON_MAX, help_text="Why the start is before today.")

    class Meta:
        model = Course
        fields = [
            "patient",
            "indication",
            "indication_detail",
            "format",
            "therapists",
            "medical_provider",
            "planned_dosing_sessions",
            "age_exception_reason",
            "started_on",
            "start_backdated_reason",
        ]


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


class AgeExceptionInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=rules.REASON_MAX)


class CourseStatusInputSerializer(serializers.Serializer):
    # A course never moves back to its first stage, so that stage is not a target.
    to_status = serializers.ChoiceField(
        choices=[(value, label) for value, label in CourseStatus.choices if value != CourseStatus.EVALUATION]
    )
    reason = _text(max_length=rules.REASON_MAX)
    stop_follow_up = serializers.BooleanField(
        default=False,
        help_text="On discontinuing: also stop the follow-up questionnaires (by default they continue).",
    )
    follow_up_stop_reason = _text(max_length=rules.REASON_MAX)
    effective_on = serializers.DateField(
        required=False, help_text="The day the change happened; today if absent. An earlier day needs the reason."
    )
    late_entry_reason = _text(max_length=rules.REASON_MAX, help_text="Why the change is recorded after its day.")


class FollowUpStopInputSerializer(serializers.Serializer):
    follow_up_stop_reason = _text(max_length=rules.REASON_MAX)


class CourseSummarySerializer(serializers.Serializer):
    screen_decision = serializers.CharField(allow_null=True)
    screen_signed = serializers.BooleanField()
    screen_expires_on = serializers.DateField(allow_null=True)
    cleared_for_dosing = serializers.BooleanField(help_text="The screen and the psychiatric evaluation clear dosing.")
    dosing_blockers = BlockerSerializer(
        many=True, help_text="What the course's next dose waits for, today (empty: nothing at course level)."
    )
    psychiatric_evaluation_signed = serializers.BooleanField()
    preparatory_sessions = serializers.IntegerField()
    doses_given = serializers.IntegerField()
    planned_dosing_sessions = serializers.IntegerField()
    maintenance_doses = serializers.IntegerField()
    integration_sessions = serializers.IntegerField()
    serious_adverse_events = serializers.IntegerField()


class CourseListSerializer(serializers.ModelSerializer):
    patient = PatientListSerializer(read_only=True)
    therapists = StaffBriefSerializer(many=True, read_only=True)
    medical_provider = StaffBriefSerializer(read_only=True)
    is_voided = serializers.BooleanField(read_only=True)

    class Meta:
        model = Course
        fields = [
            "id",
            "patient",
            "indication",
            "indication_detail",
            "format",
            "therapists",
            "medical_provider",
            "planned_dosing_sessions",
            "status",
            "started_on",
            "start_backdated_reason",
            "status_changed_at",
            "discontinued_reason",
            "follow_up_stopped_at",
            "follow_up_stopped_reason",
            "created_at",
            "is_voided",
            "voided_at",
            "void_reason",
        ]


class CourseSerializer(CourseListSerializer):
    summary = serializers.SerializerMethodField()

    class Meta(CourseListSerializer.Meta):
        fields = [*CourseListSerializer.Meta.fields, "summary"]

    @extend_schema_field(CourseSummarySerializer)
    def get_summary(self, course):
        state = bedside.course_state(course)
        evaluation = state.screen
        doses = course.doses.active()
        return {
            "screen_decision": evaluation.decision if evaluation else None,
            "screen_signed": bool(evaluation and evaluation.is_signed),
            "screen_expires_on": state.screen_expires_on,
            "cleared_for_dosing": state.cleared,
            "dosing_blockers": blockers_out(state.blockers),
            "psychiatric_evaluation_signed": course.psychiatric_evaluations.active()
            .filter(signed_at__isnull=False)
            .exists(),
            "preparatory_sessions": course.preparatory_sessions.active().count(),
            "doses_given": doses.filter(dosed_at__isnull=False, is_maintenance=False).count(),
            "planned_dosing_sessions": course.planned_dosing_sessions,
            "maintenance_doses": doses.filter(dosed_at__isnull=False, is_maintenance=True).count(),
            "integration_sessions": course.integration_sessions.active().count(),
            "serious_adverse_events": AdverseEvent.objects.active()
            .filter(course=course, serious=True)
            .exclude(participant__voided_at__isnull=False)
            .count(),
        }


class StatusChangeSerializer(serializers.ModelSerializer):
    # Plain strings (values of Course.status): a second enum of the same set would only rename it.
    from_status = serializers.CharField(read_only=True)
    to_status = serializers.CharField(read_only=True)
    changed_by = StaffBriefSerializer(read_only=True)

    class Meta:
        model = CourseStatusChange
        fields = ["from_status", "to_status", "reason", "changed_at", "changed_by", "recorded_at", "late_entry_reason"]


# --- evaluations and sessions -----------------------------------------------------------------


class MedicalEvaluationInputSerializer(_Input):
    class Meta:
        model = MedicalEvaluation
        fields = list(services.MEDICAL_EVALUATION_FIELDS)


class MedicalEvaluationSerializer(_SignedOut):
    class Meta:
        model = MedicalEvaluation
        fields = [
            "id",
            "course",
            *services.MEDICAL_EVALUATION_FIELDS,
            "superseded_at",
            "superseded_by",
            *SIGNED_META,
            *RECORD_META,
            "amendments",
        ]


PSYCHIATRIC_FIELDS = ["evaluated_on", "diagnosis", "icd10_code", "indication", "suicide_risk", "risk_plan", "note"]


class PsychiatricEvaluationInputSerializer(_Input):
    class Meta:
        model = PsychiatricEvaluation
        fields = PSYCHIATRIC_FIELDS
        extra_kwargs = {"indication": {"required": False, "help_text": "Defaults to the course's indication."}}


class PsychiatricEvaluationSerializer(_SignedOut):
    class Meta:
        model = PsychiatricEvaluation
        fields = ["id", "course", *PSYCHIATRIC_FIELDS, *SIGNED_META, *RECORD_META, "amendments"]


class PreparatorySessionInputSerializer(serializers.Serializer):
    held_at = ClinicDateTimeField()
    note = serializers.CharField(max_length=rules.TEXT_MAX)
    topics = UniqueListField(child=serializers.ChoiceField(choices=PreparationTopic.choices), required=False)
    intentions = _text()
    duration_minutes = serializers.IntegerField(min_value=5, max_value=480, required=False)


class PreparatorySessionSerializer(_SignedOut):
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
    note = serializers.CharField(max_length=rules.TEXT_MAX)
    format = serializers.ChoiceField(choices=SessionFormat.choices, required=False)
    techniques = UniqueListField(child=serializers.ChoiceField(choices=IntegrationTechnique.choices), required=False)
    duration_minutes = serializers.IntegerField(min_value=5, max_value=480, required=False)


class IntegrationSessionSerializer(_SignedOut):
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


# --- dosing -----------------------------------------------------------------------------------


class DosingSessionInputSerializer(_Input):
    medical_provider = StaffField()
    facilitators = UniqueListField(child=StaffField(), allow_empty=False, max_length=10)

    class Meta:
        model = DosingSession
        fields = ["starts_at", "ends_at", "medical_provider", "facilitators", "format", "location", "others_present"]


class DosingSessionNoteInputSerializer(serializers.Serializer):
    facilitation_note = serializers.CharField(max_length=rules.TEXT_MAX, allow_blank=True)
    others_present = serializers.CharField(max_length=300, required=False, allow_blank=True)
    version = version_field()


class SignInputSerializer(serializers.Serializer):
    version = version_field(required=False)


class VitalReadingSerializer(_RecordOut):
    alerts = serializers.ListField(child=serializers.CharField(), read_only=True)
    thresholds_in_force = serializers.DictField(child=serializers.IntegerField(), read_only=True)

    class Meta:
        model = VitalReading
        fields = [
            "id",
            "participant",
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


class AdverseEventSerializer(_RecordOut):
    serious_criteria = serializers.ListField(child=serializers.ChoiceField(choices=SeriousCriterion.choices))
    acknowledged_by = StaffBriefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = AdverseEvent
        fields = [
            "id",
            "course",
            "participant",
            *services.AE_FIELDS,
            "lead_notified_at",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledgement_note",
            *RECORD_META,
            "amendments",
        ]


class AdverseEventInputSerializer(_Input):
    serious_criteria = UniqueListField(child=serializers.ChoiceField(choices=SeriousCriterion.choices), required=False)

    class Meta:
        model = AdverseEvent
        fields = list(services.AE_FIELDS)
        extra_kwargs = {
            "onset_at": {"required": False, "help_text": "Defaults to now."},
            "expectedness": {"required": True, "allow_blank": False},
        }


class AcknowledgeInputSerializer(serializers.Serializer):
    note = _text(max_length=rules.REASON_MAX)


class AdverseEventDashboardSerializer(AdverseEventSerializer):
    patient = serializers.UUIDField(source="course.patient_id", read_only=True)
    session = serializers.UUIDField(source="participant.session_id", read_only=True, allow_null=True, default=None)

    class Meta(AdverseEventSerializer.Meta):
        fields = [*AdverseEventSerializer.Meta.fields, "patient", "course", "session"]


DOSE_OUT_FIELDS = [
    "id",
    "session",
    "course",
    "is_maintenance",
    *services.DOSE_FIELDS,
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


class HoldOverrideSerializer(serializers.ModelSerializer):
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


class InSessionAlertSerializer(serializers.ModelSerializer):
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
    note = _text(max_length=rules.REASON_MAX, help_text="Required with action `other`.")


class _DoseStateFields(serializers.Serializer):
    """A dose's state from courses.safety, the same fields wherever a dose is shown (the dose, the
    group session's participants): the hold, what is still needed, discharge, vitals overdue. The
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


class DoseSerializer(_DoseStateFields, _SignedOut):
    """One participant's dose with their vitals and adverse events (prefetched by the view), and its
    state from courses.safety: the hold, what is still needed, vitals overdue, open alerts."""

    is_over_maximum = serializers.BooleanField(read_only=True)
    hold_overrides = serializers.SerializerMethodField()
    in_session_alerts = serializers.SerializerMethodField()
    vitals = serializers.SerializerMethodField()
    adverse_events = serializers.SerializerMethodField()

    class Meta:
        model = DosingParticipant
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
        return HoldOverrideSerializer(self._state(obj).overrides, many=True).data

    @extend_schema_field(InSessionAlertSerializer(many=True))
    def get_in_session_alerts(self, obj):
        return InSessionAlertSerializer(obj.in_session_alerts.all(), many=True).data

    @extend_schema_field(VitalReadingSerializer(many=True))
    def get_vitals(self, obj):
        return VitalReadingSerializer(obj.vitals.all(), many=True, context=self.context).data

    @extend_schema_field(AdverseEventSerializer(many=True))
    def get_adverse_events(self, obj):
        return AdverseEventSerializer(obj.adverse_events.all(), many=True, context=self.context).data


class DoseInputSerializer(_Input):
    class Meta:
        model = DosingParticipant
        fields = list(services.DOSE_FIELDS)


WEIGHT_HELP = (
    "Omit to use the patient's latest recorded weight (if recent enough). A different weight is a new "
    "measurement: send it with `weighed_now: true` and it is recorded as the patient's weight today."
)


def _weighed_now():
    return serializers.BooleanField(
        required=False, default=False, help_text="The patient was weighed now: record `weight_kg` as their weight."
    )


class ParticipantAddInputSerializer(DoseInputSerializer):
    course = serializers.UUIDField()
    is_maintenance = serializers.BooleanField(
        required=False, allow_null=True, help_text="Omit to decide from the course's stage."
    )
    weighed_now = _weighed_now()

    class Meta(DoseInputSerializer.Meta):
        fields = ["course", "is_maintenance", *services.DOSE_FIELDS, "weighed_now"]
        extra_kwargs = {"weight_kg": {"required": False, "help_text": WEIGHT_HELP}}


class DoseUpdateInputSerializer(DoseInputSerializer):
    version = version_field()
    weighed_now = _weighed_now()

    class Meta(DoseInputSerializer.Meta):
        fields = [*services.DOSE_FIELDS, "is_maintenance", "weighed_now", "version"]
        extra_kwargs = {"weight_kg": {"help_text": WEIGHT_HELP}}


class HoldOverrideInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=rules.REASON_MAX)


class AdministerInputSerializer(serializers.Serializer):
    dosed_at = ClinicDateTimeField(required=False, help_text="Defaults to now.")


class DischargeInputSerializer(serializers.Serializer):
    alert_oriented = serializers.BooleanField()
    escort_present = serializers.BooleanField()
    no_driving_advised = serializers.BooleanField()
    exception_reason = _text(
        max_length=rules.REASON_MAX,
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


class ParticipantBriefSerializer(_DoseStateFields, serializers.ModelSerializer):
    """A participant on the group session: the card's facts and the same state as the dose."""

    patient = serializers.UUIDField(source="course.patient_id", read_only=True)
    is_voided = serializers.BooleanField(read_only=True)
    is_signed = serializers.BooleanField(read_only=True)

    class Meta:
        model = DosingParticipant
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


class DosingSessionListSerializer(_SignedOut):
    medical_provider = StaffBriefSerializer(read_only=True)
    facilitators = StaffBriefSerializer(many=True, read_only=True)
    participant_count = serializers.IntegerField(read_only=True, help_text="Active participants.")

    class Meta:
        model = DosingSession
        fields = [
            "id",
            "format",
            "starts_at",
            "ends_at",
            "location",
            "medical_provider",
            "facilitators",
            "others_present",
            "participant_count",
            *SIGNED_META,
            *RECORD_META,
        ]


class DosingSessionSerializer(DosingSessionListSerializer):
    facilitation_note = serializers.CharField(read_only=True)
    participants = ParticipantBriefSerializer(many=True, read_only=True)

    class Meta(DosingSessionListSerializer.Meta):
        fields = [*DosingSessionListSerializer.Meta.fields, "facilitation_note", "participants", "amendments"]


class TimelineSessionSerializer(serializers.ModelSerializer):
    """The session a dose was given in, from what the timeline selector already loaded."""

    medical_provider = StaffBriefSerializer(read_only=True)
    facilitators = StaffBriefSerializer(many=True, read_only=True)
    is_signed = serializers.BooleanField(read_only=True)
    is_voided = serializers.BooleanField(read_only=True)

    class Meta:
        model = DosingSession
        fields = [
            "id",
            "format",
            "starts_at",
            "ends_at",
            "location",
            "medical_provider",
            "facilitators",
            "others_present",
            "facilitation_note",
            "is_signed",
            "signed_at",
            "signed_by",
            "is_voided",
            "void_reason",
        ]


class TimelineDoseSerializer(DoseSerializer):
    session = TimelineSessionSerializer(read_only=True)

    class Meta(DoseSerializer.Meta):
        pass


class TimelineSerializer(serializers.Serializer):
    course = CourseListSerializer()
    adverse_events = AdverseEventSerializer(many=True, help_text="Reported outside a dosing session.")
    status_changes = StatusChangeSerializer(many=True)
    medical_evaluations = MedicalEvaluationSerializer(many=True)
    psychiatric_evaluations = PsychiatricEvaluationSerializer(many=True)
    preparatory_sessions = PreparatorySessionSerializer(many=True)
    doses = TimelineDoseSerializer(many=True)
    integration_sessions = IntegrationSessionSerializer(many=True)
    alerts = serializers.ListField(
        child=serializers.DictField(), help_text="Every vital reading that raised an alert: dose, reading, codes."
    )


# --- generic record actions -------------------------------------------------------------------


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
        max_length=rules.REASON_MAX, error_messages={"required": saying, "blank": saying, "null": saying}
    )


class AmendInputSerializer(serializers.Serializer):
    changes = RecordChangesField(allow_empty=False)
    reason = _reason("Say why the record is being corrected.")
    version = version_field(required=False)


class VoidInputSerializer(serializers.Serializer):
    reason = _reason("Say why the record is voided (entered in error, on the wrong patient…).")
    version = version_field(required=False)


# --- clinic settings --------------------------------------------------------------------------


class ClinicSettingsSerializer(RefuseUnknownKeys, _Input):
    class Meta:
        model = ClinicSettings
        fields = [*services.SETTINGS_FIELDS, "updated_at", "updated_by"]
        read_only_fields = ["updated_at", "updated_by"]
