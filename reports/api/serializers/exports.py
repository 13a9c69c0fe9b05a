"""Export jobs: the request and the job as its owner follows it."""

from django.urls import reverse
from rest_framework import serializers

from reports.api.serializers.filters import ReportFilterSerializer
from reports.models import Audience, ExportKind


class ExportRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ExportKind.choices)
    audience = serializers.ChoiceField(
        choices=Audience.choices,
        required=False,
        help_text="Who the practice file is for. `inside`: exact figures and dates, for the clinic's own "
        "use. `outside` (the default): de-identified to HIPAA Safe Harbor (days since the first dose "
        "instead of dates, years instead of months, no free text) with every count under the "
        "small-cell threshold hidden. A `patient_pdf` is `inside` only.",
    )
    filters = ReportFilterSerializer(required=False, help_text="For the practice report and CSV; ignored otherwise.")
    course = serializers.UUIDField(required=False, help_text="The course of a patient progress report.")


class ExportLinksSerializer(serializers.Serializer):
    self = serializers.CharField()
    download = serializers.CharField(allow_null=True, help_text="Null until the file is ready.")


class ExportSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField(help_text=f"One of: {', '.join(ExportKind.values)}.")
    audience = serializers.CharField(help_text=f"One of: {', '.join(Audience.values)}.")
    status = serializers.CharField(help_text="One of: queued, running, done, failed.")
    progress = serializers.IntegerField(help_text="Percent, 0 to 100.")
    progress_note = serializers.CharField()
    error = serializers.CharField(help_text="Why the export failed; blank otherwise.")
    filters = serializers.DictField()
    course = serializers.UUIDField(allow_null=True)
    requested_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    filename = serializers.CharField()
    links = ExportLinksSerializer()


def export_data(export) -> dict:
    self_url = reverse("api-report-export", args=[export.pk])
    return {
        "id": export.pk,
        "kind": export.kind,
        "audience": export.audience,
        "status": export.status,
        "progress": export.progress,
        "progress_note": export.progress_note,
        "error": export.error,
        "filters": export.filters,
        "course": export.course_id,
        "requested_at": export.requested_at,
        "started_at": export.started_at,
        "finished_at": export.finished_at,
        "filename": export.filename,
        "links": {
            "self": self_url,
            "download": reverse("api-report-export-download", args=[export.pk]) if export.status == "done" else None,
        },
    }
