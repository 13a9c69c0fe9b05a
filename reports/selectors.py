"""Reads of the report exports: whose export a caller may see (their own; a practice lead's, every
one), "one export or 404", and its file. The file (`content`) is read only for a download."""

from django.db.models import QuerySet
from django.http import Http404

from reports.models import ReportExport


def exports_for(user) -> QuerySet[ReportExport]:
    """The exports the caller may see, without their files: a lead's all, anyone else's their own."""
    qs = ReportExport.objects.defer("content")
    return qs if user.is_practice_lead else qs.filter(requested_by=user)


def export_scoped(*, user, export_id) -> ReportExport:
    """One export the caller may see (without its file), or 404."""
    try:
        return exports_for(user).get(pk=export_id)
    except ReportExport.DoesNotExist:
        raise Http404("No such export.") from None


def export_get(*, user, export_id) -> ReportExport:
    """One export for its page, with its course and patient (without its file), or 404. Someone
    else's export answers as if it did not exist, as the API does: a 403 would say it does."""
    try:
        export = ReportExport.objects.defer("content").select_related("course__patient").get(pk=export_id)
    except ReportExport.DoesNotExist:
        raise Http404("No such export.") from None
    if export.requested_by_id != user.pk and not user.is_practice_lead:
        raise Http404("No such export.")
    return export


def exports_recent(user, limit: int) -> list[ReportExport]:
    """The caller's own latest exports (without their files), with their course and patient."""
    return list(
        ReportExport.objects.defer("content").select_related("course__patient").filter(requested_by=user)[:limit]
    )


def export_with_content(export: ReportExport) -> ReportExport:
    """The export again, file included, for a download."""
    return ReportExport.objects.get(pk=export.pk)


def export_content(export: ReportExport):
    """Only the export's file."""
    return ReportExport.objects.values_list("content", flat=True).get(pk=export.pk)
