"""The questionnaire schedule of a course: planning it from the course's events (schedule_sync),
and the clinicians' per-course adjustments (adjust, cancel, waive, add).
"""

from datetime import date, datetime

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from courses.audit import audit
from courses.choices import CLOSED_STATUSES, CourseStatus
from courses.models import AuditAction, Course
from kernel import clock
from kernel.text import REASON_MAX
from kernel.validation import fail, required_text
from measures.instruments import INSTRUMENTS, Instrument
from measures.models import Administration, AdministrationStatus, MeasureSettings, Response, Timepoint
from measures.schedule import CourseFacts, DoseFact, ScheduleRules, plan
from measures.services.base import ACTIVE, _require_clinician_on_course

MAX_WINDOW_DAYS = 120


def schedule_rules(settings_row: MeasureSettings | None = None) -> ScheduleRules:
    s = settings_row or MeasureSettings.load()
    return ScheduleRules(
        instruments_by_timepoint=s.instruments_by_timepoint,
        baseline_days_before_first_dose=s.baseline_days_before_first_dose,
        pre_dose_min_interval_days=s.pre_dose_min_interval_days,
        pre_dose_open_days_before=s.pre_dose_open_days_before,
        end_of_course_first_day=s.end_of_course_first_day,
        end_of_course_last_day=s.end_of_course_last_day,
        month_1_day=s.month_1_day,
        month_1_tolerance=s.month_1_tolerance,
        month_3_day=s.month_3_day,
        month_3_tolerance=s.month_3_tolerance,
        month_6_day=s.month_6_day,
        month_6_tolerance=s.month_6_tolerance,
        pcl5_cutoff=s.pcl5_cutoff,
        stall_after_days=s.stall_after_days,
    )


def course_facts(course: Course, today: date | None = None) -> CourseFacts:
    doses = tuple(
        DoseFact(
            dose_id=p.pk,
            session_date=timezone.localdate(p.dosed_at or p.session.starts_at),
            given=p.dosed_at is not None,
            maintenance=p.is_maintenance,
        )
        for p in course.doses.active().filter(session__voided_at__isnull=True).select_related("session")
    )
    baseline_pcl5 = (
        Response.objects.filter(
            course=course, instrument=Instrument.PCL5, administration__timepoint=Timepoint.BASELINE, complete=True
        )
        .values_list("total", flat=True)
        .first()
    )
    return CourseFacts(
        opened_on=course.started_on,
        indication=course.indication,
        status=course.status,
        planned_dosing_sessions=course.planned_dosing_sessions,
        doses=doses,
        baseline_pcl5_total=baseline_pcl5,
        as_of=today or timezone.localdate(),
        follow_up_stopped=course.follow_up_stopped_at is not None,
    )


@transaction.atomic
def schedule_sync(*, course: Course, now: datetime | None = None) -> dict[str, int]:
    """Bring a course's administrations in line with its events: create what is missing, move
    dates that hang on events, cancel what no longer applies. Safe to run any number of times."""
    now = clock.now(now)
    course = Course.objects.select_for_update().get(pk=course.pk)
    counts = {"created": 0, "moved": 0, "cancelled": 0, "closed": 0}
    given = set()
    if course.is_voided:
        slots = []
        why = "course voided"
    else:
        facts = course_facts(course, timezone.localdate(now))
        given = {d.dose_id for d in facts.doses if d.given}
        slots = plan(facts, schedule_rules())
        why = (
            ("follow-up stopped" if course.follow_up_stopped_at else "course discontinued")
            if course.status == CourseStatus.DISCONTINUED
            else "no longer on the schedule"
        )
    wanted = {s.key: s for s in slots}
    existing = {
        (a.instrument, a.timepoint, a.dose_id): a for a in course.administrations.exclude(timepoint=Timepoint.AD_HOC)
    }
    today = timezone.localdate(now)
    for key, slot in wanted.items():
        row = existing.get(key)
        if row is None:
            if slot.missed_after < today or slot.dose_id in given:
                # A window that closed before the event that creates it (a late entry, a
                # settings change), or a "before dosing" one whose dose was already given, was
                # never on the schedule: it is not "missed", it never was due.
                continue
            try:
                with transaction.atomic():
                    Administration.objects.create(
                        course=course,
                        instrument=slot.instrument,
                        timepoint=slot.timepoint,
                        dose_id=slot.dose_id,
                        target_date=slot.target,
                        open_from=slot.open_from,
                        due_by=slot.due_by,
                        missed_after=slot.missed_after,
                        created_at=now,
                    )
                counts["created"] += 1
            except IntegrityError:
                pass  # made by a concurrent sync: the constraint keeps it single
            continue
        dates = (slot.target, slot.open_from, slot.due_by, slot.missed_after)
        if (
            row.status in ACTIVE
            and not row.manually_adjusted
            and dates
            != (
                row.target_date,
                row.open_from,
                row.due_by,
                row.missed_after,
            )
        ):
            row.target_date, row.open_from, row.due_by, row.missed_after = dates
            row.save(update_fields=["target_date", "open_from", "due_by", "missed_after"])
            counts["moved"] += 1
    # A questionnaire "before dosing" closes when its dose is given: answers after that moment would
    # be read as the patient's state before the dose. Still scheduled or open, it is missed then:
    # its link stops at once, and a paper form answered before the dose is entered with its time
    # (response_enter refuses a time after the dose).
    closing = [
        a.pk
        for a in existing.values()
        if a.timepoint == Timepoint.PRE_DOSE and a.dose_id in given and a.status in ACTIVE
    ]
    if closing:
        counts["closed"] = Administration.objects.filter(pk__in=closing, status__in=ACTIVE).update(
            status=AdministrationStatus.MISSED, missed_at=now
        )
    stale = [a.pk for key, a in existing.items() if key not in wanted and a.status in ACTIVE]
    if stale:
        counts["cancelled"] = Administration.objects.filter(pk__in=stale, status__in=ACTIVE).update(
            status=AdministrationStatus.CANCELLED, cancelled_at=now, cancelled_reason=why
        )
    return counts


def _check_window(target: date, open_from: date, due_by: date, missed_after: date) -> None:
    if not open_from <= due_by <= missed_after:
        fail("due_by", "The window must run open-from ≤ due-by ≤ last day.")
    if not open_from <= target <= missed_after:
        fail("target_date", "The target date must lie inside the window.")
    if (missed_after - open_from).days > MAX_WINDOW_DAYS:
        fail("missed_after", f"A window is at most {MAX_WINDOW_DAYS} days long; split it into two administrations.")


@transaction.atomic
def administration_adjust(
    *,
    administration: Administration,
    by: User,
    reason: str,
    target_date: date,
    open_from: date,
    due_by: date,
    missed_after: date,
    now: datetime | None = None,
) -> Administration:
    """Move one administration's window for this course only; events no longer move it."""
    now = clock.now(now)
    administration = Administration.objects.select_for_update().select_related("course").get(pk=administration.pk)
    _require_clinician_on_course(by, administration.course, "adjust the schedule")
    if administration.status not in ACTIVE:
        fail(NON_FIELD_ERRORS, f"A {administration.get_status_display().lower()} administration cannot be moved.")
    reason = required_text("reason", reason, "Say why the schedule changes for this course.", REASON_MAX)
    _check_window(target_date, open_from, due_by, missed_after)
    if missed_after < timezone.localdate(now):
        fail("missed_after", "The window would already be closed: choose a last day from today on.")
    administration.target_date, administration.open_from = target_date, open_from
    administration.due_by, administration.missed_after = due_by, missed_after
    administration.manually_adjusted = True
    administration.adjustment_reason = reason
    administration.save()
    audit(
        actor=by,
        action=AuditAction.UPDATE,
        patient=administration.course.patient,
        record=administration,
        detail=f"window {open_from}–{missed_after}",
        at=now,
    )
    return administration


@transaction.atomic
def administration_cancel(
    *, administration: Administration, by: User, reason: str, now: datetime | None = None
) -> Administration:
    now = clock.now(now)
    administration = Administration.objects.select_for_update().select_related("course").get(pk=administration.pk)
    _require_clinician_on_course(by, administration.course, "cancel a questionnaire")
    if administration.status not in ACTIVE:
        fail(NON_FIELD_ERRORS, f"This administration is already {administration.get_status_display().lower()}.")
    if administration.timepoint == Timepoint.BASELINE:
        # The first dose waits for the baseline; going without one is a waiver, shown on the report.
        fail(NON_FIELD_ERRORS, "A baseline questionnaire is not cancelled: waive it, with the reason, instead.")
    reason = required_text("reason", reason, "Say why this questionnaire is cancelled.", REASON_MAX)
    return _close(
        administration,
        ACTIVE,
        {"status": AdministrationStatus.CANCELLED, "cancelled_at": now, "cancelled_reason": reason},
        by=by,
        now=now,
        detail="cancelled",
    )


def _close(administration: Administration, from_statuses, values: dict, *, by: User, now: datetime, detail: str):
    """Claim the administration out of `from_statuses` (once: a second click finds it gone), then
    audit what was done."""
    claimed = Administration.objects.filter(pk=administration.pk, status__in=from_statuses).update(**values)
    if not claimed:
        fail(NON_FIELD_ERRORS, f"This questionnaire is already {administration.get_status_display().lower()}.")
    administration.refresh_from_db()
    audit(
        actor=by,
        action=AuditAction.UPDATE,
        patient=administration.course.patient,
        record=administration,
        detail=detail,
        at=now,
    )
    return administration


WAIVABLE = (AdministrationStatus.SCHEDULED, AdministrationStatus.OPEN, AdministrationStatus.MISSED)


@transaction.atomic
def administration_waive(
    *, administration: Administration, by: User, reason: str, now: datetime | None = None
) -> Administration:
    """A clinician decides the course goes ahead without this baseline questionnaire, and says
    why. The first dose no longer waits for it; the report counts the course as 'baseline waived'."""
    now = clock.now(now)
    administration = Administration.objects.select_for_update().select_related("course").get(pk=administration.pk)
    if not by.is_clinician:
        raise PermissionDenied("Only a therapist or medical provider of the course can waive a baseline.")
    _require_clinician_on_course(by, administration.course, "waive a baseline questionnaire")
    if administration.timepoint != Timepoint.BASELINE:
        fail(NON_FIELD_ERRORS, "Only a baseline questionnaire is waived; cancel other questionnaires instead.")
    reason = required_text(
        "reason",
        reason,
        "Say why the course goes ahead without this baseline (the patient could not answer before the first dose…).",
        REASON_MAX,
    )
    values = {"status": AdministrationStatus.WAIVED, "waived_at": now, "waived_by": by, "waived_reason": reason}
    waivable = WAIVABLE
    if Response.objects.filter(administration=administration, complete=False).exists():
        # Answered with items missing: the answers stay, but the course has no scorable baseline.
        waivable = (*WAIVABLE, AdministrationStatus.COMPLETED)
    return _close(administration, waivable, values, by=by, now=now, detail="baseline waived")


@transaction.atomic
def administration_add(
    *, course: Course, by: User, instrument: str, open_from: date, missed_after: date, now: datetime | None = None
) -> Administration:
    """An additional questionnaire for one course, outside the clinic's schedule."""
    now = clock.now(now)
    _require_clinician_on_course(by, course, "add a questionnaire")
    if course.is_voided or course.status in CLOSED_STATUSES:
        fail("course", "This course is closed.")
    if instrument not in INSTRUMENTS:
        fail("instrument", f"Choose one of: {', '.join(INSTRUMENTS)}.")
    if missed_after < open_from:
        fail("missed_after", "The last day must be on or after the first day.")
    if (missed_after - open_from).days > MAX_WINDOW_DAYS:
        fail("missed_after", f"A window is at most {MAX_WINDOW_DAYS} days long.")
    if missed_after < timezone.localdate(now):
        fail("missed_after", "The last day cannot be in the past.")
    administration = Administration.objects.create(
        course=course,
        instrument=instrument,
        timepoint=Timepoint.AD_HOC,
        target_date=open_from,
        open_from=open_from,
        # Due at the end of its window: an added questionnaire is not overdue the day after it opens.
        due_by=missed_after,
        missed_after=missed_after,
        manually_adjusted=True,
        adjustment_reason="added for this course",
        created_at=now,
    )
    audit(actor=by, action=AuditAction.CREATE, patient=course.patient, record=administration, at=now)
    return administration


def _courses_in_care():
    """Courses whose questionnaires still go out: a discontinued course's follow-ups do, unless
    staff stopped them."""
    return Course.objects.filter(voided_at__isnull=True).exclude(
        status=CourseStatus.DISCONTINUED, follow_up_stopped_at__isnull=False
    )


def schedule_sync_stalled(*, now: datetime | None = None) -> int:
    """Re-plan courses that stalled (DOMAIN §6): their follow-up questionnaires are planned from
    their last dose. Beat runs this daily; a stall is a matter of days, and the sync is idempotent."""
    from courses.selectors import stalled_courses

    now = clock.now(now)
    stalled = stalled_courses(
        Course.objects.all(), today=timezone.localdate(now), stall_after_days=MeasureSettings.load().stall_after_days
    )
    count = 0
    for course in stalled.only("pk"):
        schedule_sync(course=course, now=now)
        count += 1
    return count


def schedule_sync_open_courses(*, now: datetime | None = None) -> int:
    """Re-plan every course still in care (after a settings change)."""
    now = clock.now(now)
    count = 0
    for course in _courses_in_care().exclude(status=CourseStatus.COMPLETED).only("pk"):
        schedule_sync(course=course, now=now)
        count += 1
    return count


def follow_course_change(sender, *, course: Course, now: datetime, **kwargs) -> None:
    """The receiver of `courses.hooks.course_changed` (connected in `measures.apps`): a course event
    re-plans the course's questionnaires, in the course service's own transaction."""
    schedule_sync(course=course, now=now)
