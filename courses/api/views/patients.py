"""Patients: the caseload's list, registering and changing one, weights, the audit trail."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from courses import selectors, services
from courses.api.serializers.patients import (
    AuditEventSerializer,
    PatientInputSerializer,
    PatientListSerializer,
    PatientSerializer,
    PatientUpdateSerializer,
    WeightInputSerializer,
    WeightSerializer,
)
from courses.api.views._common import LIST_ERRORS, READ_ERRORS, api_responses, patient_out, read_version
from courses.audit import audit_view
from kernel.api.pagination import Pagination
from kernel.api.permissions import IsPracticeLead
from kernel.api.views import ApiView, read_body


class PatientListView(ApiView):
    pagination_class = Pagination
    serializer_class = PatientListSerializer

    @extend_schema(responses=api_responses(PatientListSerializer(many=True), errors=LIST_ERRORS), tags=["patients"])
    def get(self, request):
        rows, count = selectors.patients_list_paged(user=request.user)
        page = selectors.patients_from_rows(
            self.paginator.paginate_queryset(rows, request, view=self, count=count), db=rows.db
        )
        return self.get_paginated_response(PatientListSerializer(page, many=True).data)

    @extend_schema(
        request=PatientInputSerializer,
        responses=api_responses(PatientSerializer, 201, (400, 401, 403, 409)),
        tags=["patients"],
    )
    def post(self, request):
        patient = services.patient_register(by=request.user, **read_body(PatientInputSerializer, request))
        return Response(patient_out(patient, request), status=status.HTTP_201_CREATED)


class PatientDetailView(ApiView):
    serializer_class = PatientSerializer

    @extend_schema(responses=api_responses(PatientSerializer, errors=READ_ERRORS), tags=["patients"])
    def get(self, request, patient_id):
        patient = selectors.patient_get(user=request.user, patient_id=patient_id)
        return Response(patient_out(patient, request))

    @extend_schema(request=PatientUpdateSerializer, responses=api_responses(PatientSerializer), tags=["patients"])
    def patch(self, request, patient_id):
        patient = selectors.patient_get(user=request.user, patient_id=patient_id, audit=False)
        fields = read_body(PatientUpdateSerializer, request, partial=True)
        version = read_version(fields)
        reason = fields.pop("reason", "")
        patient = services.patient_update(
            patient=patient, by=request.user, version=version, reason=reason, changes=fields
        )
        return Response(patient_out(patient, request))


class PatientWeightsView(ApiView):
    # The whole list, never paginated: without this the schema promised {count, results}.
    pagination_class = None
    serializer_class = WeightSerializer

    @extend_schema(responses=api_responses(WeightSerializer(many=True), errors=READ_ERRORS), tags=["patients"])
    def get(self, request, patient_id):
        patient = selectors.patient_get(user=request.user, patient_id=patient_id)
        return Response(WeightSerializer(patient.weights.all(), many=True).data)

    @extend_schema(request=WeightInputSerializer, responses=api_responses(WeightSerializer, 201), tags=["patients"])
    def post(self, request, patient_id):
        patient = selectors.patient_get(user=request.user, patient_id=patient_id, audit=False)
        weight = services.weight_add(patient=patient, by=request.user, **read_body(WeightInputSerializer, request))
        return Response(WeightSerializer(weight).data, status=status.HTTP_201_CREATED)


class PatientAuditView(ApiView):
    """The patient's audit trail, newest first: practice leads only."""

    permission_classes = [IsPracticeLead]
    pagination_class = Pagination
    serializer_class = AuditEventSerializer

    @extend_schema(
        responses=api_responses(AuditEventSerializer(many=True), errors=(400, *READ_ERRORS)), tags=["patients"]
    )
    def get(self, request, patient_id):
        patient = selectors.patient_get(user=request.user, patient_id=patient_id, audit=False)
        # Reading who read the record is itself a read of it.
        audit_view(actor=request.user, patient=patient, record=patient, detail="audit trail")
        page = self.paginate_queryset(selectors.audit_trail_for_patient(patient))
        return self.get_paginated_response(AuditEventSerializer(page, many=True).data)
