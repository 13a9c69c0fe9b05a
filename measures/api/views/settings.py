"""The clinic's measure schedule: read by any staff member, changed and re-planned by a practice lead."""

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from kernel.api.permissions import IsPracticeLead, IsStaffMember
from kernel.api.views import ApiView, read_body
from measures import services
from measures.api import serializers as s
from measures.api.views._common import api_responses
from measures.models import MeasureSettings


class ReadOrLeadWrites(IsStaffMember):
    message = "Only a practice lead can change the measure schedule."

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return super().has_permission(request, view)
        return IsPracticeLead().has_permission(request, view)


class MeasureSettingsView(ApiView):
    permission_classes = [ReadOrLeadWrites]
    serializer_class = s.MeasureSettingsSerializer

    @extend_schema(
        responses=api_responses(s.MeasureSettingsSerializer, errors=(401, 403)),
        tags=["measures"],
        description="The clinic's measure schedule and sending rules; any staff member may read them.",
    )
    def get(self, request):
        return Response(s.MeasureSettingsSerializer(MeasureSettings.load()).data)

    @extend_schema(
        request=s.MeasureSettingsSerializer,
        responses=api_responses(s.MeasureSettingsChangeSerializer, errors=(400, 401, 403, 409)),
        tags=["measures"],
        description="Practice lead only. The schedule's windows, baseline days and PCL-5 cut-off are also "
        "the outcome report's: one value, read by both. The answer says, in `moves`, what each changed "
        "setting moves: the questionnaires not yet answered (a worker re-plans every course in care "
        "after the change; dates adjusted by hand are kept) and the report's figures.",
    )
    def patch(self, request):
        fields = read_body(s.MeasureSettingsSerializer, request, partial=True)
        row, moves = services.measure_settings_update(by=request.user, changes=fields)
        row.moves = moves
        return Response(s.MeasureSettingsChangeSerializer(row).data)


class MeasureSettingsReplanView(ApiView):
    permission_classes = [ReadOrLeadWrites]
    serializer_class = s.ReplanResultSerializer

    @extend_schema(
        request=None,
        responses=api_responses(s.ReplanResultSerializer, errors=(401, 403, 409)),
        tags=["measures"],
        description="Practice lead only. Re-plan every course in care against the current settings now, "
        "rather than at each course's next event. Dates a clinician adjusted by hand are kept.",
    )
    def post(self, request):
        return Response({"courses": services.schedule_sync_open_courses()})
