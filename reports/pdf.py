"""The PDFs: the practice outcome report (no patient identifiers) and one patient's progress report.

HTML from Django templates (autoescaped: free text is never marked safe) laid out by WeasyPrint
with the print stylesheet read from disk, so nothing is fetched over the network. Charts are
inline SVG with presentation attributes, drawn from the same geometry as on screen.
"""

from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from courses.choices import AdverseEventTerm
from courses.models import AdverseEvent, ClinicSettings, Course
from kernel import clock
from measures.charts import chart_geometry, date_domain
from measures.selectors import chart_series
from reports.models import Audience
from reports.presentation import report_context
from reports.report import PracticeReport

# The severity bands' shades, as on screen (static/css/kapclinic.css, .band-*): presentation
# attributes here, since the PDF's SVG does not read the page's stylesheet.
BAND_FILLS = {
    "phq9": ("#eef6ee", "#f7f3dc", "#fbe7cc", "#f8d6c8", "#f2c2bd"),
    "gad7": ("#eef6ee", "#f7f3dc", "#fbe7cc", "#f8d6c8"),
    "pcl5": ("#f2c2bd",),
}
PRINT_CSS = Path(settings.BASE_DIR) / "static" / "css" / "report-print.css"


@cache
def _print_css() -> str:
    return PRINT_CSS.read_text(encoding="utf-8")


def _write_pdf(html: str) -> bytes:
    # imported here: loading Pango costs time the web process need not spend
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # The documents link nothing (the stylesheet is inline, fonts come from the system), so the
    # fetcher allows no protocol at all: should markup ever slip through the escaping, an
    # <img src="http://..."> or a file:// URL is skipped, never requested or read.
    fetcher = URLFetcher(allowed_protocols=frozenset())
    return HTML(string=html, base_url=str(settings.BASE_DIR), url_fetcher=fetcher).write_pdf()


def render_practice_pdf(
    report: PracticeReport, audience: str = Audience.OUTSIDE, *, made_at: datetime | None = None
) -> bytes:
    """`made_at`: when the file is made (default: when its figures were counted). A file made
    from the count the report page keeps says how many minutes before the file it was counted."""
    made_at = report.generated_at if made_at is None else made_at
    context = report_context(report, export=True, audience=audience) | {
        "css": _print_css(),
        "prefix": "",
        "made_at": made_at,
        # Said as minutes, not as a second clock time: one hour a year the clock reads the same twice.
        "counted_minutes_earlier": int((made_at - report.generated_at) / timedelta(minutes=1)),
    }
    return _write_pdf(render_to_string("reports/pdf/practice.html", context))


def patient_report_context(course: Course, *, now: datetime) -> dict:
    """Everything the progress report prints about one course: its patient, care team, scores
    with their charts, sessions, doses and adverse events. A few queries, none per record."""
    course = (
        Course.objects.select_related("patient", "medical_provider").prefetch_related("therapists").get(pk=course.pk)
    )
    series, doses = chart_series(course)
    days = [p.day for s in series for p in s.points] + [d.day for d in doses]
    domain = date_domain(days) if days else None
    charts = []
    for s in series:
        chart = chart_geometry(points=s.points, doses=doses, y_max=s.y_max, bands=s.bands, domain=domain)
        fills = BAND_FILLS.get(s.instrument, ())
        bands = [(b, fills[b.index] if b.index < len(fills) else "#eef3f5") for b in chart.bands]
        charts.append({"series": s, "chart": chart, "bands": bands})
    given = list(
        course.doses.active()
        .filter(session__voided_at__isnull=True)
        .select_related("session__medical_provider")
        .order_by("session__starts_at")
    )
    doses_given = [d for d in given if d.dosed_at]
    events = list(
        AdverseEvent.objects.active()
        .filter(course=course)
        .exclude(dose__voided_at__isnull=False)
        .select_related("dose__session")
        .order_by("onset_at")
    )
    for event in events:
        event.term_words = event.term_other if event.term == AdverseEventTerm.OTHER else event.get_term_display()
    sessions = [
        ("Preparation", s.held_at, s.duration_minutes, str(s.therapist))
        for s in (
            course.preparatory_sessions.filter(voided_at__isnull=True).select_related("therapist").order_by("held_at")
        )
    ]
    sessions += [
        (
            "Dosing" + (" (maintenance)" if d.is_maintenance else ""),
            d.dosed_at or d.session.starts_at,
            None,
            str(d.session.medical_provider),
        )
        for d in given
    ]
    sessions += [
        ("Integration", s.held_at, s.duration_minutes, str(s.therapist))
        for s in (
            course.integration_sessions.filter(voided_at__isnull=True).select_related("therapist").order_by("held_at")
        )
    ]
    sessions.sort(key=lambda row: row[1])
    return {
        "clinic": ClinicSettings.load().clinic_name,
        "course": course,
        "patient": course.patient,
        "therapists": list(course.therapists.all()),
        "charts": charts,
        "doses": given,
        "doses_given": doses_given,
        "first_dose": min((d.dosed_at for d in doses_given), default=None),
        "last_dose": max((d.dosed_at for d in doses_given), default=None),
        "sessions": sessions,
        "events": events,
        "generated_at": timezone.localtime(now),
        "css": _print_css(),
    }


def render_patient_pdf(course: Course, *, now: datetime | None = None) -> bytes:
    context = patient_report_context(course, now=clock.now(now))
    return _write_pdf(render_to_string("reports/pdf/patient.html", context))
