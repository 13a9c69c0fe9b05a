"""Turn an export request into its file: the practice report as PDF or CSV, or one patient's
progress report as PDF. The practice report is built once (reports/report.py) and rendered."""

from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from reports.aggregate import count_hidden
from reports.cohort import ReportFilters
from reports.models import Audience, ExportKind, ReportExport
from reports.report import PracticeReport, build_practice_report


class ExportRefused(Exception):
    """A file the rules do not allow; the message says why and what to do."""


def _refuse_a_hidden_group(filters: ReportFilters, practice_hide: dict) -> None:
    """A file selected on a group the practice's shared files hide is refused, whatever its own
    size: a CSV would name that group for every row in it (its filters are printed), and a PDF's
    figures, beside the whole practice's, would give the small groups by difference."""
    for name in ("indication", "route", "format", "sex", "race_ethnicity", "age_band"):
        value = getattr(filters, name)
        if value and value in practice_hide.get(name, set()):
            raise ExportRefused(
                f"The group chosen ({name.replace('_', '/')}) is one that files to share outside the clinic "
                "hide, because it or a group beside it is small in the practice. Remove that filter, or "
                "export the file for inside the clinic."
            )


def render_export(
    export: ReportExport,
    *,
    progress,
    now: datetime,
    kept: Callable[[ReportFilters], PracticeReport | None] | None = None,
) -> tuple[str, str, bytes]:
    """`kept(filters)` gives the page's kept count of those filters when it is current and recent
    (reports.services.report_if_current): a file for inside the clinic then reads the figures the
    page shows instead of counting them again (at 10,000 courses, half the PDF's time)."""
    stamp = timezone.localtime(now).strftime("%Y%m%d-%H%M")  # the clinic's clock, as on every page
    if export.kind == ExportKind.PATIENT_PDF:
        from reports.pdf import render_patient_pdf

        progress(20, "Collecting the course record")
        return f"progress-report-{stamp}.pdf", "application/pdf", render_patient_pdf(export.course, now=now)
    if export.kind == ExportKind.PRACTICE_LISTS and export.audience != Audience.INSIDE:
        raise ExportRefused(
            "The complete lists of serious adverse events and Kaplan–Meier steps are for inside the clinic "
            "only: each serious event is one patient's story, and each step beside its number at risk gives "
            "small counts. Export them for inside the clinic."
        )
    # The per-course rows are read by the CSV's course list and by the small-group check of a file
    # shared outside; without them the database counts the figures (much faster at practice scale).
    with_rows = export.kind == ExportKind.PRACTICE_CSV or export.audience == Audience.OUTSIDE
    filters = ReportFilters.from_dict(export.filters)
    report = None
    if kept is not None and not with_rows:
        report = kept(filters)
        if report is not None and report.suppression_threshold != export.suppression_threshold:
            report = None  # the threshold changed since the request: count with the request's own
        if report is not None:
            progress(50, "Reading the figures counted for the report page")
    if report is None:
        report = build_practice_report(
            filters, now=now, progress=progress, threshold=export.suppression_threshold, with_rows=with_rows
        )
    if export.kind == ExportKind.PRACTICE_LISTS:
        from reports.csv_export import render_practice_lists_csv

        progress(80, "Writing CSV")
        return f"kap-outcome-lists-inside-{stamp}.csv", "text/csv; charset=utf-8", render_practice_lists_csv(report)
    if export.audience == Audience.OUTSIDE and count_hidden(report.n_courses, report.suppression_threshold):
        # A selection this small is itself a small cell, and narrow filters would let two files be
        # told apart course by course.
        raise ExportRefused(
            f"Too few courses to share outside the clinic: the filters select fewer than "
            f"{report.suppression_threshold}. Widen the filters, or export the file for inside the clinic."
        )
    practice_hide = None
    if export.audience == Audience.OUTSIDE:
        from reports.csv_export import practice_values_to_hide

        # The groups the whole practice's shared files hide: a file (CSV or PDF) selected on one
        # would, beside the whole practice's file, give the small groups by difference.
        practice = report
        if report.filters != ReportFilters():
            progress(70, "Checking the whole practice's small groups")
            practice = build_practice_report(
                ReportFilters(), now=now, threshold=report.suppression_threshold, with_rows=True
            )
        practice_hide = practice_values_to_hide(practice)
        _refuse_a_hidden_group(report.filters, practice_hide)
        if count_hidden(practice.n_courses - report.n_courses, report.suppression_threshold):
            # Beside the whole practice's file, this one would give the few courses it leaves out.
            raise ExportRefused(
                f"The filters leave out fewer than {report.suppression_threshold} of the practice's courses: "
                "beside a file of the whole practice, this one would give their figures by difference. "
                "Share the whole practice's file instead, or export this one for inside the clinic."
            )
    if export.kind == ExportKind.PRACTICE_CSV:
        from reports.csv_export import render_practice_csv

        progress(80, "Writing CSV")
        return (
            f"kap-outcomes-{export.audience}-{stamp}.csv",
            "text/csv; charset=utf-8",
            render_practice_csv(report, export.audience, practice_hide=practice_hide),
        )
    from reports.pdf import render_practice_pdf

    progress(75, "Laying out the PDF")
    return (
        f"kap-outcome-report-{export.audience}-{stamp}.pdf",
        "application/pdf",
        render_practice_pdf(report, export.audience, made_at=now),
    )
