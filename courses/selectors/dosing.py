"""Dosing sessions and doses: one session or dose (audited), the session lists, the session and
dose pages and the API's answers for them, each in a fixed number of queries."""

from datetime import datetime, time, timedelta

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from courses import bedside
from courses.audit import audit_view, audit_views
from courses.models import (
    AdverseEvent,
    ClinicSettings,
    Course,
    Dose,
    DosingSession,
    HoldOverride,
    InSessionAlert,
    VitalReading,
    WeightMeasurement,
)
from courses.selectors.caseload import _get_or_404, courses_for, doses_for, dosing_sessions_for


def dosing_session_get(*, user, session_id, audit: bool = True) -> DosingSession:
    session = _get_or_404(
        dosing_sessions_for(user).select_related("medical_provider").prefetch_related("facilitators"), session_id
    )
    if audit:
        # A group session shows several patients: one audit row per patient read, in one INSERT.
        audit_views(
            actor=user,
            seen=[(p.course.patient, session) for p in session.doses.select_related("course__patient")],
        )
    return session


def dose_get(*, user, dose_id, audit: bool = True) -> Dose:
    dose = _get_or_404(
        doses_for(user).select_related("session", "course__patient", "course__medical_provider"),
        dose_id,
    )
    if audit:
        audit_view(actor=user, patient=dose.course.patient, record=dose)
    return dose


def minimum_monitoring(dose: Dose, settings: ClinicSettings | None = None) -> timedelta:
    """How long this dose is monitored before discharge (courses.bedside.monitoring_time)."""
    return bedside.monitoring_time(dose, settings)


# --- the web pages --------------------------------------------------------------------------------


def sessions_with_doses(sessions: QuerySet[DosingSession]) -> QuerySet[DosingSession]:
    """Sessions for a list or the today page, each with its active doses (`active_doses`)."""
    doses = Dose.objects.active().select_related("course__patient", "session", "weight_measurement")
    return (
        sessions.select_related("medical_provider")
        .prefetch_related("facilitators", Prefetch("doses", queryset=doses, to_attr="active_doses"))
        .order_by("starts_at")
    )


def session_doses(session: DosingSession) -> list[Dose]:
    """Every dose of a session (voided ones too) for its page, each with its readings (`all_vitals`)."""
    return list(
        session.doses.select_related("course__patient", "signed_by", "session", "weight_measurement").prefetch_related(
            Prefetch("vitals", queryset=VitalReading.objects.order_by("taken_at"), to_attr="all_vitals"),
        )
    )


def dose_candidate_courses(user, session: DosingSession) -> QuerySet[Course]:
    """The open courses of the caseload that may join this session (same format), each with the
    patient's latest recorded weight (`latest_weight`)."""
    latest_weight = (
        WeightMeasurement.objects.active().filter(patient=OuterRef("patient")).order_by("-measured_on", "-created_at")
    )
    return (
        courses_for(user)
        .open()
        .filter(format=session.format)
        .select_related("patient")
        .annotate(latest_weight=Subquery(latest_weight.values("weight_kg")[:1]))
        .order_by("patient__family_name", "patient__given_name")
    )


def dose_readings(dose: Dose) -> list[VitalReading]:
    """A dose's vital readings, newest first, with who took them."""
    return list(dose.vitals.select_related("created_by").order_by("-taken_at"))


def dose_adverse_events(dose: Dose) -> list[AdverseEvent]:
    """A dose's adverse events in onset order, with who acknowledged them."""
    return list(dose.adverse_events.select_related("acknowledged_by").order_by("onset_at"))


def dose_adverse_events_active(dose: Dose) -> list[AdverseEvent]:
    return list(dose.adverse_events.active())


def dose_alerts_closed(dose: Dose) -> list[InSessionAlert]:
    """A dose's in-session alerts already closed, with the reading, who closed them and the event named."""
    return list(
        InSessionAlert.objects.filter(dose=dose, closed_at__isnull=False)
        .select_related("reading", "closed_by", "adverse_event")
        .order_by("raised_at")
    )


def dose_hold_overrides(dose: Dose) -> QuerySet[HoldOverride]:
    """Every hold override of a dose, lapsed ones too (the record shows every decision)."""
    return dose.hold_overrides.select_related("reading", "overridden_by")


def in_session_alert_get(*, dose: Dose, alert_id) -> InSessionAlert:
    """One in-session alert of this dose (the dose is already on the caller's caseload), or 404."""
    return get_object_or_404(InSessionAlert, pk=alert_id, dose=dose)


# --- the API's answers ----------------------------------------------------------------------------


def sessions_with_counts(qs: QuerySet[DosingSession]) -> QuerySet[DosingSession]:
    # The count as a subquery per session shown, not a join grouped over every session: with the
    # join, a page of the list (and its row count) aggregated all 60,000 sessions of a large
    # practice before keeping 50.
    active = Dose.objects.filter(session=OuterRef("pk"), voided_at__isnull=True).order_by()
    counted = active.values("session").annotate(n=Count("pk")).values("n")[:1]
    return (
        qs.select_related("medical_provider", "signed_by")
        .prefetch_related("facilitators")
        .annotate(dose_count=Coalesce(Subquery(counted, output_field=IntegerField()), 0))
    )


def dosing_session_detail(session_id) -> DosingSession:
    """A session (already checked against the caseload) with its counts and every dose with what
    its state needs (courses.bedside.STATE_RELATIONS)."""
    return (
        sessions_with_counts(DosingSession.objects.filter(pk=session_id))
        .prefetch_related(
            Prefetch(
                "doses",
                queryset=Dose.objects.select_related(*bedside.STATE_RELATIONS),
            )
        )
        .get()
    )


DOSE_PREFETCH = (
    Prefetch("vitals", queryset=VitalReading.objects.all()),
    Prefetch("adverse_events", queryset=AdverseEvent.objects.select_related("acknowledged_by")),
    Prefetch("in_session_alerts", queryset=InSessionAlert.objects.select_related("closed_by")),
)


def dose_detail(dose_id) -> Dose:
    """A dose (already checked against the caseload) with its readings, events and alerts."""
    return (
        Dose.objects.select_related("signed_by", "session", "course__patient", "weight_measurement")
        .prefetch_related(*DOSE_PREFETCH)
        .get(pk=dose_id)
    )


def course_adverse_event(*, course_id, event_id) -> AdverseEvent | None:
    """An adverse event of this course named in a request body, or None."""
    return AdverseEvent.objects.filter(pk=event_id, course_id=course_id).first()


def dosing_sessions_list(*, user, day=None) -> QuerySet[DosingSession]:
    """The caseload's dosing sessions for the API's list (latest first), optionally those starting on one day."""
    qs = sessions_with_counts(dosing_sessions_for(user))
    if day is not None:
        # The clinic's day as a range of starts_at (what __date compares, in the current time
        # zone), so the index on starts_at finds it instead of every session's date being computed.
        start = datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone())
        qs = qs.filter(starts_at__gte=start, starts_at__lt=end)
    return qs.order_by("-starts_at", "id")


def dosing_sessions_by_day(*, user, start, end):
    """The session list: the caseload's sessions starting between `start` and `end` (the clinic's
    day), the next 50 after it, and those before it, latest first; each with its active doses."""
    sessions = dosing_sessions_for(user)
    today = sessions_with_doses(sessions.filter(starts_at__gte=start, starts_at__lt=end))
    upcoming = sessions_with_doses(sessions.filter(starts_at__gte=end))[:50]
    past = sessions_with_doses(sessions.filter(starts_at__lt=start)).order_by("-starts_at")
    return today, upcoming, past


def dosing_sessions_between(*, user, start, end) -> list[DosingSession]:
    """The caseload's sessions (not voided) starting between `start` and `end`, with their active doses."""
    return list(sessions_with_doses(dosing_sessions_for(user).active().filter(starts_at__gte=start, starts_at__lt=end)))
