"""The reports admin: outcome definitions edited through the service; export jobs, the kept report
counts and the data version read-only."""

from django.contrib import admin
from django.db.models.functions import Length

from kernel.admin import ReadOnlyAdmin, SingletonSettingsAdmin
from reports import services
from reports.models import DataVersion, OutcomeSettings, ReportCount, ReportExport


@admin.register(OutcomeSettings)
class OutcomeSettingsAdmin(SingletonSettingsAdmin):
    list_display = (
        "__str__",
        "response_reduction_pct",
        "phq9_eligible_from",
        "gad7_eligible_from",
        "suppression_threshold",
        "updated_at",
    )
    settings_fields = services.OUTCOME_SETTINGS_FIELDS
    update_service = services.outcome_settings_update


@admin.register(ReportExport)
class ReportExportAdmin(ReadOnlyAdmin):
    list_display = ("requested_at", "kind", "status", "progress", "requested_by", "finished_at", "filename")
    list_filter = ("status", "kind")
    list_select_related = ("requested_by",)
    date_hierarchy = "requested_at"
    # The file itself stays out of the admin: downloads go through the audited service.
    fields = readonly_fields = [
        *(f.name for f in ReportExport._meta.fields if f.name != "content"),
        "file_size",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")

    @admin.display(description="file size")
    def file_size(self, obj) -> str:
        if obj.status != "done":
            return "—"
        size = ReportExport.objects.filter(pk=obj.pk).values_list(Length("content"), flat=True).first()
        return f"{size or 0:,} bytes"


@admin.register(ReportCount)
class ReportCountAdmin(ReadOnlyAdmin):
    """The counts the report page and API answer from (reports/services.py report_counted): when
    each was made, at which data version, and whether a recount is under way. Aggregates only."""

    list_display = ("as_of", "counted_at", "data_version", "counting_version", "counting_since", "filters")
    date_hierarchy = "as_of"
    # The pickled report stays out: its figures are on the report page.
    fields = readonly_fields = [f.name for f in ReportCount._meta.fields if not f.name.startswith("payload")]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("payload")


@admin.register(DataVersion)
class DataVersionAdmin(ReadOnlyAdmin):
    """The record's data version (reports/data_version.py): moves after every committed write the
    report reads."""

    list_display = ("__str__", "n")
