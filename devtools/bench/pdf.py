"""Issue 15, goal 2: the practice PDF in under 5 s at 10,000 courses, with no section that grows
without bound.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/kapclinic_report \\
        python manage.py shell -c "from devtools.bench import pdf; from reports.cohort import ReportFilters; \\
        from reports.report import build_practice_report as b; print(*pdf.run(b(ReportFilters())), sep='\\n')"

on a database `measure_report --courses 10000` has loaded. `run(report)` takes a built
PracticeReport (its build is timed on its own, by the caller) and renders its PDF for each
audience: the median seconds of a few renders, the pages, and how many rows the body lists of the
two lists that grow with the practice (serious adverse events, Kaplan–Meier steps) beside how
many there are. The goal is absolute, so there is no floor; the process CPU seconds are printed
beside the wall-clock ones, since the machine is shared and a wall-clock second alone proves little.
"""

import re
import shutil
import subprocess
import time

from devtools.bench import Figure, count_as_a_worker, load, timed

TARGET_SECONDS = 5.0


def _pages(pdf: bytes) -> str:
    # WeasyPrint compresses its objects, so the page count is read by poppler's pdfinfo.
    if shutil.which("pdfinfo") is None:
        return "? (no pdfinfo)"
    out = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=False).stdout.decode()
    found = re.search(r"^Pages:\s+(\d+)", out, re.MULTILINE)
    return found.group(1) if found else "?"


def _figure(what: str, seconds: float, courses: int, note: str) -> Figure:
    """A PDF's seconds against the goal, which is absolute (no floor) and stated at 10,000 courses."""
    return Figure(
        goal=f"{what}, {courses:,} courses",
        product=seconds,
        floor=None,
        unit="s",
        target=f"< {TARGET_SECONDS:g} s at 10,000 courses",
        met=seconds < TARGET_SECONDS if courses <= 10_000 else None,
        note=note,
    )


def run(report, *, rounds: int = 3) -> list[Figure]:
    from reports.models import Audience
    from reports.pdf import render_practice_pdf
    from reports.presentation import SERIOUS_LISTED, instrument_sections

    render_practice_pdf(report, Audience.INSIDE)  # imports Pango and warms the font cache, once
    serious = len(report.safety["serious"])
    steps = sum(len(s.km) for s in report.summaries.values())
    table_rows = sum(len(sec.km_table) for sec in instrument_sections(report))
    figures = []
    for audience in (Audience.INSIDE, Audience.OUTSIDE):
        pdf = render_practice_pdf(report, audience)
        cpu = time.process_time()
        seconds = timed(lambda a=audience: render_practice_pdf(report, a), rounds=rounds)
        cpu = (time.process_time() - cpu) / rounds
        listed = (
            f"serious events listed {min(serious, SERIOUS_LISTED)} of {serious}, "
            f"Kaplan–Meier rows {table_rows} for {steps} steps"
            if audience == Audience.INSIDE
            else "no lists (counts only)"
        )
        note = f"{_pages(pdf)} pages, {len(pdf) / 1e3:.0f} kB, {cpu:.2f} s CPU per render; {listed}; {load()}"
        figures.append(_figure(f"practice PDF ({audience})", seconds, report.n_courses, note))
    return figures


def _export(kept) -> bytes:
    """The inside practice PDF as the export task makes it (reports.render.render_export), given
    `kept` (the page's count lookup, or None to count afresh)."""
    from django.utils import timezone

    from reports.models import Audience, ExportKind, OutcomeSettings, ReportExport
    from reports.render import render_export

    export = ReportExport(
        kind=ExportKind.PRACTICE_PDF,
        audience=Audience.INSIDE,
        filters={},
        suppression_threshold=OutcomeSettings.load().suppression_threshold,
    )
    return render_export(export, progress=lambda pct, note: None, now=timezone.now(), kept=kept)[2]


def run_end_to_end(*, rounds: int = 3) -> list[Figure]:
    """The practice PDF as the worker makes it for an export, inside audience, whole seconds end to
    end, two ways: from the count the report page keeps (the usual case: the lead reads the page,
    then exports; the export reads the same count while the record has not changed), and counting
    afresh (the first export after a change, before anyone opened the page); then the render alone
    for both audiences (run)."""
    from reports import services

    # Counted now: a count kept by an earlier run is older than an export may take
    # (EXPORT_REUSE_MAX_AGE). The count is also the report the render alone is timed on (run).
    report = count_as_a_worker(afresh=True).report

    def kept(filters):
        found = services.report_if_current(filters)
        if found is None:
            raise SystemExit("bench pdf: the page's count is not current; is something writing to this database?")
        return found

    figures = []
    for how, lookup in (("from the page's kept count", kept), ("counting afresh", None)):
        pdf = _export(lookup)  # imports Pango and warms the font cache, once
        cpu = time.process_time()
        seconds = timed(lambda lookup=lookup: _export(lookup), rounds=rounds)
        cpu = (time.process_time() - cpu) / rounds
        note = f"{_pages(pdf)} pages, {cpu:.2f} s CPU in this process (PostgreSQL's time not counted)"
        figures.append(_figure(f"practice PDF end to end (inside), {how}", seconds, report.n_courses, note))
    return [*figures, *run(report, rounds=rounds)]
