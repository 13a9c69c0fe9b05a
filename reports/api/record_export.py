"""Right of access through the API: the practice lead fetches a patient's full record as one JSON file."""

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers

from courses import selectors
from kernel.api.permissions import IsPracticeLead
from kernel.api.serializers import ErrorSerializer
from kernel.api.views import ApiView
from reports.record_export import CONTENT_TYPE, FORMAT_NAME, REASON_MAX_LENGTH, SECTIONS, patient_record_export


class RecordExportLead(IsPracticeLead):
    message = "Only the practice lead exports a patient's full record (right of access). Ask the practice lead."


class RecordExportRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH,
        help_text="Why the record is exported, e.g. 'Patient request received 2026-03-02'. Kept in the audit "
        "trail and at the top of the file.",
    )


class RecordExportFileSerializer(serializers.Serializer):
    """The file's top level; each section is described in the file's own `about.sections`."""

    about = serializers.DictField(help_text="Clinic, generated at/by, reason, format version, section descriptions.")
    patient = serializers.DictField()
    weights = serializers.ListField(child=serializers.DictField())
    courses = serializers.ListField(child=serializers.DictField())
    messages = serializers.ListField(child=serializers.DictField())
    access_log = serializers.ListField(child=serializers.DictField())


_ERRORS = {
    400: "`reason` is missing, blank or longer than 500 characters; `errors.reason` says which.",
    401: "Not signed in.",
    403: "Signed in, but not as the practice lead: only the practice lead exports a full record.",
    404: "No such patient.",
}


class PatientRecordExportView(ApiView):
    permission_classes = [RecordExportLead]
    serializer_class = RecordExportRequestSerializer

    def perform_content_negotiation(self, request, force=False):
        # The file is JSON whatever the client asks for; so are the errors.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        request=RecordExportRequestSerializer,
        responses={
            (200, "application/json"): OpenApiResponse(
                RecordExportFileSerializer,
                description=f"The file ({FORMAT_NAME}), as an attachment named "
                "kapclinic-record-<first 8 characters of the patient id>-<YYYYMMDD>.json.",
            ),
            **{code: OpenApiResponse(ErrorSerializer, description=text) for code, text in _ERRORS.items()},
        },
        tags=["patients"],
        summary="Export a patient's full record (right of access)",
        description="Practice lead only. The patient's whole record as one UTF-8 JSON file (HIPAA 45 CFR "
        "164.524; GDPR articles 15 and 20): "
        + " ".join(f"`{name}`: {text}" for name, text in SECTIONS.items())
        + " The export is written to the patient's audit trail with the reason.",
        examples=[
            OpenApiExample(
                "Patient request", value={"reason": "Patient request received 2026-03-02"}, request_only=True
            )
        ],
    )
    def post(self, request, patient_id):
        body = RecordExportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        patient = selectors.patient_get(user=request.user, patient_id=patient_id, audit=False)
        filename, content = patient_record_export(
            patient=patient, by=request.user, reason=body.validated_data["reason"]
        )
        response = HttpResponse(content, content_type=CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response
