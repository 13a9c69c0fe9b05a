"""Open PHQ-9 item-9 safety alerts and their acknowledgement."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from kernel.api.pagination import Pagination
from kernel.api.views import ApiView, read_body
from measures import selectors, services
from measures.api import serializers as s
from measures.api.views._common import LIST_ERRORS, api_responses


class SafetyAlertListView(ApiView):
    pagination_class = Pagination
    serializer_class = s.SafetyAlertSerializer

    @extend_schema(
        responses=api_responses(s.SafetyAlertSerializer(many=True), errors=LIST_ERRORS),
        tags=["safety alerts"],
        description="Open PHQ-9 item-9 alerts on the caller's caseload (a practice lead sees all), oldest first.",
    )
    def get(self, request):
        qs = selectors.safety_alerts_open(request.user)
        page = self.paginate_queryset(qs.order_by("raised_at", "id"))
        return self.get_paginated_response(s.SafetyAlertSerializer(page, many=True).data)


class SafetyAlertAcknowledgeView(ApiView):
    serializer_class = s.SafetyAlertAcknowledgeInputSerializer

    @extend_schema(
        request=s.SafetyAlertAcknowledgeInputSerializer,
        responses=api_responses(s.SafetyAlertSerializer),
        tags=["safety alerts"],
        description="A therapist or medical provider on the course closes the alert with a note of what was done.",
    )
    def post(self, request, alert_id):
        alert = selectors.safety_alert_scoped(user=request.user, alert_id=alert_id)
        alert = services.safety_alert_acknowledge(
            alert=alert, by=request.user, **read_body(s.SafetyAlertAcknowledgeInputSerializer, request)
        )
        alert = selectors.safety_alert_detail(alert.pk)
        return Response(s.SafetyAlertSerializer(alert).data)
