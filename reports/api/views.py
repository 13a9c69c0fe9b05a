"""Reports API views: the practice outcome report as JSON, export jobs, and the outcome definitions.

Each view checks the request's shape and calls reports.services or reports.report. The practice
report is for practice leads; a patient's progress report for a clinician on the course or a
lead (the service decides). An export is seen and downloaded by whoever asked for it, or a lead;
anyone else gets a 404, as for any record outside one's caseload.
"""

from types import SimpleNamespace

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from courses import selectors
from kernel.api.pagination import Pagination
from kernel.api.permissions import IsPracticeLead, IsStaffMember
from kernel.api.serializers import ErrorSerializer
from kernel.api.views import ApiView, error_responses
from reports import selectors as reports_selectors
from reports import services
from reports.api.serializers.exports import ExportRequestSerializer, ExportSerializer, export_data
from reports.api.serializers.filters import ReportFilterSerializer, report_filters
from reports.api.serializers.practice_report import PracticeReportSerializer
from reports.api.serializers.practice_report_data import practice_report_data
from reports.api.serializers.settings import OutcomeSettingsSerializer
from reports.models import ExportStatus, OutcomeSettings

_ERROR_TEXT = {
    400: "Invalid input; `errors` names each field at fault.",
    401: "Not signed in.",
    403: "Signed in, but this role may not do this (the message says which role may).",
    404: "No such export, or not one of yours.",
    409: "The file is not ready yet: follow the export's status and try again when it is `done`.",
}


def _responses(ok, ok_status: int = 200, errors=(400, 401, 403, 404)) -> dict:
    return error_responses(ok, _ERROR_TEXT, ok_status, errors)


SUPPRESSION_NOTE = (
    "Small cells: every rate carries `suppressed`, true when its denominator, its numerator or the "
    "rest of its denominator is from 1 to the clinic's suppression threshold less one "
    "(`definitions.suppression_threshold`, 11 by default). The numbers are given as they are, for "
    "use inside the clinic; anything that leaves the clinic must hide the suppressed cells, as the "
    "PDF and the CSV made for `audience` `outside` do."
)

CSV_NOTE = (
    "The CSV (`practice_csv`) has one row per course × instrument: a de-identified course key, "
    "indication, route, format, sex, race/ethnicity, age band, course start year, status, "
    "maintenance doses, and the baseline, end-of-course and +1/+3/+6-month scores with their days "
    "since the first dose and the response, remission and sustained-response flags (blank = not "
    "measurable); its first line names its audience. It holds no names, MRNs, dates of birth, free "
    "text or record ids. For `outside`, no date but the year, and a describing value shared by fewer "
    "courses than the suppression threshold is written `suppressed (<N)` (with a second value when "
    "one alone would be hidden); for `inside`, the course start, first dose and score dates too. A text "
    "cell starting with =, +, -, @, tab or carriage return is prefixed with a single quote so that "
    "a spreadsheet does not run it as a formula. The lists CSV (`practice_lists`, inside the clinic "
    "only: `audience` must be `inside`) holds every serious adverse event and every Kaplan–Meier step, "
    "which the PDF summarises, one row each with a `list` column (`serious_event` or `km_step`)."
)


COUNTING_TEXT = "A worker is counting the practice's figures for these filters; ask again in a few seconds."
COUNTING_RETRY_SECONDS = 3


# A kept count never changes (a recount is written under a new payload id), so each process turns
# it into JSON once: 0.1 s of DRF's field walking for a practice of 10,000 courses, per request before.
_JSON: dict = {}
_JSON_MAX = 16


def _report_json(counted: services.CountedReport) -> dict:
    data = _JSON.get(counted.ident) if counted.ident is not None else None
    if data is None:
        shape = practice_report_data(counted.report) | {"current": counted.current, "counting": counted.counting}
        data = dict(PracticeReportSerializer(shape).data)
        if counted.ident is not None:
            while len(_JSON) >= _JSON_MAX:
                _JSON.pop(next(iter(_JSON)))
            _JSON[counted.ident] = data
    return data


class CountingSerializer(serializers.Serializer):
    detail = serializers.CharField()
    counting = serializers.BooleanField()


class FormatIsAFilter(DefaultContentNegotiation):
    """`?format=group` filters the courses here; it is not DRF's renderer override."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)


class PracticeReportView(ApiView):
    permission_classes = [IsPracticeLead]
    content_negotiation_class = FormatIsAFilter
    serializer_class = PracticeReportSerializer

    @extend_schema(
        parameters=[ReportFilterSerializer],
        responses=_responses(PracticeReportSerializer, errors=(400, 401, 403))
        | {
            202: OpenApiResponse(
                CountingSerializer,
                description="No count of these filters yet today: a worker is counting; ask again after "
                "`Retry-After` seconds.",
            )
        },
        tags=["reports"],
        description="Practice lead only. The report is counted by a worker and kept until the record "
        "changes: `current` is false when the record has changed since `generated_at` (then `counting` "
        "says a new count is under way: ask again later for it). The first request of the day for a "
        "set of filters may answer 202 while it is counted. The figures: per instrument the n, "
        "means with SD and 95% CI, response and remission (intention-to-treat and observed cases), "
        "sustained response four ways and split by maintenance, follow-up completion, the share still "
        "responding and the Kaplan–Meier steps; the equity split; safety; the definitions in force; "
        "the filters echoed. Every rate is {numerator, denominator, pct, ci_low, ci_high} (Wilson 95%). "
        + SUPPRESSION_NOTE,
    )
    def get(self, request):
        filters = ReportFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        counted = services.report_counted(report_filters(filters.validated_data))
        if counted.report is None:
            return Response(
                {"detail": COUNTING_TEXT, "counting": True},
                status=status.HTTP_202_ACCEPTED,
                headers={"Retry-After": str(COUNTING_RETRY_SECONDS)},
            )
        return Response(_report_json(counted) | {"current": counted.current, "counting": counted.counting})


class ExportListView(ApiView):
    pagination_class = Pagination
    serializer_class = ExportSerializer

    @extend_schema(
        responses=_responses(ExportSerializer(many=True), errors=(400, 401, 403)),
        tags=["reports"],
        description="Your exports, newest first (a practice lead sees every export).",
    )
    def get(self, request):
        page = self.paginate_queryset(reports_selectors.exports_for(request.user).order_by("-requested_at", "id"))
        return self.get_paginated_response([export_data(e) for e in page])

    @extend_schema(
        request=ExportRequestSerializer,
        responses=_responses(ExportSerializer, status.HTTP_202_ACCEPTED, errors=(400, 401, 403)),
        tags=["reports"],
        description="Ask for a file; a worker makes it. `practice_pdf` and `practice_csv` (practice lead "
        "only) take `filters`, the same as the report's query string; `patient_pdf` takes `course`, "
        "for a clinician on that course or a lead (a course outside your caseload is a 400 naming "
        "`course`). Answers 202 at once: follow `links.self` until `status` is `done`, then fetch "
        "`links.download`. The request is audited. " + CSV_NOTE + " " + SUPPRESSION_NOTE,
        examples=[
            OpenApiExample(
                "CSV of the PTSD courses, to share",
                value={"kind": "practice_csv", "audience": "outside", "filters": {"indication": "ptsd"}},
            ),
            OpenApiExample(
                "Progress report", value={"kind": "patient_pdf", "course": "7d1f0c52-4a1e-4b8e-9c55-1d2a3b4c5d6e"}
            ),
        ],
    )
    def post(self, request):
        body = ExportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        course = None
        if data["kind"] == "patient_pdf":
            if "course" not in data:
                raise serializers.ValidationError({"course": ["Name the course of the progress report."]})
            course = selectors.course_of_caseload(user=request.user, course_id=data["course"])
            if course is None:
                raise serializers.ValidationError({"course": ["No such record on your caseload."]})
        export = services.export_request(
            by=request.user,
            kind=data["kind"],
            filters=report_filters(data.get("filters", {})),
            course=course,
            audience=data.get("audience"),
        )
        return Response(export_data(export), status=status.HTTP_202_ACCEPTED)


class ExportDetailView(ApiView):
    serializer_class = ExportSerializer

    @extend_schema(
        responses=_responses(ExportSerializer, errors=(401, 403, 404)),
        tags=["reports"],
        description="An export's status (queued, running, done, failed), progress in percent with a note, "
        "and the error when it failed. For the person who asked for it, or a practice lead.",
    )
    def get(self, request, export_id):
        return Response(export_data(reports_selectors.export_scoped(user=request.user, export_id=export_id)))


FILE_TEXT = "The file, as an attachment: a PDF, or a CSV in UTF-8 with a byte-order mark."


class ExportDownloadView(ApiView):
    def perform_content_negotiation(self, request, force=False):
        # A client asking for the file's own type (Accept: text/csv) still gets it, and errors as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description=FILE_TEXT),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description=FILE_TEXT),
            **{code: OpenApiResponse(ErrorSerializer, description=_ERROR_TEXT[code]) for code in (401, 403, 404, 409)},
        },
        tags=["reports"],
        description="The file of a finished export, as an attachment; every download is audited. "
        "409 while it is still queued or running, or when it failed. " + CSV_NOTE,
    )
    def get(self, request, export_id):
        export = reports_selectors.export_scoped(user=request.user, export_id=export_id)
        if export.status != ExportStatus.DONE:
            return Response(
                {"detail": _ERROR_TEXT[409] + f" It is {export.status}.", "errors": {}},
                status=status.HTTP_409_CONFLICT,
            )
        export = services.export_for_download(export=reports_selectors.export_with_content(export), by=request.user)
        response = HttpResponse(bytes(export.content), content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        response["Cache-Control"] = "no-store"
        return response


class ReadOrLeadWrites(IsStaffMember):
    message = "Only a practice lead can change the outcome definitions."

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return super().has_permission(request, view)
        return IsPracticeLead().has_permission(request, view)


class OutcomeSettingsView(ApiView):
    permission_classes = [ReadOrLeadWrites]
    serializer_class = OutcomeSettingsSerializer

    @extend_schema(
        responses=_responses(OutcomeSettingsSerializer, errors=(401, 403)),
        tags=["reports"],
        description="The outcome definitions in force (DOMAIN §6 defaults until a lead changes them); "
        "any staff member may read them.",
    )
    def get(self, request):
        return Response(OutcomeSettingsSerializer(OutcomeSettings.load()).data)

    @extend_schema(
        request=OutcomeSettingsSerializer,
        responses=_responses(OutcomeSettingsSerializer, errors=(400, 401, 403)),
        tags=["reports"],
        description="Practice lead only. Change some definitions; the change is audited and applies to "
        "every report made from now on. A rule between fields (the end-of-course window, partial below "
        "response, follow-ups in order) that breaks is a 400 naming the field to change.",
    )
    def patch(self, request):
        body = OutcomeSettingsSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        row = services.outcome_settings_update(by=request.user, changes=body.validated_data)
        return Response(OutcomeSettingsSerializer(row).data)
