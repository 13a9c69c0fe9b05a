"""The medical evaluation (the contraindication screen) and the psychiatric evaluation."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from courses import selectors, services
from courses.api.serializers.evaluations import (
    MedicalEvaluationInputSerializer,
    MedicalEvaluationSerializer,
    PsychiatricEvaluationInputSerializer,
    PsychiatricEvaluationSerializer,
)
from courses.api.views._common import api_responses
from kernel.api.views import ApiView, read_body


class MedicalEvaluationCreateView(ApiView):
    serializer_class = MedicalEvaluationInputSerializer

    @extend_schema(
        request=MedicalEvaluationInputSerializer,
        responses=api_responses(MedicalEvaluationSerializer, 201),
        tags=["evaluations"],
    )
    def post(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
        evaluation = services.medical_evaluation_add(
            course=course, by=request.user, **read_body(MedicalEvaluationInputSerializer, request)
        )
        return Response(MedicalEvaluationSerializer(evaluation).data, status=status.HTTP_201_CREATED)


class PsychiatricEvaluationCreateView(ApiView):
    serializer_class = PsychiatricEvaluationInputSerializer

    @extend_schema(
        request=PsychiatricEvaluationInputSerializer,
        responses=api_responses(PsychiatricEvaluationSerializer, 201),
        tags=["evaluations"],
    )
    def post(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
        evaluation = services.psychiatric_evaluation_add(
            course=course, by=request.user, **read_body(PsychiatricEvaluationInputSerializer, request)
        )
        return Response(PsychiatricEvaluationSerializer(evaluation).data, status=status.HTTP_201_CREATED)
