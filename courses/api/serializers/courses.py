"""Courses: opening one, its stages and exceptions, its summary, and the whole timeline."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from courses import bedside, selectors
from courses.api.serializers._common import BlockerSerializer, ModelInput, PlainOut, blockers_out, text_field
from courses.api.serializers.adverse_events import AdverseEventSerializer
from courses.api.serializers.dosing import DOSING_SESSION_FIELDS, DoseSerializer
from courses.api.serializers.evaluations import MedicalEvaluationSerializer, PsychiatricEvaluationSerializer
from courses.api.serializers.patients import PatientListSerializer
from courses.api.serializers.sessions import IntegrationSessionSerializer, PreparatorySessionSerializer
from courses.choices import CourseStatus
from courses.models import Course, CourseStatusChange, DosingSession
from kernel.api.fields import UniqueListField
from kernel.api.serializers import StaffBriefSerializer, StaffField
from kernel.text import REASON_MAX

# What a course is opened with, the same names in its answers.
COURSE_FIELDS = [
    "patient",
    "indication",
    "indication_detail",
    "format",
    "therapists",
    "medical_provider",
    "planned_dosing_sessions",
]


class CourseInputSerializer(ModelInput):
    patient = serializers.UUIDField()
    therapists = UniqueListField(child=StaffField(), allow_empty=False, max_length=20)
    medical_provider = StaffField()
    age_exception_reason = text_field(
        max_length=REASON_MAX,
        help_text="Only for a patient under the clinic's minimum age, and only from a practice lead: why.",
    )
    started_on = serializers.DateField(
        required=False, help_text="The day the course started; today if absent. An earlier day needs the reason."
    )
    start_backdated_reason = text_field(max_length=REASON_MAX, help_text="Why the start is before today.")

    class Meta:
        model = Course
        fields = [
            *COURSE_FIELDS,
            "age_exception_reason",
            "started_on",
            "start_backdated_reason",
        ]


class AgeExceptionInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX)


class CourseStatusInputSerializer(serializers.Serializer):
    # A course never moves back to its first stage, so that stage is not a target.
    to_status = serializers.ChoiceField(
        choices=[(value, label) for value, label in CourseStatus.choices if value != CourseStatus.EVALUATION]
    )
    reason = text_field(max_length=REASON_MAX)
    stop_follow_up = serializers.BooleanField(
        default=False,
        help_text="On discontinuing: also stop the follow-up questionnaires (by default they continue).",
    )
    follow_up_stop_reason = text_field(max_length=REASON_MAX)
    effective_on = serializers.DateField(
        required=False, help_text="The day the change happened; today if absent. An earlier day needs the reason."
    )
    late_entry_reason = text_field(max_length=REASON_MAX, help_text="Why the change is recorded after its day.")


class FollowUpStopInputSerializer(serializers.Serializer):
    follow_up_stop_reason = text_field(max_length=REASON_MAX)


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


class CourseListSerializer(PlainOut, serializers.ModelSerializer):
    patient = PatientListSerializer(read_only=True)
    therapists = StaffBriefSerializer(many=True, read_only=True)
    medical_provider = StaffBriefSerializer(read_only=True)
    is_voided = serializers.BooleanField(read_only=True)

    class Meta:
        model = Course
        fields = [
            "id",
            *COURSE_FIELDS,
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
        counts = selectors.course_summary_counts(course)
        return {
            "screen_decision": evaluation.decision if evaluation else None,
            "screen_signed": bool(evaluation and evaluation.is_signed),
            "screen_expires_on": state.screen_expires_on,
            "cleared_for_dosing": state.cleared,
            "dosing_blockers": blockers_out(state.blockers),
            "psychiatric_evaluation_signed": counts["psychiatric_evaluation_signed"],
            "preparatory_sessions": counts["preparatory_sessions"],
            "doses_given": counts["doses_given"],
            "planned_dosing_sessions": course.planned_dosing_sessions,
            "maintenance_doses": counts["maintenance_doses"],
            "integration_sessions": counts["integration_sessions"],
            "serious_adverse_events": counts["serious_adverse_events"],
        }


class StatusChangeSerializer(PlainOut, serializers.ModelSerializer):
    # Plain strings (values of Course.status): a second enum of the same set would only rename it.
    from_status = serializers.CharField(read_only=True)
    to_status = serializers.CharField(read_only=True)
    changed_by = StaffBriefSerializer(read_only=True)

    class Meta:
        model = CourseStatusChange
        fields = ["from_status", "to_status", "reason", "changed_at", "changed_by", "recorded_at", "late_entry_reason"]


class TimelineSessionSerializer(PlainOut, serializers.ModelSerializer):
    """The session a dose was given in, from what the timeline selector already loaded."""

    medical_provider = StaffBriefSerializer(read_only=True)
    facilitators = StaffBriefSerializer(many=True, read_only=True)
    is_signed = serializers.BooleanField(read_only=True)
    is_voided = serializers.BooleanField(read_only=True)

    class Meta:
        model = DosingSession
        fields = [
            *DOSING_SESSION_FIELDS,
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
