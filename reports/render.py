"""Turn an export request into its file: the practice report as PDF or CSV, or one patient's
progress report as PDF. The practice report is built once (reports/report.py) and rendered."""

from reports.cohort import ReportFilters
from reports.models import ExportKind, ReportExport
from reports.report import build_practice_report


def render_export(export: ReportExport, *, progress, now) -> tuple[str, str, bytes]:
    stamp = now.strftime("%Y%m%d-%H%M")
    if export.kind == ExportKind.PATIENT_PDF:
        from reports.pdf import render_patient_pdf

        progress(20, "Collecting the course record")
        return f"progress-report-{stamp}.pdf", "application/pdf", render_patient_pdf(export.course, now=now)
    report = build_practice_report(ReportFilters.from_dict(export.filters), now=now, progress=progress)
    if export.kind == ExportKind.PRACTICE_CSV:
        from reports.csv_export import render_practice_csv

        progress(80, "Writing CSV")
        return (
            f"kap-outcomes-{export.audience}-{stamp}.csv",
            "text/csv; charset=utf-8",
            render_practice_csv(report, export.audience),
        )
    from reports.pdf import render_practice_pdf

    progress(75, "Laying out the PDF")
    return (
        f"kap-outcome-report-{export.audience}-{stamp}.pdf",
        "application/pdf",
        render_practice_pdf(report, export.audience),
    )
