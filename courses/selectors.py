"""Reads: who may see which record, and the querysets pages and the API are built from.

Every "get one record" goes through here so that a record outside the caller's caseload
is a 404 in the web UI and the API alike, and so that every read of a patient is audited.
"""

from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from courses import bedside, kinds
from courses.audit import audit_view, audit_views
from courses.choices import STILL_IN_SERIES
from courses.models import (
    AdverseEvent,
    Amendment,
    AuditEvent,
    ClinicSettings,
    Course,
    Dose,
    DosingSession,
    HoldOverride,
    InSessionAlert,
    Patient,
    VitalReading,
)


def _sees_everything(user) -> bool:
    return user.is_practice_lead


def courses_for(user) -> QuerySet[Course]:
    """Courses on the user's caseload: a therapist's own, a provider's assigned, a lead's all."""
    qs = Course.objects.all()
    if _sees_everything(user):
        return qs
    if user.is_therapist:
        return qs.filter(Exists(Course.therapists.through.objects.filter(course_id=OuterRef("pk"), user_id=user.pk)))
    if user.is_medical_provider:
        return qs.filter(medical_provider=user)
    return qs.none()


def patients_for(user) -> QuerySet[Patient]:
    qs = Patient.objects.all()
    if _sees_everything(user):
        return qs
    if not user.is_clinician:
        return qs.none()
    # A patient just registered, before any course, stays visible to whoever registered them;
    # once a course exists, the caseload decides.
    has_course = Exists(Course.objects.filter(patient=OuterRef("pk")))
    return qs.filter(
        Q(Exists(courses_for(user).filter(patient=OuterRef("pk")))) | (Q(created_by=user) & ~Q(has_course))
    )


def dosing_sessions_for(user) -> QuerySet[DosingSession]:
    qs = DosingSession.objects.all()
    if _sees_everything(user):
        return qs
    if user.is_therapist:
        return qs.filter(
            Exists(DosingSession.facilitators.through.objects.filter(dosingsession_id=OuterRef("pk"), user_id=user.pk))
        )
    if user.is_medical_provider:
        return qs.filter(medical_provider=user)
    return qs.none()


def doses_for(user) -> QuerySet[Dose]:
    """A dose is visible through its session (the people in the room) or its course."""
    if _sees_everything(user):
        return Dose.objects.all()
    return Dose.objects.filter(Q(session__in=dosing_sessions_for(user)) | Q(course__in=courses_for(user)))


def _get_or_404(qs: QuerySet, pk):
    try:
        return qs.get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError, ValidationError):
        # A malformed id is answered like a missing one: nothing to learn from the difference.
        raise Http404("No such record on your caseload.") from None


def patient_get(*, user, patient_id, audit: bool = True) -> Patient:
    patient = _get_or_404(patients_for(user), patient_id)
    if audit:
        audit_view(actor=user, patient=patient, record=patient)
    return patient


def course_get(*, user, course_id, audit: bool = True) -> Course:
    course = _get_or_404(
        courses_for(user).select_related("patient", "medical_provider").prefetch_related("therapists"), course_id
    )
    if audit:
        audit_view(actor=user, patient=course.patient, record=course)
    return course


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


def record_type_name(record) -> str:
    return kinds.of(record).slug


def record_patient(record) -> Patient | None:
    """The patient a record belongs to; None for a group session (it belongs to several)."""
    return kinds.record_patient(record) if kinds.is_kind(record) else None


def record_patients(record) -> list[Patient]:
    """Every patient a record belongs to: several for a group session."""
    return kinds.record_patients(record) if kinds.is_kind(record) else []


def caseload_for(user) -> kinds.Caseload:
    return kinds.Caseload(
        user=user,
        patients=patients_for(user),
        courses=courses_for(user),
        dosing_sessions=dosing_sessions_for(user),
        doses=doses_for(user),
    )


def record_get(*, user, record_type: str, record_id, audit: bool = True):
    """Any record by its kind's slug, within the user's caseload, or 404."""
    kind = kinds.by_slug(record_type)
    if kind is None:
        raise Http404("No such record type.")
    record = _get_or_404(kind.scope(caseload_for(user)), record_id)
    if audit:
        for patient in record_patients(record):
            audit_view(actor=user, patient=patient, record=record)
    return record


def amendments_for(records) -> dict:
    """Amendments keyed by record id, in one query, for showing beside the originals."""
    ids = [r.pk for r in records]
    by_record: dict = {}
    for amendment in Amendment.objects.filter(record_id__in=ids).select_related("amended_by"):
        by_record.setdefault(amendment.record_id, []).append(amendment)
    return by_record


def course_timeline_data(course: Course) -> dict:
    """Everything on a course's timeline, in a fixed number of queries whatever its length."""
    vitals = Prefetch("vitals", queryset=VitalReading.objects.select_related("created_by", "voided_by"))
    events = Prefetch(
        "adverse_events", queryset=AdverseEvent.objects.select_related("acknowledged_by", "created_by", "voided_by")
    )
    doses = list(
        course.doses.select_related(
            "session",
            "signed_by",
            "created_by",
            "voided_by",
            "session__medical_provider",
            "session__voided_by",
            "course__patient",
            "weight_measurement",
        )
        .prefetch_related(
            vitals,
            events,
            "session__facilitators",
            Prefetch("hold_overrides", queryset=HoldOverride.objects.select_related("overridden_by", "reading")),
            Prefetch("in_session_alerts", queryset=InSessionAlert.objects.select_related("closed_by")),
        )
        .order_by("session__starts_at")
    )
    data = {
        "medical_evaluations": list(course.medical_evaluations.select_related("signed_by", "created_by", "voided_by")),
        "psychiatric_evaluations": list(
            course.psychiatric_evaluations.select_related("signed_by", "created_by", "voided_by")
        ),
        "preparatory_sessions": list(course.preparatory_sessions.select_related("therapist", "signed_by", "voided_by")),
        "integration_sessions": list(
            course.integration_sessions.select_related("therapist", "signed_by", "voided_by").prefetch_related(
                "courses"
            )
        ),
        "doses": doses,
        "status_changes": list(course.status_changes.select_related("changed_by")),
        # Reported outside a dosing session (at integration, by phone): on the course itself.
        "course_adverse_events": list(
            course.adverse_events.filter(dose__isnull=True).select_related("acknowledged_by", "created_by", "voided_by")
        ),
    }
    records = [r for key in data if key != "status_changes" for r in data[key]]
    records += [v for d in doses for v in d.vitals.all()] + [e for d in doses for e in d.adverse_events.all()]
    data["adverse_events"] = [e for d in doses for e in d.adverse_events.all()] + data["course_adverse_events"]
    records += list({d.session.pk: d.session for d in doses}.values())
    data["amendments"] = amendments_for(records)
    return data


def audit_trail_for_patient(patient: Patient) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(patient=patient).select_related("actor")


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


def minimum_monitoring(dose: Dose, settings: ClinicSettings | None = None) -> timedelta:
    """How long this dose is monitored before discharge (courses.bedside.monitoring_time)."""
    return bedside.monitoring_time(dose, settings)


def stalled_courses(courses: QuerySet[Course], *, today: date, stall_after_days: int) -> QuerySet[Course]:
    """Courses still in their induction series with no dose for more than `stall_after_days`
    days (DOMAIN §6), annotated with `last_dose_at` and `doses_given`, oldest stall first.

    The SQL form of measures.schedule.course_end's "stalled" (a test holds the two together):
    the worklist and the nightly schedule sync read it, the report applies the function."""
    induction = Q(
        doses__dosed_at__isnull=False,
        doses__voided_at__isnull=True,
        doses__session__voided_at__isnull=True,
        doses__is_maintenance=False,
    )
    # Stalled when (today - last dose day) > limit, i.e. the last dose was before this local midnight.
    before = datetime.combine(
        today - timedelta(days=stall_after_days), time.min, tzinfo=timezone.get_current_timezone()
    )
    return (
        courses.filter(voided_at__isnull=True, status__in=STILL_IN_SERIES)
        .annotate(last_dose_at=Max("doses__dosed_at", filter=induction), doses_given=Count("doses", filter=induction))
        .filter(last_dose_at__lt=before, doses_given__lt=F("planned_dosing_sessions"))
        .order_by("last_dose_at")
    )
