"""Preparatory sessions (one course) and integration sessions (one or several courses)."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from courses import selectors, services
from courses.api.serializers.sessions import (
    IntegrationSessionInputSerializer,
    IntegrationSessionSerializer,
    PreparatorySessionInputSerializer,
    PreparatorySessionSerializer,
)
from courses.api.views._common import api_responses, field_error
from kernel.api.views import ApiView, read_body


class PreparatorySessionCreateView(ApiView):
    serializer_class = PreparatorySessionInputSerializer

    @extend_schema(
        request=PreparatorySessionInputSerializer,
        responses=api_responses(PreparatorySessionSerializer, 201),
        tags=["sessions"],
    )
    def post(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
        session = services.preparatory_session_add(
            course=course, by=request.user, **read_body(PreparatorySessionInputSerializer, request)
        )
        return Response(PreparatorySessionSerializer(session).data, status=status.HTTP_201_CREATED)


class IntegrationSessionCreateView(ApiView):
    serializer_class = IntegrationSessionInputSerializer

    @extend_schema(
        request=IntegrationSessionInputSerializer,
        responses=api_responses(IntegrationSessionSerializer, 201),
        tags=["sessions"],
    )
    def post(self, request):
        data = read_body(IntegrationSessionInputSerializer, request)
        ids = list(dict.fromkeys(data.pop("courses")))
        courses = selectors.courses_of_caseload(user=request.user, course_ids=ids)
        if len(courses) != len(ids):
            field_error("courses", "Every course must be on your caseload.")
        session = services.integration_session_add(courses=courses, by=request.user, **data)
        return Response(IntegrationSessionSerializer(session).data, status=status.HTTP_201_CREATED)
