"""The patient's self-report link: the questionnaire behind it and the one-step submission.

The link needs no sign-in: the signed, single-use token in the URL is the only credential, so
these views have no authentication, a rate limit of their own and answer `Cache-Control: no-store`.
"""

from django.utils.cache import patch_cache_control
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from courses.audit import audit
from courses.models import AuditAction, ClinicSettings
from kernel.api.serializers import ErrorSerializer
from kernel.api.views import read_body
from kernel.rate_limit import minutes as wait_minutes
from measures import (
    rate_limit,  # one count for the link's page and its API
    scoring,
    services,
)
from measures.api import serializers as s
from measures.instruments import INSTRUMENTS

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
        minutes = wait_minutes(wait)
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
        answers = read_body(s.SelfReportInputSerializer, request)["answers"]
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
