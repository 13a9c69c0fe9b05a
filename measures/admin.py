"""The Django admin over the measures: a window onto the services, never around them.

Nothing is deleted here. Answers, safety alerts and messages are read-only (a failed message
can be put back in the queue with an action that calls services.message_retry); the schedule
changes only through the services (events and clinicians' adjustments); the clinic's measure
settings are saved through services.measure_settings_update.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from kernel.admin import ReadOnlyAdmin, SingletonSettingsAdmin
from measures import services
from measures.models import Administration, MeasureSettings, MessageStatus, OutboundMessage, Response, SafetyAlert


def _all_fields(model) -> list[str]:
    return [f.name for f in model._meta.fields]


@admin.register(MeasureSettings)
class MeasureSettingsAdmin(SingletonSettingsAdmin):
    list_display = ("__str__", "link_expiry_days", "reminder_after_days", "send_max_attempts", "updated_at")
    settings_fields = services.MEASURE_SETTINGS_FIELDS
    update_service = services.measure_settings_update


@admin.register(Administration)
class AdministrationAdmin(ReadOnlyAdmin):
    list_display = ("course", "instrument", "timepoint", "target_date", "missed_after", "status", "manually_adjusted")
    list_filter = ("status", "instrument", "timepoint", "manually_adjusted")
    date_hierarchy = "target_date"
    list_select_related = ("course__patient",)
    # link_nonce is what a self-report link is checked against: never shown.
    fields = readonly_fields = [f for f in _all_fields(Administration) if f != "link_nonce"]


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin):
    list_display = ("course", "instrument", "total", "band", "complete", "source", "answered_at")
    list_filter = ("instrument", "source", "complete")
    list_select_related = ("course__patient",)
    readonly_fields = _all_fields(Response)


@admin.register(SafetyAlert)
class SafetyAlertAdmin(ReadOnlyAdmin):
    list_display = ("course", "item_value", "raised_at", "acknowledged_at", "acknowledged_by")
    list_filter = (("acknowledged_at", admin.EmptyFieldListFilter),)
    list_select_related = ("course__patient", "acknowledged_by")
    readonly_fields = _all_fields(SafetyAlert)


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "channel", "status", "attempts", "last_error", "created_at", "sent_at")
    list_filter = ("status", "kind", "channel")
    readonly_fields = _all_fields(OutboundMessage)
    actions = ["retry_failed"]

    @admin.action(description="Put the selected failed messages back in the queue")
    def retry_failed(self, request, queryset):
        done, refused = 0, []
        skipped = queryset.exclude(status=MessageStatus.FAILED).count()
        for message in queryset.filter(status=MessageStatus.FAILED):
            try:
                services.message_retry(message=message, by=request.user)
                done += 1
            except (ValidationError, PermissionDenied) as exc:
                refused.append(f"#{message.pk}: {' '.join(getattr(exc, 'messages', [str(exc)]))}")
        self.message_user(request, f"{done} message(s) queued again.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} selected message(s) had not failed; left as they are.")
        for line in refused:
            self.message_user(request, line, messages.ERROR)
