"""A course's administrations (questionnaires): adding, moving, cancelling, waiving, a new link,
and the responses a clinician enters or reads."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from courses import selectors
from kernel.api.views import ApiView, read_body
from measures import selectors as measures_selectors
from measures import services
from measures.api import serializers as s
from measures.api.views._common import READ_ERRORS, api_responses
from measures.models import Administration


def _administration(request, administration_id) -> Administration:
    return measures_selectors.administration_scoped(user=request.user, administration_id=administration_id)


def _administration_out(administration_id) -> dict:
    return s.AdministrationSerializer(measures_selectors.administration_detail(administration_id)).data


def _response_out(response_id) -> dict:
    return s.ResponseSerializer(measures_selectors.response_detail(response_id)).data


class CourseAdministrationsView(ApiView):
    # The whole list, never paginated: without this the schema promised {count, results}.
    pagination_class = None
    serializer_class = s.AdministrationSerializer

    @extend_schema(
        responses=api_responses(s.AdministrationSerializer(many=True), errors=READ_ERRORS),
        tags=["measures"],
        description="Every administration of the course in target-date order, with its window, status "
        "and, once answered, the score.",
    )
    def get(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id)
        administrations = measures_selectors.course_administrations(course)
        return Response(s.AdministrationSerializer(administrations, many=True).data)

    @extend_schema(
        request=s.AdministrationAddInputSerializer,
        responses=api_responses(s.AdministrationSerializer, 201),
        tags=["measures"],
        description="An additional questionnaire for this course only, outside the clinic's schedule.",
    )
    def post(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
        administration = services.administration_add(
            course=course, by=request.user, **read_body(s.AdministrationAddInputSerializer, request)
        )
        return Response(_administration_out(administration.pk), status=status.HTTP_201_CREATED)


class AdministrationAdjustView(ApiView):
    serializer_class = s.AdministrationAdjustInputSerializer

    @extend_schema(
        request=s.AdministrationAdjustInputSerializer,
        responses=api_responses(s.AdministrationSerializer),
        tags=["measures"],
        description="Move one administration's window for this course; later course events no longer move it.",
    )
    def post(self, request, administration_id):
        administration = _administration(request, administration_id)
        services.administration_adjust(
            administration=administration, by=request.user, **read_body(s.AdministrationAdjustInputSerializer, request)
        )
        return Response(_administration_out(administration.pk))


class AdministrationCancelView(ApiView):
    serializer_class = s.AdministrationCancelInputSerializer

    @extend_schema(
        request=s.AdministrationCancelInputSerializer,
        responses=api_responses(s.AdministrationSerializer),
        tags=["measures"],
    )
    def post(self, request, administration_id):
        administration = _administration(request, administration_id)
        services.administration_cancel(
            administration=administration, by=request.user, **read_body(s.AdministrationCancelInputSerializer, request)
        )
        return Response(_administration_out(administration.pk))


class AdministrationWaiveView(ApiView):
    serializer_class = s.AdministrationCancelInputSerializer

    @extend_schema(
        request=s.AdministrationCancelInputSerializer,
        responses=api_responses(s.AdministrationSerializer),
        tags=["measures"],
        description="A clinician waives a baseline questionnaire, with the reason: the first dose no longer waits for "
        "it, and the outcome report counts the course as 'baseline waived'.",
    )
    def post(self, request, administration_id):
        administration = _administration(request, administration_id)
        services.administration_waive(
            administration=administration, by=request.user, **read_body(s.AdministrationCancelInputSerializer, request)
        )
        return Response(_administration_out(administration.pk))


class AdministrationNewLinkView(ApiView):
    serializer_class = s.AdministrationSerializer

    @extend_schema(
        request=None,
        responses=api_responses(s.AdministrationSerializer),
        tags=["measures"],
        description="Send the patient a fresh self-report link (the earlier one expired or went astray); "
        "earlier links for this questionnaire stop working. Only for an open questionnaire whose window "
        "has not closed.",
    )
    def post(self, request, administration_id):
        administration = _administration(request, administration_id)
        services.administration_send_new_link(administration=administration, by=request.user)
        return Response(_administration_out(administration.pk))


class AdministrationResponsesView(ApiView):
    serializer_class = s.ClinicianEntryInputSerializer

    @extend_schema(
        request=s.ClinicianEntryInputSerializer,
        responses=api_responses(s.ResponseSerializer, 201),
        tags=["measures"],
        description="A therapist or medical provider enters the answers on the patient's behalf (recorded as "
        "source `clinician` with `entered_by`). Unlike the patient's link, unanswered items are accepted: "
        "the questionnaire is then stored as incomplete and not scored. PHQ-9 item 9 above 0 raises a "
        "safety alert whatever the rest.",
    )
    def post(self, request, administration_id):
        administration = _administration(request, administration_id)
        data = read_body(s.ClinicianEntryInputSerializer, request)
        response = services.response_enter(administration=administration, by=request.user, **data)
        return Response(_response_out(response.pk), status=status.HTTP_201_CREATED)


class CourseResponsesView(ApiView):
    pagination_class = None
    serializer_class = s.ResponseSerializer

    @extend_schema(
        responses=api_responses(s.ResponseSerializer(many=True), errors=READ_ERRORS),
        tags=["measures"],
        description="Every response of the course in the order answered: each item's answer, the total, band, "
        "PCL-5 clusters and provisional-PTSD flags, the scoring version and who entered it.",
    )
    def get(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id)
        responses = measures_selectors.course_responses(course)
        return Response(s.ResponseSerializer(responses, many=True).data)
