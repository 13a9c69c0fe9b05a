"""REST API views: each checks the request's shape with a small serializer and calls a service.

Reads go through courses.selectors (caseload scoping, 404 outside it, audited reads of a
patient's record); writes go through courses.services, which hold every clinical rule and
permission. A record named in a request body that the caller may not see is a 400 naming
the field; one named in the URL is a 404.
"""

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models as dj_models
from django.db.models import Count, Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, MethodNotAllowed
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.invitations import staff_invite
from accounts.models import User
from accounts.tokens import ApiTokenAuthentication
from courses import bedside, selectors, services
from courses.api import pagination
from courses.api import serializers as s
from courses.api.errors import flatten_errors
from courses.api.permissions import IsPracticeLead
from courses.audit import audit_view
from courses.choices import CourseStatus
from courses.models import (
    AdverseEvent,
    Amendment,
    ClinicSettings,
    Course,
    DosingParticipant,
    DosingSession,
    InSessionAlert,
    IntegrationSession,
    MedicalEvaluation,
    Patient,
    PreparatorySession,
    PsychiatricEvaluation,
    VitalReading,
)


class ApiView(GenericAPIView):
    # Token first: its WWW-Authenticate header is what turns "not signed in" into a 401
    # (with session authentication first, DRF has no header to send and answers 403).
    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]


# The one paging class (also REST_FRAMEWORK's default): a bad `limit` or `offset` is a 400.
Pagination = pagination.Pagination


# --- schema helpers ---------------------------------------------------------------------------

_ERROR_TEXT = {
    400: "Invalid input or a broken rule; `errors` names each field.",
    401: "Not signed in.",
    403: "Signed in, but this role may not do this (the message says which role may).",
    404: "No such record on your caseload.",
    409: "Conflict: someone saved the record after you read it (your `version` is older), or a concurrent "
    "save won a race. Nothing was changed: read the record again and resend.",
    429: "Too many failed sign-ins: the account is locked for a while.",
    405: "This kind of record is not edited here; the message says where it is.",
}


def _responses(ok, ok_status: int = 200, errors=(400, 401, 403, 404, 409)) -> dict:
    out = {ok_status: ok}
    for code in errors:
        out[code] = OpenApiResponse(s.ErrorSerializer, description=_ERROR_TEXT[code])
    return out


READ_ERRORS = (401, 403, 404)
LIST_ERRORS = (400, 401, 403)


def _body(serializer_class, request, partial: bool = False) -> dict:
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _field_error(field: str, message: str):
    raise serializers.ValidationError({field: [message]})


def _version(data: dict) -> int:
    """The `version` a writer read, required where a write replaces values in place."""
    if "version" not in data:
        _field_error(
            "version",
            "Required: send the record's `version` as you read it, so a change saved meanwhile is not overwritten.",
        )
    try:
        return s.version_field().run_validation(data.pop("version"))
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({"version": exc.detail}) from exc


def _visible(field: str, getter, **kwargs):
    """A record named in the body, if the caller may see it; otherwise a 400 naming the field."""
    try:
        return getter(audit=False, **kwargs)
    except Http404:
        _field_error(field, "No such record on your caseload.")


# --- auth -------------------------------------------------------------------------------------


class AccountLocked(APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many failed sign-ins: this account is locked for a while. Try again later."
    default_code = "locked_out"


# The token endpoints (issue, list, revoke) are in courses/api/auth_views.py.


# --- patients ---------------------------------------------------------------------------------


class PatientListView(ApiView):
    pagination_class = Pagination
    serializer_class = s.PatientListSerializer

    @extend_schema(responses=_responses(s.PatientListSerializer(many=True), errors=LIST_ERRORS), tags=["patients"])
    def get(self, request):
        page = self.paginate_queryset(selectors.patients_for(request.user).order_by("family_name", "given_name", "id"))
        return self.get_paginated_response(s.PatientListSerializer(page, many=True).data)

    @extend_schema(
        request=s.PatientInputSerializer,
        responses=_responses(s.PatientSerializer, 201, (400, 401, 403, 409)),
        tags=["patients"],
    )
    def post(self, request):
        patient = services.patient_register(by=request.user, **_body(s.PatientInputSerializer, request))
        return Response(_patient_out(patient, request), status=status.HTTP_201_CREATED)


def _patient_out(patient, request):
    return s.PatientSerializer(patient, context={"visible_courses": selectors.courses_for(request.user)}).data


class PatientDetailView(ApiView):
    serializer_class = s.PatientSerializer

    @extend_schema(responses=_responses(s.PatientSerializer, errors=READ_ERRORS), tags=["patients"])
    def get(self, request, patient_id):
        patient = selectors.patient_get(user=request.user, patient_id=patient_id)
        return Response(_patient_out(patient, request))

    @extend_schema(request=s.PatientUpdateSerializer, responses=_responses(s.PatientSerializer), tags=["patients"])
    def patch(self, request, patient_id):
        patient = selectors.patient_get(user=request.user, patient_id=patient_id, audit=False)
        fields = _body(s.PatientUpdateSerializer, request, partial=True)
        version = _version(fields)
        patient = services.patient_update(patient=patient, by=request.user, version=version, **fields)
        return Response(_patient_out(patient, request))


class PatientWeightsView(ApiView):
    # The whole list, never paginated: without this the schema promised {count, results}.
    pagination_class = None
    serializer_class = s.WeightSerializer

    @extend_schema(responses=_responses(s.WeightSerializer(many=True), errors=READ_ERRORS), tags=["patients"])
    def get(self, request, patient_id):
        patient = selectors.patient_get(user=request.user, patient_id=patient_id)
        return Response(s.WeightSerializer(patient.weights.all(), many=True).data)

    @extend_schema(request=s.WeightInputSerializer, responses=_responses(s.WeightSerializer, 201), tags=["patients"])
    def post(self, request, patient_id):
        patient = selectors.patient_get(user=request.user, patient_id=patient_id, audit=False)
        weight = services.weight_record(patient=patient, by=request.user, **_body(s.WeightInputSerializer, request))
        return Response(s.WeightSerializer(weight).data, status=status.HTTP_201_CREATED)


class PatientAuditView(ApiView):
    """The patient's audit trail, newest first: practice leads only."""

    permission_classes = [IsPracticeLead]
    pagination_class = Pagination
    serializer_class = s.AuditEventSerializer

    @extend_schema(
        responses=_responses(s.AuditEventSerializer(many=True), errors=(400, *READ_ERRORS)), tags=["patients"]
    )
    def get(self, request, patient_id):
        patient = selectors.patient_get(user=request.user, patient_id=patient_id, audit=False)
        # Reading who read the record is itself a read of it.
        audit_view(actor=request.user, patient=patient, record=patient, detail="audit trail")
        page = self.paginate_queryset(selectors.audit_trail_for_patient(patient))
        return self.get_paginated_response(s.AuditEventSerializer(page, many=True).data)


# --- courses ----------------------------------------------------------------------------------


class CourseFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=CourseStatus.choices, required=False)
    patient = serializers.UUIDField(required=False)


def _course_out(course_id, request):
    course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
    return s.CourseSerializer(course).data


class CourseListView(ApiView):
    pagination_class = Pagination
    serializer_class = s.CourseListSerializer

    @extend_schema(
        parameters=[CourseFilterSerializer],
        responses=_responses(s.CourseListSerializer(many=True), errors=LIST_ERRORS),
        tags=["courses"],
    )
    def get(self, request):
        filters = CourseFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.courses_for(request.user).select_related("patient", "medical_provider")
        qs = qs.prefetch_related("therapists")
        if "status" in filters.validated_data:
            qs = qs.filter(status=filters.validated_data["status"])
        if "patient" in filters.validated_data:
            qs = qs.filter(patient_id=filters.validated_data["patient"])
        page = self.paginate_queryset(qs.order_by("-created_at", "id"))
        return self.get_paginated_response(s.CourseListSerializer(page, many=True).data)

    @extend_schema(request=s.CourseInputSerializer, responses=_responses(s.CourseSerializer, 201), tags=["courses"])
    def post(self, request):
        data = _body(s.CourseInputSerializer, request)
        patient = _visible("patient", selectors.patient_get, user=request.user, patient_id=data.pop("patient"))
        course = services.course_open(patient=patient, by=request.user, **data)
        return Response(_course_out(course.pk, request), status=status.HTTP_201_CREATED)


class CourseDetailView(ApiView):
    serializer_class = s.CourseSerializer

    @extend_schema(responses=_responses(s.CourseSerializer, errors=READ_ERRORS), tags=["courses"])
    def get(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id)
        return Response(s.CourseSerializer(course).data)


class CourseStatusView(ApiView):
    serializer_class = s.CourseStatusInputSerializer

    @extend_schema(request=s.CourseStatusInputSerializer, responses=_responses(s.CourseSerializer), tags=["courses"])
    def post(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
        services.course_change_status(course=course, by=request.user, **_body(s.CourseStatusInputSerializer, request))
        return Response(_course_out(course.pk, request))


class CourseFollowUpStopView(ApiView):
    serializer_class = s.FollowUpStopInputSerializer

    @extend_schema(request=s.FollowUpStopInputSerializer, responses=_responses(s.CourseSerializer), tags=["courses"])
    def post(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
        services.course_follow_up_stop(course=course, by=request.user, **_body(s.FollowUpStopInputSerializer, request))
        return Response(_course_out(course.pk, request))


class CourseTimelineView(ApiView):
    serializer_class = s.TimelineSerializer

    @extend_schema(responses=_responses(s.TimelineSerializer, errors=READ_ERRORS), tags=["courses"])
    def get(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id)
        data = selectors.course_timeline_data(course)
        context = {
            "amendments": data["amendments"],
            "states": bedside.dose_states(data["doses"], now=timezone.now()),
        }
        alerts = [
            {"dose": str(dose.pk), "reading": str(v.pk), "taken_at": v.taken_at, "phase": v.phase, "alerts": v.alerts}
            for dose in data["doses"]
            for v in dose.vitals.all()
            if v.alerts and not v.is_voided and not dose.is_voided
        ]

        def many(serializer_class, key):
            return serializer_class(data[key], many=True, context=context).data

        return Response(
            {
                "course": s.CourseListSerializer(course).data,
                "status_changes": s.StatusChangeSerializer(data["status_changes"], many=True).data,
                "medical_evaluations": many(s.MedicalEvaluationSerializer, "medical_evaluations"),
                "psychiatric_evaluations": many(s.PsychiatricEvaluationSerializer, "psychiatric_evaluations"),
                "preparatory_sessions": many(s.PreparatorySessionSerializer, "preparatory_sessions"),
                "doses": many(s.TimelineDoseSerializer, "doses"),
                "integration_sessions": many(s.IntegrationSessionSerializer, "integration_sessions"),
                "adverse_events": many(s.AdverseEventSerializer, "course_adverse_events"),
                "alerts": alerts,
            }
        )


class MedicalEvaluationCreateView(ApiView):
    serializer_class = s.MedicalEvaluationInputSerializer

    @extend_schema(
        request=s.MedicalEvaluationInputSerializer,
        responses=_responses(s.MedicalEvaluationSerializer, 201),
        tags=["evaluations"],
    )
    def post(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
        evaluation = services.medical_evaluation_record(
            course=course, by=request.user, **_body(s.MedicalEvaluationInputSerializer, request)
        )
        return Response(s.MedicalEvaluationSerializer(evaluation).data, status=status.HTTP_201_CREATED)


class PsychiatricEvaluationCreateView(ApiView):
    serializer_class = s.PsychiatricEvaluationInputSerializer

    @extend_schema(
        request=s.PsychiatricEvaluationInputSerializer,
        responses=_responses(s.PsychiatricEvaluationSerializer, 201),
        tags=["evaluations"],
    )
    def post(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
        evaluation = services.psychiatric_evaluation_record(
            course=course, by=request.user, **_body(s.PsychiatricEvaluationInputSerializer, request)
        )
        return Response(s.PsychiatricEvaluationSerializer(evaluation).data, status=status.HTTP_201_CREATED)


class PreparatorySessionCreateView(ApiView):
    serializer_class = s.PreparatorySessionInputSerializer

    @extend_schema(
        request=s.PreparatorySessionInputSerializer,
        responses=_responses(s.PreparatorySessionSerializer, 201),
        tags=["sessions"],
    )
    def post(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
        session = services.preparatory_session_record(
            course=course, by=request.user, **_body(s.PreparatorySessionInputSerializer, request)
        )
        return Response(s.PreparatorySessionSerializer(session).data, status=status.HTTP_201_CREATED)


class IntegrationSessionCreateView(ApiView):
    serializer_class = s.IntegrationSessionInputSerializer

    @extend_schema(
        request=s.IntegrationSessionInputSerializer,
        responses=_responses(s.IntegrationSessionSerializer, 201),
        tags=["sessions"],
    )
    def post(self, request):
        data = _body(s.IntegrationSessionInputSerializer, request)
        ids = list(dict.fromkeys(data.pop("courses")))
        courses = list(selectors.courses_for(request.user).filter(pk__in=ids))
        if len(courses) != len(ids):
            _field_error("courses", "Every course must be on your caseload.")
        session = services.integration_session_record(courses=courses, by=request.user, **data)
        return Response(s.IntegrationSessionSerializer(session).data, status=status.HTTP_201_CREATED)


# --- dosing sessions --------------------------------------------------------------------------


class DosingSessionFilterSerializer(serializers.Serializer):
    day = serializers.DateField(required=False, help_text="Sessions starting on this day (clinic time).")


def _sessions_with_counts(qs):
    return (
        qs.select_related("medical_provider", "signed_by")
        .prefetch_related("facilitators")
        .annotate(participant_count=Count("participants", filter=Q(participants__voided_at__isnull=True)))
    )


def _session_out(session_id, request, audit: bool = False):
    session = selectors.dosing_session_get(user=request.user, session_id=session_id, audit=audit)
    session = (
        _sessions_with_counts(DosingSession.objects.filter(pk=session.pk))
        .prefetch_related(
            Prefetch(
                "participants",
                queryset=DosingParticipant.objects.select_related(*bedside.STATE_RELATIONS),
            )
        )
        .get()
    )
    amendments = selectors.amendments_for([session])
    states = bedside.dose_states(list(session.participants.all()), now=timezone.now())
    return s.DosingSessionSerializer(session, context={"amendments": amendments, "states": states}).data


class DosingSessionListView(ApiView):
    pagination_class = Pagination
    serializer_class = s.DosingSessionListSerializer

    @extend_schema(
        parameters=[DosingSessionFilterSerializer],
        responses=_responses(s.DosingSessionListSerializer(many=True), errors=LIST_ERRORS),
        tags=["dosing"],
    )
    def get(self, request):
        filters = DosingSessionFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = _sessions_with_counts(selectors.dosing_sessions_for(request.user))
        day = filters.validated_data.get("day")
        if day is not None:
            qs = qs.filter(starts_at__date=day)
        page = self.paginate_queryset(qs.order_by("-starts_at", "id"))
        return self.get_paginated_response(s.DosingSessionListSerializer(page, many=True).data)

    @extend_schema(
        request=s.DosingSessionInputSerializer, responses=_responses(s.DosingSessionSerializer, 201), tags=["dosing"]
    )
    def post(self, request):
        session = services.dosing_session_schedule(by=request.user, **_body(s.DosingSessionInputSerializer, request))
        return Response(_session_out(session.pk, request), status=status.HTTP_201_CREATED)


class DosingSessionDetailView(ApiView):
    serializer_class = s.DosingSessionSerializer

    @extend_schema(responses=_responses(s.DosingSessionSerializer, errors=READ_ERRORS), tags=["dosing"])
    def get(self, request, session_id):
        return Response(_session_out(session_id, request, audit=True))


class DosingSessionParticipantsView(ApiView):
    serializer_class = s.ParticipantAddInputSerializer

    @extend_schema(
        request=s.ParticipantAddInputSerializer, responses=_responses(s.DoseSerializer, 201), tags=["dosing"]
    )
    def post(self, request, session_id):
        session = selectors.dosing_session_get(user=request.user, session_id=session_id, audit=False)
        data = _body(s.ParticipantAddInputSerializer, request)
        course = _visible("course", selectors.course_get, user=request.user, course_id=data.pop("course"))
        participant = services.dosing_participant_add(session=session, course=course, by=request.user, **data)
        return Response(_dose_out(participant.pk), status=status.HTTP_201_CREATED)


class DosingSessionNoteView(ApiView):
    serializer_class = s.DosingSessionNoteInputSerializer

    @extend_schema(
        request=s.DosingSessionNoteInputSerializer, responses=_responses(s.DosingSessionSerializer), tags=["dosing"]
    )
    def post(self, request, session_id):
        session = selectors.dosing_session_get(user=request.user, session_id=session_id, audit=False)
        services.dosing_session_note(
            session=session, by=request.user, **_body(s.DosingSessionNoteInputSerializer, request)
        )
        return Response(_session_out(session.pk, request))


# --- doses ------------------------------------------------------------------------------------


DOSE_PREFETCH = (
    Prefetch("vitals", queryset=VitalReading.objects.all()),
    Prefetch("adverse_events", queryset=AdverseEvent.objects.select_related("acknowledged_by")),
    Prefetch("in_session_alerts", queryset=InSessionAlert.objects.select_related("closed_by")),
)


def _dose_out(participant_id) -> dict:
    participant = (
        DosingParticipant.objects.select_related("signed_by", "session", "course__patient", "weight_measurement")
        .prefetch_related(*DOSE_PREFETCH)
        .get(pk=participant_id)
    )
    records = [participant, *participant.vitals.all(), *participant.adverse_events.all()]
    context = {
        "amendments": selectors.amendments_for(records),
        "states": bedside.dose_states([participant], now=timezone.now()),
    }
    return s.DoseSerializer(participant, context=context).data


def _participant(request, dose_id, audit: bool = False) -> DosingParticipant:
    return selectors.participant_get(user=request.user, participant_id=dose_id, audit=audit)


class DoseDetailView(ApiView):
    serializer_class = s.DoseSerializer

    @extend_schema(responses=_responses(s.DoseSerializer, errors=READ_ERRORS), tags=["dosing"])
    def get(self, request, dose_id):
        return Response(_dose_out(_participant(request, dose_id, audit=True).pk))

    @extend_schema(request=s.DoseUpdateInputSerializer, responses=_responses(s.DoseSerializer), tags=["dosing"])
    def patch(self, request, dose_id):
        participant = _participant(request, dose_id)
        fields = _body(s.DoseUpdateInputSerializer, request, partial=True)
        version = _version(fields)
        services.dosing_participant_update(participant=participant, by=request.user, version=version, **fields)
        return Response(_dose_out(participant.pk))


class DoseVitalsView(ApiView):
    serializer_class = s.VitalReadingInputSerializer

    @extend_schema(
        request=s.VitalReadingInputSerializer,
        responses=_responses(s.VitalReadingSerializer, 201),
        tags=["dosing"],
        description="Record a reading. `alerts` lists the pre-dose hold and intra-session alerts it raised.",
    )
    def post(self, request, dose_id):
        participant = _participant(request, dose_id)
        reading = services.vital_reading_record(
            participant=participant, by=request.user, **_body(s.VitalReadingInputSerializer, request)
        )
        return Response(s.VitalReadingSerializer(reading).data, status=status.HTTP_201_CREATED)


class DoseHoldOverrideView(ApiView):
    serializer_class = s.HoldOverrideInputSerializer

    @extend_schema(request=s.HoldOverrideInputSerializer, responses=_responses(s.DoseSerializer), tags=["dosing"])
    def post(self, request, dose_id):
        participant = _participant(request, dose_id)
        services.dosing_hold_override(
            participant=participant, by=request.user, **_body(s.HoldOverrideInputSerializer, request)
        )
        return Response(_dose_out(participant.pk))


class DoseAdministerView(ApiView):
    serializer_class = s.AdministerInputSerializer

    @extend_schema(request=s.AdministerInputSerializer, responses=_responses(s.DoseSerializer), tags=["dosing"])
    def post(self, request, dose_id):
        participant = _participant(request, dose_id)
        services.dose_administer(
            participant=participant, by=request.user, **_body(s.AdministerInputSerializer, request)
        )
        return Response(_dose_out(participant.pk))


class DoseDischargeView(ApiView):
    serializer_class = s.DischargeInputSerializer

    @extend_schema(request=s.DischargeInputSerializer, responses=_responses(s.DoseSerializer), tags=["dosing"])
    def post(self, request, dose_id):
        participant = _participant(request, dose_id)
        services.participant_discharge(
            participant=participant, by=request.user, **_body(s.DischargeInputSerializer, request)
        )
        return Response(_dose_out(participant.pk))


class DoseAlertCloseView(ApiView):
    serializer_class = s.InSessionAlertCloseInputSerializer

    @extend_schema(
        request=s.InSessionAlertCloseInputSerializer,
        responses=_responses(s.DoseSerializer),
        tags=["dosing"],
        description="Close an in-session vital-sign alert by recording what was done: `recheck` (a later reading "
        "exists), `adverse_event` (name it), or `other` (with a note). Open alerts hold the dose and the discharge.",
    )
    def post(self, request, dose_id, in_session_alert_id):
        participant = _participant(request, dose_id)
        alert = get_object_or_404(InSessionAlert, pk=in_session_alert_id, participant=participant)
        data = _body(s.InSessionAlertCloseInputSerializer, request)
        event = None
        if data.get("adverse_event"):
            event = AdverseEvent.objects.filter(pk=data["adverse_event"], course_id=participant.course_id).first()
            if event is None:
                _field_error("adverse_event", "No such adverse event on this course.")
        services.in_session_alert_close(
            alert=alert, by=request.user, action=data["action"], note=data.get("note", ""), adverse_event=event
        )
        return Response(_dose_out(participant.pk))


class CourseAdverseEventsView(ApiView):
    serializer_class = s.AdverseEventInputSerializer

    @extend_schema(
        request=s.AdverseEventInputSerializer,
        responses=_responses(s.AdverseEventSerializer, 201),
        tags=["adverse events"],
        description="An adverse event reported outside a dosing session (at integration, by phone), against the "
        "course. A serious one mails every practice lead once the transaction commits.",
    )
    def post(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
        event = services.adverse_event_record(
            course=course, by=request.user, **_body(s.AdverseEventInputSerializer, request)
        )
        return Response(s.AdverseEventSerializer(event).data, status=status.HTTP_201_CREATED)


class CourseAgeExceptionView(ApiView):
    serializer_class = s.AgeExceptionInputSerializer

    @extend_schema(
        request=s.AgeExceptionInputSerializer,
        responses=_responses(s.CourseSerializer),
        tags=["courses"],
        description="A practice lead's documented exception to the clinic's minimum age, on an open course.",
    )
    def post(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
        services.course_age_exception(course=course, by=request.user, **_body(s.AgeExceptionInputSerializer, request))
        return Response(_course_out(course.pk, request))


class DoseAdverseEventsView(ApiView):
    serializer_class = s.AdverseEventInputSerializer

    @extend_schema(
        request=s.AdverseEventInputSerializer,
        responses=_responses(s.AdverseEventSerializer, 201),
        tags=["adverse events"],
        description="A serious event mails every practice lead once the transaction commits.",
    )
    def post(self, request, dose_id):
        participant = _participant(request, dose_id)
        event = services.adverse_event_record(
            participant=participant, by=request.user, **_body(s.AdverseEventInputSerializer, request)
        )
        return Response(s.AdverseEventSerializer(event).data, status=status.HTTP_201_CREATED)


class AdverseEventUnacknowledgedView(ApiView):
    """Serious adverse events that no practice lead has acknowledged yet."""

    permission_classes = [IsPracticeLead]
    pagination_class = Pagination
    serializer_class = s.AdverseEventDashboardSerializer

    @extend_schema(
        responses=_responses(s.AdverseEventDashboardSerializer(many=True), errors=(400, 401, 403)),
        tags=["adverse events"],
    )
    def get(self, request):
        qs = selectors.serious_events_unacknowledged().select_related("acknowledged_by").order_by("onset_at", "id")
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.AdverseEventDashboardSerializer(page, many=True).data)


class AdverseEventAcknowledgeView(ApiView):
    serializer_class = s.AcknowledgeInputSerializer

    @extend_schema(
        request=s.AcknowledgeInputSerializer, responses=_responses(s.AdverseEventSerializer), tags=["adverse events"]
    )
    def post(self, request, event_id):
        event = selectors.record_get(user=request.user, record_type="adverse-event", record_id=event_id, audit=False)
        event = services.adverse_event_acknowledge(
            event=event, by=request.user, **_body(s.AcknowledgeInputSerializer, request)
        )
        return Response(s.AdverseEventSerializer(event).data)


# --- any record: edit, sign, amend, void ------------------------------------------------------

RECORD_TYPE_PARAMETER = OpenApiParameter(
    "record_type", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(selectors.RECORD_TYPES)
)
# PATCH edits a record of care before it is signed, under the services' rules and `version` check.
# It is not offered (405, and left out of the schema's `record_type` for PATCH) where no edit could
# pass: a patient and a course change through their own endpoints, and a vital reading is always
# corrected by an amendment with a reason.
NOT_EDITED_HERE = {
    "patient": "A patient's details are edited with PATCH /api/patients/{id}/.",
    "course": "A course changes through its own steps: status/, age-exception/, follow-up-stop/.",
    "vital-reading": "A vital reading is corrected with POST …/amend/, giving the reason; the original stays.",
}
PATCHABLE_RECORD_TYPES = [name for name in selectors.RECORD_TYPES if name not in NOT_EDITED_HERE]
# The body: `version` (required) beside the fields to change, named as in the record.
RECORD_CHANGES = inline_serializer("RecordChanges", {"version": s.version_field()})
RECORD_SERIALIZERS = {
    Patient: s.PatientSerializer,
    Course: s.CourseSerializer,
    MedicalEvaluation: s.MedicalEvaluationSerializer,
    PsychiatricEvaluation: s.PsychiatricEvaluationSerializer,
    PreparatorySession: s.PreparatorySessionSerializer,
    IntegrationSession: s.IntegrationSessionSerializer,
    DosingSession: s.DosingSessionSerializer,
    DosingParticipant: s.DoseSerializer,
    VitalReading: s.VitalReadingSerializer,
    AdverseEvent: s.AdverseEventSerializer,
}


def _record_out(record, request) -> dict:
    if isinstance(record, DosingParticipant):
        return _dose_out(record.pk)
    if isinstance(record, DosingSession):
        return _session_out(record.pk, request)
    if isinstance(record, Patient):
        return _patient_out(record, request)
    record = type(record).objects.get(pk=record.pk)
    serializer_class = RECORD_SERIALIZERS[type(record)]
    return serializer_class(record, context={"amendments": selectors.amendments_for([record])}).data


def _record(request, record_type, record_id, audit: bool = False):
    return selectors.record_get(user=request.user, record_type=record_type, record_id=record_id, audit=audit)


def _typed_changes(model, changes: dict) -> dict:
    """JSON values → the model field's Python type; a value that will not convert is a 400 naming it."""
    typed, errors = {}, {}
    for name, value in changes.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        if field is None or not field.concrete:
            # Unknown, or a relation such as a patient's `courses` (which has no to_python: it was a
            # 500): the service refuses it, naming what may be changed.
            typed[name] = value
            continue
        try:
            if name in s.RECORD_LIST_FIELDS and isinstance(field, dj_models.JSONField):
                # The same capped, de-duplicated choice list as on entry: a bare 3 was a 500 in the service.
                typed[name] = s.RECORD_LIST_FIELDS[name]().run_validation(value)
            elif isinstance(field, dj_models.DateTimeField) and value is not None:
                # Timezone-aware, in the clinic's zone when the client sent a naive time.
                typed[name] = s.ClinicDateTimeField().to_internal_value(value)
            elif isinstance(field, dj_models.JSONField | dj_models.ForeignKey | dj_models.ManyToManyField):
                typed[name] = value
            elif isinstance(value, dict | list):
                raise DjangoValidationError(f"{field.verbose_name} cannot be a list or an object.")
            else:
                typed[name] = field.to_python(value)
        except (DjangoValidationError, serializers.ValidationError) as exc:
            messages = (
                exc.messages if isinstance(exc, DjangoValidationError) else flatten_errors({name: exc.detail})[name]
            )
            errors[name] = messages
    if errors:
        raise serializers.ValidationError(errors)
    return typed


def _changes_body(request) -> dict:
    if not isinstance(request.data, dict) or not request.data:
        _field_error("non_field_errors", "Send a JSON object of the fields to change.")
    return dict(request.data)


class RecordDetailView(ApiView):
    @extend_schema(
        parameters=[RECORD_TYPE_PARAMETER],
        responses=_responses(OpenApiTypes.OBJECT, errors=READ_ERRORS),
        tags=["records"],
        description="Any record by type; the shape is that type's own serializer.",
    )
    def get(self, request, record_type, record_id):
        if record_type == "dosing-session":
            # A group session belongs to several patients: its own getter audits one row per patient.
            return Response(_session_out(record_id, request, audit=True))
        return Response(_record_out(_record(request, record_type, record_id, audit=True), request))

    @extend_schema(
        parameters=[
            OpenApiParameter("record_type", OpenApiTypes.STR, OpenApiParameter.PATH, enum=PATCHABLE_RECORD_TYPES)
        ],
        request=RECORD_CHANGES,
        responses=_responses(OpenApiTypes.OBJECT, errors=(400, 401, 403, 404, 405, 409)),
        tags=["records"],
        description="Edit a record that is not yet signed: a JSON object of field → new value, with the "
        "record's `version` (required). A signed record is locked (400): amend it instead. Not for a patient, "
        "a course or a vital reading (405, saying where they change).",
    )
    def patch(self, request, record_type, record_id):
        if record_type in NOT_EDITED_HERE:
            self.headers["Allow"] = "GET, HEAD, OPTIONS"
            raise MethodNotAllowed(
                "PATCH", detail=f"PATCH is not offered for a {record_type}. {NOT_EDITED_HERE[record_type]}"
            )
        record = _record(request, record_type, record_id)
        body = _changes_body(request)
        version = _version(body)
        changes = _typed_changes(type(record), body)
        if isinstance(record, DosingParticipant):
            editable = {*services.DOSE_FIELDS, "is_maintenance"}
            wrong = sorted(set(changes) - editable)
            if wrong:
                _field_error("non_field_errors", f"These fields cannot be edited: {', '.join(wrong)}.")
        record = services.record_update(record=record, by=request.user, version=version, **changes)
        return Response(_record_out(record, request))


class RecordSignView(ApiView):
    serializer_class = s.SignInputSerializer

    @extend_schema(
        parameters=[RECORD_TYPE_PARAMETER],
        request=s.SignInputSerializer,
        responses=_responses(OpenApiTypes.OBJECT),
        tags=["records"],
        description="Sign and lock. Send the `version` you reviewed: a signature attests to what the signer saw, "
        "so a record changed since is a 409.",
    )
    def post(self, request, record_type, record_id):
        record = _record(request, record_type, record_id)
        data = _body(s.SignInputSerializer, request) if request.data else {}
        record = services.record_sign(record=record, by=request.user, version=data.get("version"))
        return Response(_record_out(record, request))


class RecordAmendView(ApiView):
    serializer_class = s.AmendInputSerializer

    @extend_schema(
        parameters=[RECORD_TYPE_PARAMETER],
        request=s.AmendInputSerializer,
        responses=_responses(s.AmendmentSerializer, 201),
        tags=["records"],
    )
    def post(self, request, record_type, record_id):
        record = _record(request, record_type, record_id)
        data = _body(s.AmendInputSerializer, request)
        changes = _typed_changes(type(record), data["changes"])
        amendment = services.record_amend(
            record=record, by=request.user, changes=changes, reason=data["reason"], version=data.get("version")
        )
        return Response(s.AmendmentSerializer(amendment).data, status=status.HTTP_201_CREATED)


class RecordVoidView(ApiView):
    serializer_class = s.VoidInputSerializer

    @extend_schema(
        parameters=[RECORD_TYPE_PARAMETER],
        request=s.VoidInputSerializer,
        responses=_responses(OpenApiTypes.OBJECT),
        tags=["records"],
    )
    def post(self, request, record_type, record_id):
        record = _record(request, record_type, record_id)
        record = services.record_void(record=record, by=request.user, **_body(s.VoidInputSerializer, request))
        return Response(_record_out(record, request))


class RecordAmendmentsView(ApiView):
    pagination_class = None
    serializer_class = s.AmendmentSerializer

    @extend_schema(
        parameters=[RECORD_TYPE_PARAMETER],
        responses=_responses(s.AmendmentSerializer(many=True), errors=READ_ERRORS),
        tags=["records"],
    )
    def get(self, request, record_type, record_id):
        record = _record(request, record_type, record_id, audit=True)
        amendments = Amendment.objects.filter(record_type=record._meta.model_name, record_id=record.pk)
        return Response(s.AmendmentSerializer(amendments.select_related("amended_by"), many=True).data)


# --- clinic settings and staff ----------------------------------------------------------------


class ClinicSettingsView(ApiView):
    permission_classes = [IsPracticeLead]
    serializer_class = s.ClinicSettingsSerializer

    @extend_schema(responses=_responses(s.ClinicSettingsSerializer, errors=(401, 403)), tags=["admin"])
    def get(self, request):
        return Response(s.ClinicSettingsSerializer(ClinicSettings.load()).data)

    @extend_schema(
        request=s.ClinicSettingsSerializer,
        responses=_responses(s.ClinicSettingsSerializer, errors=(400, 401, 403, 409)),
        tags=["admin"],
    )
    def patch(self, request):
        fields = _body(s.ClinicSettingsSerializer, request, partial=True)
        return Response(s.ClinicSettingsSerializer(services.clinic_settings_update(by=request.user, **fields)).data)


class StaffListView(ApiView):
    permission_classes = [IsPracticeLead]
    pagination_class = Pagination
    serializer_class = s.StaffSerializer

    @extend_schema(responses=_responses(s.StaffSerializer(many=True), errors=LIST_ERRORS), tags=["admin"])
    def get(self, request):
        page = self.paginate_queryset(User.objects.order_by("username"))
        return self.get_paginated_response(s.StaffSerializer(page, many=True).data)

    @extend_schema(
        request=s.StaffCreateSerializer,
        responses=_responses(s.StaffInvitedSerializer, 201, (400, 401, 403, 409)),
        tags=["admin"],
        description="Invite a colleague: no password until they choose one from the link mailed to them.",
    )
    def post(self, request):
        user, sent = staff_invite(by=request.user, **_body(s.StaffCreateSerializer, request))
        return Response(
            s.StaffInvitedSerializer(user, context={"invitation_sent": sent}).data, status=status.HTTP_201_CREATED
        )


class StaffActiveView(ApiView):
    permission_classes = [IsPracticeLead]
    serializer_class = s.StaffActiveSerializer

    @extend_schema(request=s.StaffActiveSerializer, responses=_responses(s.StaffSerializer), tags=["admin"])
    def post(self, request, staff_id):
        user = get_object_or_404(User, pk=staff_id)
        active = _body(s.StaffActiveSerializer, request)["active"]
        user = services.staff_set_active(by=request.user, user=user, active=active)
        return Response(s.StaffSerializer(user).data)
