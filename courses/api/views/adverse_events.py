"""Adverse events, against a course or a dose, and a practice lead's acknowledgement of serious ones."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from courses import selectors, services
from courses.api.serializers.adverse_events import (
    AcknowledgeInputSerializer,
    AdverseEventDashboardSerializer,
    AdverseEventInputSerializer,
    AdverseEventSerializer,
)
from courses.api.views._common import api_responses, dose_for
from kernel.api.pagination import Pagination
from kernel.api.permissions import IsPracticeLead
from kernel.api.views import ApiView, read_body


class CourseAdverseEventsView(ApiView):
    serializer_class = AdverseEventInputSerializer

    @extend_schema(
        request=AdverseEventInputSerializer,
        responses=api_responses(AdverseEventSerializer, 201),
        tags=["adverse events"],
        description="An adverse event reported outside a dosing session (at integration, by phone), against the "
        "course. A serious one mails every practice lead once the transaction commits.",
    )
    def post(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
        event = services.adverse_event_add(
            course=course, by=request.user, **read_body(AdverseEventInputSerializer, request)
        )
        return Response(AdverseEventSerializer(event).data, status=status.HTTP_201_CREATED)


class DoseAdverseEventsView(ApiView):
    serializer_class = AdverseEventInputSerializer

    @extend_schema(
        request=AdverseEventInputSerializer,
        responses=api_responses(AdverseEventSerializer, 201),
        tags=["adverse events"],
        description="A serious event mails every practice lead once the transaction commits.",
    )
    def post(self, request, dose_id):
        dose = dose_for(request, dose_id)
        event = services.adverse_event_add(
            dose=dose, by=request.user, **read_body(AdverseEventInputSerializer, request)
        )
        return Response(AdverseEventSerializer(event).data, status=status.HTTP_201_CREATED)


class AdverseEventUnacknowledgedView(ApiView):
    """Serious adverse events that no practice lead has acknowledged yet."""

    permission_classes = [IsPracticeLead]
    pagination_class = Pagination
    serializer_class = AdverseEventDashboardSerializer

    @extend_schema(
        responses=api_responses(AdverseEventDashboardSerializer(many=True), errors=(400, 401, 403)),
        tags=["adverse events"],
    )
    def get(self, request):
        qs = selectors.serious_events_unacknowledged().select_related("acknowledged_by").order_by("onset_at", "id")
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(AdverseEventDashboardSerializer(page, many=True).data)


class AdverseEventAcknowledgeView(ApiView):
    serializer_class = AcknowledgeInputSerializer

    @extend_schema(
        request=AcknowledgeInputSerializer, responses=api_responses(AdverseEventSerializer), tags=["adverse events"]
    )
    def post(self, request, event_id):
        event = selectors.record_get(user=request.user, record_type="adverse-event", record_id=event_id, audit=False)
        event = services.adverse_event_acknowledge(
            event=event, by=request.user, **read_body(AcknowledgeInputSerializer, request)
        )
        return Response(AdverseEventSerializer(event).data)
