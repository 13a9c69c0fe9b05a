"""Dosing sessions and the doses in them: doses, vitals, hold overrides, giving the dose,
discharge, closing an in-session alert."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from courses import selectors, services
from courses.api.serializers.dosing import (
    AdministerInputSerializer,
    DischargeInputSerializer,
    DoseAddInputSerializer,
    DoseSerializer,
    DoseUpdateInputSerializer,
    DosingSessionInputSerializer,
    DosingSessionListSerializer,
    DosingSessionNoteInputSerializer,
    DosingSessionSerializer,
    HoldOverrideInputSerializer,
    InSessionAlertCloseInputSerializer,
    VitalReadingInputSerializer,
    VitalReadingSerializer,
)
from courses.api.views._common import (
    LIST_ERRORS,
    READ_ERRORS,
    api_responses,
    dose_for,
    dose_out,
    field_error,
    read_version,
    session_out,
    visible,
)
from kernel.api.pagination import Pagination
from kernel.api.views import ApiView, read_body


class DosingSessionFilterSerializer(serializers.Serializer):
    day = serializers.DateField(required=False, help_text="Sessions starting on this day (clinic time).")


class DosingSessionListView(ApiView):
    pagination_class = Pagination
    serializer_class = DosingSessionListSerializer

    @extend_schema(
        parameters=[DosingSessionFilterSerializer],
        responses=api_responses(DosingSessionListSerializer(many=True), errors=LIST_ERRORS),
        tags=["dosing"],
    )
    def get(self, request):
        filters = DosingSessionFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.dosing_sessions_list(user=request.user, day=filters.validated_data.get("day"))
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(DosingSessionListSerializer(page, many=True).data)

    @extend_schema(
        request=DosingSessionInputSerializer, responses=api_responses(DosingSessionSerializer, 201), tags=["dosing"]
    )
    def post(self, request):
        session = services.dosing_session_schedule(by=request.user, **read_body(DosingSessionInputSerializer, request))
        return Response(session_out(session.pk, request), status=status.HTTP_201_CREATED)


class DosingSessionDetailView(ApiView):
    serializer_class = DosingSessionSerializer

    @extend_schema(responses=api_responses(DosingSessionSerializer, errors=READ_ERRORS), tags=["dosing"])
    def get(self, request, session_id):
        return Response(session_out(session_id, request, audit=True))


class DosingSessionDosesView(ApiView):
    serializer_class = DoseAddInputSerializer

    @extend_schema(request=DoseAddInputSerializer, responses=api_responses(DoseSerializer, 201), tags=["dosing"])
    def post(self, request, session_id):
        session = selectors.dosing_session_get(user=request.user, session_id=session_id, audit=False)
        data = read_body(DoseAddInputSerializer, request)
        course = visible("course", selectors.course_get, user=request.user, course_id=data.pop("course"))
        dose = services.dose_add(session=session, course=course, by=request.user, **data)
        return Response(dose_out(dose.pk), status=status.HTTP_201_CREATED)


class DosingSessionNoteView(ApiView):
    serializer_class = DosingSessionNoteInputSerializer

    @extend_schema(
        request=DosingSessionNoteInputSerializer, responses=api_responses(DosingSessionSerializer), tags=["dosing"]
    )
    def post(self, request, session_id):
        session = selectors.dosing_session_get(user=request.user, session_id=session_id, audit=False)
        services.dosing_session_note(
            session=session, by=request.user, **read_body(DosingSessionNoteInputSerializer, request)
        )
        return Response(session_out(session.pk, request))


class DoseDetailView(ApiView):
    serializer_class = DoseSerializer

    @extend_schema(responses=api_responses(DoseSerializer, errors=READ_ERRORS), tags=["dosing"])
    def get(self, request, dose_id):
        return Response(dose_out(dose_for(request, dose_id, audit=True).pk))

    @extend_schema(request=DoseUpdateInputSerializer, responses=api_responses(DoseSerializer), tags=["dosing"])
    def patch(self, request, dose_id):
        dose = dose_for(request, dose_id)
        fields = read_body(DoseUpdateInputSerializer, request, partial=True)
        version = read_version(fields)
        weighed_now = fields.pop("weighed_now", False)
        services.dose_update(dose=dose, by=request.user, version=version, weighed_now=weighed_now, changes=fields)
        return Response(dose_out(dose.pk))


class DoseVitalsView(ApiView):
    serializer_class = VitalReadingInputSerializer

    @extend_schema(
        request=VitalReadingInputSerializer,
        responses=api_responses(VitalReadingSerializer, 201),
        tags=["dosing"],
        description="Record a reading. `alerts` lists the pre-dose hold and intra-session alerts it raised.",
    )
    def post(self, request, dose_id):
        dose = dose_for(request, dose_id)
        reading = services.vital_reading_add(
            dose=dose, by=request.user, **read_body(VitalReadingInputSerializer, request)
        )
        return Response(VitalReadingSerializer(reading).data, status=status.HTTP_201_CREATED)


class DoseHoldOverrideView(ApiView):
    serializer_class = HoldOverrideInputSerializer

    @extend_schema(request=HoldOverrideInputSerializer, responses=api_responses(DoseSerializer), tags=["dosing"])
    def post(self, request, dose_id):
        dose = dose_for(request, dose_id)
        services.dosing_hold_override(dose=dose, by=request.user, **read_body(HoldOverrideInputSerializer, request))
        return Response(dose_out(dose.pk))


class DoseAdministerView(ApiView):
    serializer_class = AdministerInputSerializer

    @extend_schema(request=AdministerInputSerializer, responses=api_responses(DoseSerializer), tags=["dosing"])
    def post(self, request, dose_id):
        dose = dose_for(request, dose_id)
        services.dose_administer(dose=dose, by=request.user, **read_body(AdministerInputSerializer, request))
        return Response(dose_out(dose.pk))


class DoseDischargeView(ApiView):
    serializer_class = DischargeInputSerializer

    @extend_schema(request=DischargeInputSerializer, responses=api_responses(DoseSerializer), tags=["dosing"])
    def post(self, request, dose_id):
        dose = dose_for(request, dose_id)
        services.dose_discharge(dose=dose, by=request.user, **read_body(DischargeInputSerializer, request))
        return Response(dose_out(dose.pk))


class DoseAlertCloseView(ApiView):
    serializer_class = InSessionAlertCloseInputSerializer

    @extend_schema(
        request=InSessionAlertCloseInputSerializer,
        responses=api_responses(DoseSerializer),
        tags=["dosing"],
        description="Close an in-session vital-sign alert by recording what was done: `recheck` (a later reading "
        "exists), `adverse_event` (name it), or `other` (with a note). Open alerts hold the dose and the discharge.",
    )
    def post(self, request, dose_id, in_session_alert_id):
        dose = dose_for(request, dose_id)
        alert = selectors.in_session_alert_get(dose=dose, alert_id=in_session_alert_id)
        data = read_body(InSessionAlertCloseInputSerializer, request)
        event = None
        if data.get("adverse_event"):
            event = selectors.course_adverse_event(course_id=dose.course_id, event_id=data["adverse_event"])
            if event is None:
                field_error("adverse_event", "No such adverse event on this course.")
        services.in_session_alert_close(
            alert=alert, by=request.user, action=data["action"], note=data.get("note", ""), adverse_event=event
        )
        return Response(dose_out(dose.pk))
