"""The practice lead's safety dashboard, and the serious events waiting for a lead."""

from django.db.models import Count, QuerySet

from courses.models import AdverseEvent, Course, Dose, HoldOverride, InSessionAlert, VitalReading

RECENT = 20


def serious_events_unacknowledged() -> QuerySet[AdverseEvent]:
    return AdverseEvent.objects.serious_unacknowledged().select_related("course__patient", "dose__session")


def serious_events_awaiting_notification():
    """Serious events whose mail to the leads has not gone out yet (oldest first)."""
    return (
        AdverseEvent.objects.active()
        .filter(serious=True, lead_notified_at__isnull=True)
        .order_by("created_at")
        .values_list("pk", flat=True)
    )


def course_stage_counts() -> dict:
    """How many courses (not voided) are at each status: {status: n}."""
    return dict(Course.objects.active().values_list("status").annotate(n=Count("pk")).values_list("status", "n"))


def vital_alerts_recent(limit: int = RECENT) -> list[VitalReading]:
    """The latest alerting vital readings, newest first."""
    return list(
        VitalReading.objects.active()
        .exclude(alerts=[])
        .select_related("dose__course__patient", "dose__session")
        .order_by("-taken_at")[:limit]
    )


def hold_overrides_recent(limit: int = RECENT) -> QuerySet[HoldOverride]:
    """The latest hold overrides of doses not voided, newest first."""
    return (
        HoldOverride.objects.filter(dose__voided_at__isnull=True)
        .select_related("dose__course__patient", "overridden_by", "reading")
        .order_by("-overridden_at")[:limit]
    )


def discharge_exceptions_recent(limit: int = RECENT) -> QuerySet[Dose]:
    """The latest doses discharged by exception (or left before discharge), newest first."""
    return (
        Dose.objects.active()
        .exclude(discharge_exception_reason="")
        .select_related("course__patient", "discharged_by")
        .order_by("-discharged_at")[:limit]
    )


def in_session_alerts_open(limit: int = RECENT) -> list[InSessionAlert]:
    """In-session vital-sign alerts still open on doses not voided, oldest first."""
    return list(
        InSessionAlert.objects.open()
        .filter(dose__voided_at__isnull=True)
        .select_related("dose__course__patient", "reading")
        .order_by("raised_at")[:limit]
    )
