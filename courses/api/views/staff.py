"""The practice lead's admin endpoints: clinic settings and staff accounts."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from courses import selectors, services
from courses.api.serializers.staff import (
    ClinicSettingsSerializer,
    StaffActiveSerializer,
    StaffCreateSerializer,
    StaffInvitedSerializer,
    StaffSerializer,
)
from courses.api.views._common import LIST_ERRORS, api_responses
from courses.models import ClinicSettings
from kernel.api.pagination import Pagination
from kernel.api.permissions import IsPracticeLead
from kernel.api.views import ApiView, read_body


class ClinicSettingsView(ApiView):
    permission_classes = [IsPracticeLead]
    serializer_class = ClinicSettingsSerializer

    @extend_schema(responses=api_responses(ClinicSettingsSerializer, errors=(401, 403)), tags=["admin"])
    def get(self, request):
        return Response(ClinicSettingsSerializer(ClinicSettings.load()).data)

    @extend_schema(
        request=ClinicSettingsSerializer,
        responses=api_responses(ClinicSettingsSerializer, errors=(400, 401, 403, 409)),
        tags=["admin"],
    )
    def patch(self, request):
        fields = read_body(ClinicSettingsSerializer, request, partial=True)
        return Response(ClinicSettingsSerializer(services.clinic_settings_update(by=request.user, changes=fields)).data)


class StaffListView(ApiView):
    permission_classes = [IsPracticeLead]
    pagination_class = Pagination
    serializer_class = StaffSerializer

    @extend_schema(responses=api_responses(StaffSerializer(many=True), errors=LIST_ERRORS), tags=["admin"])
    def get(self, request):
        page = self.paginate_queryset(selectors.staff_by_username())
        return self.get_paginated_response(StaffSerializer(page, many=True).data)

    @extend_schema(
        request=StaffCreateSerializer,
        responses=api_responses(StaffInvitedSerializer, 201, (400, 401, 403, 409)),
        tags=["admin"],
        description="Invite a colleague: no password until they choose one from the link mailed to them.",
    )
    def post(self, request):
        user, sent = services.staff_invite(by=request.user, **read_body(StaffCreateSerializer, request))
        return Response(
            StaffInvitedSerializer(user, context={"invitation_sent": sent}).data, status=status.HTTP_201_CREATED
        )


class StaffActiveView(ApiView):
    permission_classes = [IsPracticeLead]
    serializer_class = StaffActiveSerializer

    @extend_schema(request=StaffActiveSerializer, responses=api_responses(StaffSerializer), tags=["admin"])
    def post(self, request, staff_id):
        user = selectors.staff_member_get(staff_id)
        active = read_body(StaffActiveSerializer, request)["active"]
        user = services.staff_set_active(by=request.user, user=user, active=active)
        return Response(StaffSerializer(user).data)
