"""Courses: the list, opening one, its stages, stopping follow-up, the age exception, the timeline."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from courses import bedside, selectors, services
from courses.api.serializers.adverse_events import AdverseEventSerializer
from courses.api.serializers.courses import (
    AgeExceptionInputSerializer,
    CourseInputSerializer,
    CourseListSerializer,
    CourseSerializer,
    CourseStatusInputSerializer,
    FollowUpStopInputSerializer,
    StatusChangeSerializer,
    TimelineDoseSerializer,
    TimelineSerializer,
)
from courses.api.serializers.evaluations import MedicalEvaluationSerializer, PsychiatricEvaluationSerializer
from courses.api.serializers.sessions import IntegrationSessionSerializer, PreparatorySessionSerializer
from courses.api.views._common import LIST_ERRORS, READ_ERRORS, api_responses, visible
from courses.choices import CourseStatus
from kernel.api.pagination import Pagination
from kernel.api.views import ApiView, read_body


class CourseFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=CourseStatus.choices, required=False)
    patient = serializers.UUIDField(required=False)


def _course_out(course_id, request):
    course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
    return CourseSerializer(course).data


class CourseListView(ApiView):
    pagination_class = Pagination
    serializer_class = CourseListSerializer

    @extend_schema(
        parameters=[CourseFilterSerializer],
        responses=api_responses(CourseListSerializer(many=True), errors=LIST_ERRORS),
        tags=["courses"],
    )
    def get(self, request):
        filters = CourseFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        chosen = {
            "status": filters.validated_data.get("status"),
            "patient_id": filters.validated_data.get("patient"),
        }
        rows = selectors.courses_list_rows(user=request.user, **chosen)
        count = selectors.courses_list_count(user=request.user, **chosen)
        page = selectors.courses_from_rows(
            self.paginator.paginate_queryset(rows, request, view=self, count=count), db=rows.db
        )
        return self.get_paginated_response(CourseListSerializer(page, many=True).data)

    @extend_schema(request=CourseInputSerializer, responses=api_responses(CourseSerializer, 201), tags=["courses"])
    def post(self, request):
        data = read_body(CourseInputSerializer, request)
        patient = visible("patient", selectors.patient_get, user=request.user, patient_id=data.pop("patient"))
        course = services.course_open(patient=patient, by=request.user, **data)
        return Response(_course_out(course.pk, request), status=status.HTTP_201_CREATED)


class CourseDetailView(ApiView):
    serializer_class = CourseSerializer

    @extend_schema(responses=api_responses(CourseSerializer, errors=READ_ERRORS), tags=["courses"])
    def get(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id)
        return Response(CourseSerializer(course).data)


class CourseStatusView(ApiView):
    serializer_class = CourseStatusInputSerializer

    @extend_schema(request=CourseStatusInputSerializer, responses=api_responses(CourseSerializer), tags=["courses"])
    def post(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
        services.course_change_status(course=course, by=request.user, **read_body(CourseStatusInputSerializer, request))
        return Response(_course_out(course.pk, request))


class CourseFollowUpStopView(ApiView):
    serializer_class = FollowUpStopInputSerializer

    @extend_schema(request=FollowUpStopInputSerializer, responses=api_responses(CourseSerializer), tags=["courses"])
    def post(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
        services.course_follow_up_stop(
            course=course, by=request.user, **read_body(FollowUpStopInputSerializer, request)
        )
        return Response(_course_out(course.pk, request))


class CourseTimelineView(ApiView):
    serializer_class = TimelineSerializer

    @extend_schema(responses=api_responses(TimelineSerializer, errors=READ_ERRORS), tags=["courses"])
    def get(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id)
        data = selectors.course_timeline_data(course)
        # The state of each dose from the rows the timeline has just read (its vitals, overrides,
        # alerts, events; the course's evaluations, preparation and doses), not read a second time.
        records = bedside.CourseRecords(
            medical_evaluations=data["medical_evaluations"],
            psychiatric_evaluations=data["psychiatric_evaluations"],
            preparatory_sessions=data["preparatory_sessions"],
            doses=data["doses"],
        )
        states = bedside.dose_states(data["doses"], now=timezone.now(), loaded=True, records={course.pk: records})
        context = {"amendments": data["amendments"], "states": states}
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
                "course": CourseListSerializer(course).data,
                "status_changes": StatusChangeSerializer(data["status_changes"], many=True).data,
                "medical_evaluations": many(MedicalEvaluationSerializer, "medical_evaluations"),
                "psychiatric_evaluations": many(PsychiatricEvaluationSerializer, "psychiatric_evaluations"),
                "preparatory_sessions": many(PreparatorySessionSerializer, "preparatory_sessions"),
                "doses": many(TimelineDoseSerializer, "doses"),
                "integration_sessions": many(IntegrationSessionSerializer, "integration_sessions"),
                "adverse_events": many(AdverseEventSerializer, "course_adverse_events"),
                "alerts": alerts,
            }
        )


class CourseAgeExceptionView(ApiView):
    serializer_class = AgeExceptionInputSerializer

    @extend_schema(
        request=AgeExceptionInputSerializer,
        responses=api_responses(CourseSerializer),
        tags=["courses"],
        description="A practice lead's documented exception to the clinic's minimum age, on an open course.",
    )
    def post(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
        services.course_age_exception(course=course, by=request.user, **read_body(AgeExceptionInputSerializer, request))
        return Response(_course_out(course.pk, request))
