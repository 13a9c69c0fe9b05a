"""Reads of the measures for the staff pages: scoped to the caller's caseload, bounded in queries.

Each list is one query (plus, at most, one count when it is cut short), whatever the size of
the caseload. Showing safety alerts to someone is audited here, where they are read, in one insert.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from courses.audit import audit_view, audit_views
from courses.models import Course
from courses.selectors import courses_for, stalled_courses
from measures.charts import BandSpec, DoseMark, ScorePoint
from measures.instruments import INSTRUMENTS, Instrument
from measures.models import (
    FOLLOW_UP_TIMEPOINTS,
    Administration,
    AdministrationStatus,
    MeasureSettings,
    MessageStatus,
    OutboundMessage,
    Response,
    SafetyAlert,
)

BANNER_LIMIT = 10
ACKNOWLEDGED_DAYS = 14
WORKLIST_LIMIT = 100


def _get_or_404(qs: QuerySet, pk):
    try:
        return qs.get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("No such record on your caseload.") from None


def administrations_for(user) -> QuerySet[Administration]:
    return Administration.objects.filter(course__in=courses_for(user))


def safety_alerts_for(user) -> QuerySet[SafetyAlert]:
    return SafetyAlert.objects.filter(course__in=courses_for(user))


def messages_for(user) -> QuerySet[OutboundMessage]:
    courses = courses_for(user)
    return OutboundMessage.objects.filter(Q(administration__course__in=courses) | Q(safety_alert__course__in=courses))


def administration_get(*, user, administration_id, audit: bool = True) -> Administration:
    administration = _get_or_404(
        administrations_for(user).select_related("course__patient", "response__entered_by"), administration_id
    )
    if audit:
        audit_view(actor=user, patient=administration.course.patient, record=administration)
    return administration


def safety_alert_get(*, user, alert_id) -> SafetyAlert:
    return _get_or_404(safety_alerts_for(user).select_related("course__patient"), alert_id)


def message_get(*, user, message_id) -> OutboundMessage:
    return _get_or_404(messages_for(user), message_id)


def _scoped_get(qs: QuerySet, pk):
    """The API's "one of the caseload or 404": an id out of range is a miss too."""
    try:
        return qs.get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, OverflowError):
        raise Http404("No such record on your caseload.") from None


def administration_scoped(*, user, administration_id) -> Administration:
    """One administration of the caller's caseload, with its course and patient, for a write (not audited)."""
    return _scoped_get(administrations_for(user).select_related("course__patient"), administration_id)


def administration_detail(administration_id) -> Administration:
    """An administration as the API answers it, with its response and any safety alert."""
    return Administration.objects.select_related("response__safety_alert").get(pk=administration_id)


def response_detail(response_id) -> Response:
    """A response as the API answers it, with who entered it, its administration and any safety alert."""
    return Response.objects.select_related("entered_by", "administration", "safety_alert").get(pk=response_id)


def course_administrations(course: Course) -> QuerySet[Administration]:
    """Every administration of a course, with its response and any safety alert."""
    return course.administrations.select_related("response__safety_alert")


def course_responses(course: Course) -> QuerySet[Response]:
    """Every response of a course, with who entered it, its administration and any safety alert."""
    return course.responses.select_related("entered_by", "administration", "safety_alert")


def safety_alerts_open(user) -> QuerySet[SafetyAlert]:
    """The caseload's safety alerts not yet acknowledged, with the course and who acknowledged."""
    return SafetyAlert.objects.filter(acknowledged_at__isnull=True, course__in=courses_for(user)).select_related(
        "course", "acknowledged_by"
    )


def safety_alert_scoped(*, user, alert_id) -> SafetyAlert:
    """One safety alert of the caller's caseload, for a write."""
    return _scoped_get(safety_alerts_for(user), alert_id)


def safety_alert_detail(alert_id) -> SafetyAlert:
    """A safety alert as the API answers it, with its course and who acknowledged it."""
    return SafetyAlert.objects.select_related("course", "acknowledged_by").get(pk=alert_id)


def messages_with_links(user) -> QuerySet[OutboundMessage]:
    """The caseload's messages with the administration or safety alert each one is about."""
    return messages_for(user).select_related("administration", "safety_alert")


def message_scoped(*, user, message_id) -> OutboundMessage:
    """One message of the caller's caseload, for a write."""
    return _scoped_get(messages_with_links(user), message_id)


def safety_alerts_shown(*, user, course: Course | None = None, limit: int = BANNER_LIMIT) -> tuple[list, int]:
    """Open safety alerts of the user's caseload (or of one course) for a banner, and how many
    there are in all. Each one shown is audited: who saw it, and when."""
    qs = safety_alerts_for(user).filter(acknowledged_at__isnull=True)
    if course is not None:
        qs = qs.filter(course=course)
    alerts = list(qs.select_related("course__patient", "response__administration").order_by("raised_at")[: limit + 1])
    total = len(alerts) if len(alerts) <= limit else qs.count()
    alerts = alerts[:limit]
    if alerts:
        audit_views(actor=user, seen=[(a.course.patient, a) for a in alerts], detail="safety alert shown")
    return alerts, total


def safety_alerts_of_course(course: Course) -> list[SafetyAlert]:
    """Every PHQ-9 item 9 alert of a course, newest first, with who acknowledged it, when and
    what was done: shown beside the course's record (the timeline, the bedside)."""
    return list(
        SafetyAlert.objects.filter(course=course)
        .select_related("acknowledged_by", "response__administration")
        .order_by("-raised_at")
    )


def messages_undelivered(user) -> dict[str, int]:
    """For the lead's dashboard: messages given up after every retry (they wait for staff) and
    messages past their quick retries that the send sweep is still trying (a mail outage)."""
    mine = messages_for(user)
    return {
        "failed": mine.filter(status=MessageStatus.FAILED).count(),
        "retrying": mine.filter(status=MessageStatus.PENDING, next_attempt_at__isnull=False).count(),
    }


def escalated_safety_alerts(limit: int = BANNER_LIMIT) -> list[SafetyAlert]:
    """Item 9 alerts still unacknowledged after the clinic's time, sent on to the practice leads."""
    return list(
        SafetyAlert.objects.filter(acknowledged_at__isnull=True, escalated_at__isnull=False)
        .select_related("course__patient")
        .order_by("raised_at")[:limit]
    )


def course_questionnaires(course: Course) -> list[Administration]:
    """Every administration of a course with its answers, who entered them and any alert: one query."""
    rows = list(
        course.administrations.select_related(
            "response__entered_by", "response__safety_alert__acknowledged_by", "waived_by"
        ).order_by("target_date", "instrument", "created_at")
    )
    for row in rows:
        # Reverse one-to-ones raise when absent; the template wants None.
        row.response_or_none = getattr(row, "response", None)
        if row.response_or_none is not None:
            row.response_or_none.safety_alert_or_none = getattr(row.response_or_none, "safety_alert", None)
    return rows


@dataclass
class Worklist:
    today: date
    alerts: list = field(default_factory=list)
    alerts_total: int = 0
    acknowledged: list = field(default_factory=list)
    due_today: list = field(default_factory=list)
    overdue: list = field(default_factory=list)
    escalated: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    waiting: list = field(default_factory=list)
    stalled: list = field(default_factory=list)
    stall_after_days: int = 28
    totals: dict = field(default_factory=dict)


def _capped(qs: QuerySet, limit: int) -> tuple[list, int]:
    rows = list(qs[: limit + 1])
    if len(rows) <= limit:
        return rows, len(rows)
    return rows[:limit], qs.count()


def worklist_for(*, user, now: datetime | None = None, limit: int = WORKLIST_LIMIT) -> Worklist:
    """What needs a clinician today across the user's caseload (a lead's: the clinic's)."""
    today = timezone.localdate(now)
    in_care = courses_for(user).filter(voided_at__isnull=True)
    administrations = Administration.objects.filter(course__in=in_care).select_related("course__patient")
    open_ = administrations.filter(status=AdministrationStatus.OPEN)
    result = Worklist(today=today)
    result.alerts, result.alerts_total = safety_alerts_shown(user=user, limit=limit)
    # The loop closed: who acknowledged each recent alert, when, and what was done (last 14 days).
    result.acknowledged = list(
        safety_alerts_for(user)
        .filter(acknowledged_at__gte=(now or timezone.now()) - timedelta(days=ACKNOWLEDGED_DAYS))
        .select_related("course__patient", "acknowledged_by")
        .order_by("-acknowledged_at")[:limit]
    )
    result.due_today, result.totals["due_today"] = _capped(open_.filter(due_by=today).order_by("missed_after"), limit)
    result.overdue, result.totals["overdue"] = _capped(
        open_.filter(due_by__lt=today, missed_after__gte=today).order_by("missed_after", "due_by"), limit
    )
    result.escalated, result.totals["escalated"] = _capped(
        administrations.filter(
            status=AdministrationStatus.MISSED, timepoint__in=FOLLOW_UP_TIMEPOINTS, escalated_at__isnull=False
        ).order_by("-escalated_at"),
        limit,
    )
    messages = (
        messages_for(user)
        .select_related("administration__course__patient", "safety_alert__course__patient", "recipient")
        .order_by("created_at", "id")
    )
    # Courses that stopped dosing without being closed: resume them or close them with a reason.
    result.stall_after_days = MeasureSettings.load().stall_after_days
    result.stalled, result.totals["stalled"] = _capped(
        stalled_courses(in_care, today=today, stall_after_days=result.stall_after_days).select_related("patient"),
        limit,
    )
    for course in result.stalled:
        course.days_without_dose = (today - timezone.localdate(course.last_dose_at)).days
    result.failed, result.totals["failed"] = _capped(messages.filter(status=MessageStatus.FAILED), limit)
    result.waiting, result.totals["waiting"] = _capped(
        messages.filter(status__in=[MessageStatus.PENDING, MessageStatus.SENDING]), limit
    )
    return result


@dataclass
class InstrumentSeries:
    instrument: str
    name: str
    title: str
    y_max: int
    bands: list[BandSpec]
    points: list[ScorePoint]
    responses: list


def chart_series(course: Course) -> tuple[list[InstrumentSeries], list[DoseMark]]:
    """Per instrument with complete responses: the scores by local day; and the doses given."""
    cutoff = MeasureSettings.load().pcl5_cutoff
    responses = list(
        Response.objects.filter(course=course, complete=True)
        .select_related("administration", "entered_by")
        .order_by("answered_at")
    )
    series = []
    for code in Instrument.values:
        mine = [r for r in responses if r.instrument == code]
        if not mine:
            continue
        definition = INSTRUMENTS[code]
        if definition.bands:
            bands = [BandSpec(b.low, b.high, b.label) for b in definition.bands]
        else:
            bands = [BandSpec(cutoff, definition.max_total, f"Provisional PTSD (≥ {cutoff})")]
        for r in mine:
            r.local_day = timezone.localdate(r.answered_at)
        series.append(
            InstrumentSeries(
                instrument=code,
                name=definition.name,
                title=definition.title,
                y_max=definition.max_total,
                bands=bands,
                points=[ScorePoint(r.local_day, r.total) for r in mine],
                responses=mine,
            )
        )
    doses = [
        DoseMark(timezone.localdate(p.dosed_at), p.is_maintenance)
        for p in course.doses.active().filter(dosed_at__isnull=False, session__voided_at__isnull=True)
    ]
    return series, doses
