"""The reports admin: outcome definitions edited through the service, export jobs read-only."""

from django.contrib import admin
from django.db.models.functions import Length

from courses.admin import ReadOnlyAdmin, ServiceForm
from reports import services
from reports.models import OutcomeSettings, ReportExport


@admin.register(OutcomeSettings)
class OutcomeSettingsAdmin(admin.ModelAdmin):
    form = ServiceForm
    list_display = (
        "__str__",
        "response_reduction_pct",
        "phq9_eligible_from",
        "gad7_eligible_from",
        "pcl5_eligible_from",
        "suppression_threshold",
        "updated_at",
    )
    readonly_fields = ("updated_at", "updated_by")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"admin_site_model": self, "request": request})

    def service_save(self, request, form) -> None:
        changes = {n: form.cleaned_data[n] for n in form.changed_data if n in services.OUTCOME_SETTINGS_FIELDS}
        if changes:
            services.outcome_settings_update(by=request.user, **changes)

    def save_model(self, request, obj, form, change):
        pass  # saved by the service during validation

    def changelist_view(self, request, extra_context=None):
        OutcomeSettings.load()  # the single row always exists to be edited
        return super().changelist_view(request, extra_context)


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
