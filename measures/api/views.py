"""Measures API views: the patient's self-report link, and staff reads and writes of the schedule.

Each view checks the request's shape and calls measures.services, which holds every rule.
Records named in the URL are scoped to the caller's caseload (courses.selectors.courses_for):
anything outside it is a 404, as in the course API.

The patient's link needs no sign-in: the signed, single-use token in the URL is the only
credential, so those two views have no authentication and answer `Cache-Control: no-store`.
"""

from django.db.models import Q
from django.http import Http404
from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from courses import selectors
from courses.api.permissions import IsPracticeLead, IsStaffMember
from courses.api.serializers import ErrorSerializer
from courses.api.views import ApiView, Pagination
from courses.audit import audit
from courses.models import AuditAction, ClinicSettings
from measures import scoring, services
from measures.api import serializers as s
from measures.instruments import INSTRUMENTS
from measures.models import Administration, MeasureSettings, MessageStatus, OutboundMessage, SafetyAlert
from measures.models import Response as MeasureResponse
from measures.web import rate_limit  # one count for the link's page and its API

_ERROR_TEXT = {
    400: "Invalid input or a broken rule; `errors` names each field (`item_N` for an answer).",
    401: "Not signed in.",
    403: "Signed in, but this role may not do this (the message says which role may).",
    404: "No such record on your caseload.",
    409: "The record changed while saving; reload and try again.",
}


def _responses(ok, ok_status: int = 200, errors=(400, 401, 403, 404, 409)) -> dict:
    out = {ok_status: ok}
    for code in errors:
        out[code] = OpenApiResponse(ErrorSerializer, description=_ERROR_TEXT[code])
    return out


READ_ERRORS = (401, 403, 404)
LIST_ERRORS = (400, 401, 403)


def _body(serializer_class, request, partial: bool = False) -> dict:
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _scoped_get(qs, pk):
    try:
        return qs.get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such record on your caseload.") from None


def _administration(request, administration_id) -> Administration:
    qs = Administration.objects.filter(course__in=selectors.courses_for(request.user))
    return _scoped_get(qs.select_related("course__patient"), administration_id)


def _administration_out(administration_id) -> dict:
    administration = Administration.objects.select_related("response__safety_alert").get(pk=administration_id)
    return s.AdministrationSerializer(administration).data


def _response_out(response_id) -> dict:
    response = MeasureResponse.objects.select_related("entered_by", "administration", "safety_alert").get(
        pk=response_id
    )
    return s.ResponseSerializer(response).data


# --- the patient's self-report link -----------------------------------------------------------

LINK_PROBLEMS = {
    "invalid": (
        status.HTTP_404_NOT_FOUND,
        "This link is not valid. Check that the whole link from your message was opened, "
        "or ask the clinic to send you a new one.",
    ),
    "expired": (
        status.HTTP_410_GONE,
        "This link has expired. Please contact the clinic and ask for a new link.",
    ),
    "used": (
        status.HTTP_410_GONE,
        "Your answers to this questionnaire have already been received, thank you: there is nothing more to do. "
        "If you want to change an answer, tell your therapist.",
    ),
    "closed": (
        status.HTTP_410_GONE,
        "This questionnaire is no longer open. If you think that is a mistake, please contact the clinic.",
    ),
}


def _link_problem(problem: services.LinkProblem) -> Response:
    code, detail = LINK_PROBLEMS.get(problem.kind, LINK_PROBLEMS["invalid"])
    return Response({"detail": detail, "errors": {}, "reason": problem.kind}, status=code)


LINK_RESPONSES = {
    404: OpenApiResponse(s.LinkProblemSerializer, description="The link is not valid (`reason`: invalid)."),
    410: OpenApiResponse(
        s.LinkProblemSerializer,
        description="The link can no longer be used (`reason`: expired, used or closed); `detail` says what to do.",
    ),
    429: OpenApiResponse(
        ErrorSerializer,
        description="Too many tries from this address or on this link; `Retry-After` says how many seconds to wait.",
    ),
}


def _unanswered(instrument: str, answers: dict) -> dict[str, list[str]]:
    numbers = (item.number for item in INSTRUMENTS[instrument].items)
    return {f"item_{n}": ["Please answer this question."] for n in numbers if answers.get(str(n)) in (None, "")}


class _SelfReportThrottle(BaseThrottle):
    def allow_request(self, request, view):
        self.retry_after = rate_limit.check(request, view.kwargs.get("token", ""))
        return self.retry_after is None

    def wait(self):
        return self.retry_after


class TooManyTries(exceptions.APIException):
    """429 in the API's error shape; DRF's handler turns `wait` into the Retry-After header."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "throttled"

    def __init__(self, wait: int):
        self.wait = wait
        minutes = rate_limit.minutes(wait)
        super().__init__(
            f"Too many tries from this device. Please wait {minutes} minute{'s' if minutes != 1 else ''} "
            "and open your link again. If you need help now, call or text 988 (Suicide & Crisis Lifeline), "
            "or call 911."
        )


class SelfReportView(GenericAPIView):
    """The questionnaire behind a patient's link, and the one-step submission of its answers."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [_SelfReportThrottle]
    serializer_class = s.SelfReportInputSerializer

    def throttled(self, request, wait):
        raise TooManyTries(int(wait))

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # The token is the credential: keep the page out of caches and the link out of Referer headers.
        patch_cache_control(response, no_store=True)
        response["Referrer-Policy"] = "no-referrer"
        return response

    @extend_schema(
        auth=[],
        responses={200: s.SelfReportFormSerializer, **LINK_RESPONSES},
        tags=["self-report"],
        description="What the patient's link shows: the clinic, their first name and the questionnaire. "
        "No sign-in; the token is single-use and expires. Opening it is audited.",
    )
    def get(self, request, token):
        try:
            administration = services.self_report_resolve(token=token)
        except services.LinkProblem as problem:
            return _link_problem(problem)
        audit(
            actor=None,
            action=AuditAction.VIEW,
            patient=administration.course.patient,
            record=administration,
            detail="self-report link opened via API",
        )
        definition = INSTRUMENTS[administration.instrument]
        form = {
            "clinic": ClinicSettings.load().clinic_name,
            "first_name": administration.course.patient.given_name,
            "instrument": {
                "code": definition.code,
                "name": definition.name,
                "title": definition.title,
                "stem": definition.stem,
                "recall": definition.recall,
                "items": [{"number": i.number, "text": i.text} for i in definition.items],
                "options": [{"value": o.value, "label": o.label} for o in definition.options],
            },
        }
        return Response(s.SelfReportFormSerializer(form).data)

    @extend_schema(
        auth=[],
        request=s.SelfReportInputSerializer,
        responses={
            201: s.SelfReportResultSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="Answers missing or out of range: `errors` has one `item_N` key per item at fault.",
            ),
            **LINK_RESPONSES,
        },
        tags=["self-report"],
        description="Submit every answer in one step. Unlike clinician entry, an incomplete questionnaire "
        "is refused (400, naming each unanswered item): the patient can always finish the form, and a "
        "stored incomplete questionnaire is never scored. A second submission is 410 `used` and the "
        "first answers are kept.",
        examples=[
            OpenApiExample(
                "PHQ-9",
                value={"answers": {"1": 1, "2": 2, "3": 1, "4": 2, "5": 0, "6": 1, "7": 1, "8": 0, "9": 0}},
                request_only=True,
            )
        ],
    )
    def post(self, request, token):
        answers = _body(s.SelfReportInputSerializer, request)["answers"]
        try:
            administration = services.self_report_resolve(token=token)
            errors = _unanswered(administration.instrument, answers)
            if errors:
                try:
                    scoring.normalise_answers(administration.instrument, answers)
                except scoring.AnswerError as exc:
                    errors.update({key: [message] for key, message in exc.errors.items()})
                raise serializers.ValidationError(errors)
            response = services.response_submit_self_report(token=token, answers=answers)
        except services.LinkProblem as problem:
            return _link_problem(problem)
        result = {
            "instrument": response.instrument,
            "complete": response.complete,
            "total": response.total,
            "band": response.band,
            "safety_alert": bool(response.safety_item_value),
        }
        return Response(s.SelfReportResultSerializer(result).data, status=status.HTTP_201_CREATED)


# --- administrations --------------------------------------------------------------------------


class CourseAdministrationsView(ApiView):
    # The whole list, never paginated: without this the schema promised {count, results}.
    pagination_class = None
    serializer_class = s.AdministrationSerializer

    @extend_schema(
        responses=_responses(s.AdministrationSerializer(many=True), errors=READ_ERRORS),
        tags=["measures"],
        description="Every administration of the course in target-date order, with its window, status "
        "and, once answered, the score.",
    )
    def get(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id)
        administrations = course.administrations.select_related("response__safety_alert")
        return Response(s.AdministrationSerializer(administrations, many=True).data)

    @extend_schema(
        request=s.AdministrationAddInputSerializer,
        responses=_responses(s.AdministrationSerializer, 201),
        tags=["measures"],
        description="An additional questionnaire for this course only, outside the clinic's schedule.",
    )
    def post(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id, audit=False)
        administration = services.administration_add(
            course=course, by=request.user, **_body(s.AdministrationAddInputSerializer, request)
        )
        return Response(_administration_out(administration.pk), status=status.HTTP_201_CREATED)


class AdministrationAdjustView(ApiView):
    serializer_class = s.AdministrationAdjustInputSerializer

    @extend_schema(
        request=s.AdministrationAdjustInputSerializer,
        responses=_responses(s.AdministrationSerializer),
        tags=["measures"],
        description="Move one administration's window for this course; later course events no longer move it.",
    )
    def post(self, request, administration_id):
        administration = _administration(request, administration_id)
        services.administration_adjust(
            administration=administration, by=request.user, **_body(s.AdministrationAdjustInputSerializer, request)
        )
        return Response(_administration_out(administration.pk))


class AdministrationCancelView(ApiView):
    serializer_class = s.AdministrationCancelInputSerializer

    @extend_schema(
        request=s.AdministrationCancelInputSerializer,
        responses=_responses(s.AdministrationSerializer),
        tags=["measures"],
    )
    def post(self, request, administration_id):
        administration = _administration(request, administration_id)
        services.administration_cancel(
            administration=administration, by=request.user, **_body(s.AdministrationCancelInputSerializer, request)
        )
        return Response(_administration_out(administration.pk))


class AdministrationWaiveView(ApiView):
    serializer_class = s.AdministrationCancelInputSerializer

    @extend_schema(
        request=s.AdministrationCancelInputSerializer,
        responses=_responses(s.AdministrationSerializer),
        tags=["measures"],
        description="A clinician waives a baseline questionnaire, with the reason: the first dose no longer waits for "
        "it, and the outcome report counts the course as 'baseline waived'.",
    )
    def post(self, request, administration_id):
        administration = _administration(request, administration_id)
        services.administration_waive(
            administration=administration, by=request.user, **_body(s.AdministrationCancelInputSerializer, request)
        )
        return Response(_administration_out(administration.pk))


class AdministrationNewLinkView(ApiView):
    serializer_class = s.AdministrationSerializer

    @extend_schema(
        request=None,
        responses=_responses(s.AdministrationSerializer),
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
        responses=_responses(s.ResponseSerializer, 201),
        tags=["measures"],
        description="A therapist or medical provider enters the answers on the patient's behalf (recorded as "
        "source `clinician` with `entered_by`). Unlike the patient's link, unanswered items are accepted: "
        "the questionnaire is then stored as incomplete and not scored. PHQ-9 item 9 above 0 raises a "
        "safety alert whatever the rest.",
    )
    def post(self, request, administration_id):
        administration = _administration(request, administration_id)
        data = _body(s.ClinicianEntryInputSerializer, request)
        response = services.response_enter(administration=administration, by=request.user, **data)
        return Response(_response_out(response.pk), status=status.HTTP_201_CREATED)


class CourseResponsesView(ApiView):
    pagination_class = None
    serializer_class = s.ResponseSerializer

    @extend_schema(
        responses=_responses(s.ResponseSerializer(many=True), errors=READ_ERRORS),
        tags=["measures"],
        description="Every response of the course in the order answered: each item's answer, the total, band, "
        "PCL-5 clusters and provisional-PTSD flags, the scoring version and who entered it.",
    )
    def get(self, request, course_id):
        course = selectors.course_get(user=request.user, course_id=course_id)
        responses = course.responses.select_related("entered_by", "administration", "safety_alert")
        return Response(s.ResponseSerializer(responses, many=True).data)


# --- safety alerts ----------------------------------------------------------------------------


class SafetyAlertListView(ApiView):
    pagination_class = Pagination
    serializer_class = s.SafetyAlertSerializer

    @extend_schema(
        responses=_responses(s.SafetyAlertSerializer(many=True), errors=LIST_ERRORS),
        tags=["safety alerts"],
        description="Open PHQ-9 item-9 alerts on the caller's caseload (a practice lead sees all), oldest first.",
    )
    def get(self, request):
        qs = SafetyAlert.objects.filter(
            acknowledged_at__isnull=True, course__in=selectors.courses_for(request.user)
        ).select_related("course", "acknowledged_by")
        page = self.paginate_queryset(qs.order_by("raised_at", "id"))
        return self.get_paginated_response(s.SafetyAlertSerializer(page, many=True).data)


class SafetyAlertAcknowledgeView(ApiView):
    serializer_class = s.SafetyAlertAcknowledgeInputSerializer

    @extend_schema(
        request=s.SafetyAlertAcknowledgeInputSerializer,
        responses=_responses(s.SafetyAlertSerializer),
        tags=["safety alerts"],
        description="A therapist or medical provider on the course closes the alert with a note of what was done.",
    )
    def post(self, request, alert_id):
        qs = SafetyAlert.objects.filter(course__in=selectors.courses_for(request.user))
        alert = _scoped_get(qs, alert_id)
        alert = services.safety_alert_acknowledge(
            alert=alert, by=request.user, **_body(s.SafetyAlertAcknowledgeInputSerializer, request)
        )
        alert = SafetyAlert.objects.select_related("course", "acknowledged_by").get(pk=alert.pk)
        return Response(s.SafetyAlertSerializer(alert).data)


# --- messages not sent ------------------------------------------------------------------------

UNSENT = (MessageStatus.PENDING, MessageStatus.SENDING, MessageStatus.FAILED)
MAX_MESSAGE_ID = 2**63 - 1


def _messages_for(user):
    courses = selectors.courses_for(user)
    return OutboundMessage.objects.filter(
        Q(administration__course__in=courses) | Q(safety_alert__course__in=courses)
    ).select_related("administration", "safety_alert")


class MessageListView(ApiView):
    pagination_class = Pagination
    serializer_class = s.MessageSerializer

    @extend_schema(
        parameters=[s.MessageFilterSerializer],
        responses=_responses(s.MessageSerializer(many=True), errors=LIST_ERRORS),
        tags=["messages"],
        description="Invitations, reminders and alert mails on the caller's caseload that have not been sent; "
        "`pending` ones past their quick retries show `next_attempt_at` and `retry_until` (the send sweep keeps "
        "trying); `failed` ones gave up after that and wait for staff. Addresses are masked; no message body.",
    )
    def get(self, request):
        filters = s.MessageFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data.get("status")
        qs = _messages_for(request.user).filter(status__in=[wanted] if wanted else UNSENT)
        page = self.paginate_queryset(qs.order_by("created_at", "id"))
        return self.get_paginated_response(s.MessageSerializer(page, many=True).data)


class MessageRetryView(ApiView):
    serializer_class = s.MessageSerializer

    @extend_schema(
        parameters=[OpenApiParameter("message_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        request=None,
        responses=_responses(s.MessageSerializer),
        tags=["messages"],
        description="Put a failed message (or one waiting for its next automatic retry) back in the queue, to the "
        "current address (the patient's, or the clinician's "
        "for an alert mail); it is sent "
        "once this request commits.",
    )
    def post(self, request, message_id):
        if not 1 <= message_id <= MAX_MESSAGE_ID:
            raise Http404("No such record on your caseload.")
        message = _scoped_get(_messages_for(request.user), message_id)
        message = services.message_retry(message=message, by=request.user)
        return Response(s.MessageSerializer(_messages_for(request.user).get(pk=message.pk)).data)


# --- the clinic's measure schedule ------------------------------------------------------------


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
        responses=_responses(s.MeasureSettingsSerializer, errors=(401, 403)),
        tags=["measures"],
        description="The clinic's measure schedule and sending rules; any staff member may read them.",
    )
    def get(self, request):
        return Response(s.MeasureSettingsSerializer(MeasureSettings.load()).data)

    @extend_schema(
        request=s.MeasureSettingsSerializer,
        responses=_responses(s.MeasureSettingsChangeSerializer, errors=(400, 401, 403, 409)),
        tags=["measures"],
        description="Practice lead only. The schedule's windows, baseline days and PCL-5 cut-off are also "
        "the outcome report's: one value, read by both. The answer says, in `moves`, what each changed "
        "setting moves: the questionnaires not yet answered (a worker re-plans every course in care "
        "after the change; dates adjusted by hand are kept) and the report's figures.",
    )
    def patch(self, request):
        fields = _body(s.MeasureSettingsSerializer, request, partial=True)
        row, moves = services.measure_settings_update(by=request.user, **fields)
        row.moves = moves
        return Response(s.MeasureSettingsChangeSerializer(row).data)


class MeasureSettingsReplanView(ApiView):
    permission_classes = [ReadOrLeadWrites]
    serializer_class = s.ReplanResultSerializer

    @extend_schema(
        request=None,
        responses=_responses(s.ReplanResultSerializer, errors=(401, 403, 409)),
        tags=["measures"],
        description="Practice lead only. Re-plan every course in care against the current settings now, "
        "rather than at each course's next event. Dates a clinician adjusted by hand are kept.",
    )
    def post(self, request):
        return Response({"courses": services.schedule_sync_open_courses()})
