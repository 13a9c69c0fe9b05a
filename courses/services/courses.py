"""Courses: opening, the care team, the minimum-age exception, stage changes and stopping the follow-up."""

from datetime import date, datetime, time, timedelta

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from courses import bedside, safety
from courses.audit import audit
from courses.choices import COURSE_STAGES, CourseStatus, SessionFormat
from courses.models import AuditAction, ClinicSettings, Course, CourseStatusChange, Patient
from courses.services.base import (
    ANY_STAFF,
    _course_changed,
    _ensure_course_open,
    _ensure_editable,
    _require_role,
    _reread,
    _save,
    _save_audited,
    check_version,
)
from kernel import clock
from kernel.clock import record_year_errors
from kernel.text import REASON_MAX
from kernel.validation import fail, optional_text, required_text


def _check_care_team(therapists, medical_provider) -> None:
    therapists = list(therapists)
    if not therapists:
        fail("therapists", "Assign at least one therapist.")
    wrong = [str(t) for t in therapists if t.role != Role.THERAPIST or not t.is_active]
    if wrong:
        fail("therapists", f"Not an active therapist: {', '.join(wrong)}.")
    if medical_provider is None or medical_provider.role != Role.MEDICAL_PROVIDER or not medical_provider.is_active:
        fail("medical_provider", "Assign an active medical provider.")


def _event_day(
    field: str, day: date | None, reason_field: str, reason: str, *, today: date, earliest: tuple[date, str]
) -> tuple[date, str]:
    """The day an event happened, as typed: today by default; an earlier day with a reason (a late
    entry), never a future one, nor one before `earliest` (a day and what it is, for the message).
    Returns the day and the cleaned reason ("" for today)."""
    day = day or today
    errors = record_year_errors({field: day})
    if errors:
        raise ValidationError(errors)
    if day > today:
        fail(field, f"{day.isoformat()} is in the future: enter the day it happened, {today.isoformat()} or before.")
    floor, what = earliest
    if floor is not None and day < floor:
        fail(field, f"{day.isoformat()} is before {what} ({floor.isoformat()}).")
    if day == today:
        if reason.strip():
            fail(reason_field, "This happened today: no late-entry reason is needed; clear the field.")
        return day, ""
    return day, required_text(
        reason_field,
        reason,
        f"{day.isoformat()} is before today: say why it is recorded late (e.g. entered from the paper chart).",
        REASON_MAX,
    )


def _under_age(patient: Patient, today: date) -> tuple[int, int] | None:
    """(age, minimum) when the patient is under the clinic's minimum age on that day."""
    minimum = ClinicSettings.load().minimum_age_years
    age = bedside.age_on(patient.date_of_birth, today)
    return (age, minimum) if age < minimum else None


@transaction.atomic
def course_open(
    *,
    patient: Patient,
    by: User,
    indication: str,
    therapists,
    medical_provider: User,
    format: str = SessionFormat.INDIVIDUAL,
    planned_dosing_sessions: int = 6,
    indication_detail: str = "",
    age_exception_reason: str = "",
    started_on: date | None = None,
    start_backdated_reason: str = "",
    now: datetime | None = None,
) -> Course:
    """Open a course. A patient under the clinic's minimum age starts one only on a practice
    lead's documented exception (`age_exception_reason`, given by a lead).

    The course starts today unless `started_on` says an earlier day (a course brought in from
    another record), with `start_backdated_reason`; never in the future."""
    now = clock.now(now)
    _require_role(by, ANY_STAFF, "open a course")
    _ensure_editable(patient)
    _check_care_team(therapists, medical_provider)
    started_on, start_backdated_reason = _event_day(
        "started_on",
        started_on,
        "start_backdated_reason",
        start_backdated_reason,
        today=timezone.localdate(now),
        earliest=(patient.date_of_birth, "the patient's date of birth"),
    )
    under = _under_age(patient, started_on)
    exception = optional_text("age_exception_reason", age_exception_reason, REASON_MAX)
    if under and not exception:
        age, minimum = under
        fail(
            "age_exception_reason",
            f"The patient is {age}, under the clinic's minimum age of {minimum}: only a practice lead can open the "
            "course, with the reason for the exception.",
        )
    if exception and not under:
        fail("age_exception_reason", "The patient is not under the minimum age: no exception is needed.")
    if exception and by.role != Role.PRACTICE_LEAD:
        raise PermissionDenied("Only a practice lead can make an exception to the clinic's minimum age.")
    course = _save(
        Course(
            patient=patient,
            indication=indication,
            indication_detail=indication_detail,
            format=format,
            medical_provider=medical_provider,
            planned_dosing_sessions=planned_dosing_sessions,
            status=CourseStatus.EVALUATION,
            # In evaluation from its start: a back-dated course's later changes may be back-dated too.
            status_changed_at=(now if not start_backdated_reason else _noon(started_on)),
            started_on=started_on,
            start_backdated_reason=start_backdated_reason,
            created_at=now,
            created_by=by,
            **(
                {"age_exception_reason": exception, "age_exception_at": now, "age_exception_by": by}
                if exception
                else {}
            ),
        )
    )
    course.therapists.set(therapists)
    audit(actor=by, action=AuditAction.CREATE, patient=patient, record=course, at=now)
    if start_backdated_reason:
        audit(
            actor=by,
            action=AuditAction.UPDATE,
            patient=patient,
            record=course,
            detail=f"start back-dated to {started_on.isoformat()}",
            at=now,
        )
    if exception:
        audit(
            actor=by, action=AuditAction.UPDATE, patient=patient, record=course, detail="minimum-age exception", at=now
        )
    _course_changed(course, now)
    return course


@transaction.atomic
def course_age_exception(*, course: Course, by: User, reason: str, now: datetime | None = None) -> Course:
    """A practice lead's documented exception to the minimum age, on a course already open (the
    date of birth was corrected, say). It shows on the course and in the audit trail."""
    now = clock.now(now)
    if by.role != Role.PRACTICE_LEAD:
        raise PermissionDenied("Only a practice lead can make an exception to the clinic's minimum age.")
    course = _reread(course)
    _ensure_editable(course)
    _ensure_course_open(course)
    if course.age_exception_at is not None:
        fail(NON_FIELD_ERRORS, "This course already has a minimum-age exception.")
    if not _under_age(course.patient, timezone.localdate(now)):
        fail("reason", "The patient is not under the minimum age: no exception is needed.")
    course.age_exception_reason = required_text(
        "reason", reason, "Say why this patient is treated under the clinic's minimum age.", REASON_MAX
    )
    course.age_exception_at, course.age_exception_by = now, by
    _save_audited(
        course, by=by, action=AuditAction.UPDATE, patient=course.patient, detail="minimum-age exception", now=now
    )
    return course


@transaction.atomic
def course_update_team(
    *,
    course: Course,
    by: User,
    therapists=None,
    medical_provider=None,
    planned_dosing_sessions=None,
    version: int | None = None,
    now: datetime | None = None,
) -> Course:
    now = clock.now(now)
    _require_role(by, ANY_STAFF, "change a course's care team")
    course = _reread(course)
    _ensure_editable(course)
    check_version(course, version)
    _ensure_course_open(course)
    therapists = list(therapists) if therapists is not None else list(course.therapists.all())
    medical_provider = medical_provider or course.medical_provider
    _check_care_team(therapists, medical_provider)
    course.medical_provider = medical_provider
    if planned_dosing_sessions is not None:
        course.planned_dosing_sessions = planned_dosing_sessions
    _save_audited(course, by=by, action=AuditAction.UPDATE, patient=course.patient, detail="care team", now=now)
    course.therapists.set(therapists)
    return course


def _ensure_cleared_for_dosing(course: Course, on: date) -> None:
    """The rule: no dosing on a course that is not cleared (courses.safety.clearance_blockers)."""
    state = bedside.course_state(course, on=on)
    if not state.cleared:
        raise ValidationError(safety.errors_of([b for b in state.blockers if b.code not in _FIRST_DOSE_CODES]))


# Course blockers that only the first dose waits for (course_blockers), not planning a dose.
_FIRST_DOSE_CODES = {"preparation_missing", "baseline_open"}


def next_stage(status: str) -> str | None:
    index = COURSE_STAGES.index(status)
    return COURSE_STAGES[index + 1] if index + 1 < len(COURSE_STAGES) else None


def _set_status(
    course: Course,
    to_status: str,
    by: User,
    now: datetime,
    reason: str = "",
    *,
    changed_at: datetime | None = None,
    late_entry_reason: str = "",
) -> None:
    changed_at = changed_at or now
    CourseStatusChange.objects.create(
        course=course,
        from_status=course.status,
        to_status=to_status,
        reason=reason,
        changed_at=changed_at,
        changed_by=by,
        recorded_at=now,
        late_entry_reason=late_entry_reason,
    )
    course.status = to_status
    course.status_changed_at = changed_at
    if to_status == CourseStatus.DISCONTINUED:
        course.discontinued_reason = reason
    _save_audited(
        course,
        by=by,
        action=AuditAction.UPDATE,
        patient=course.patient,
        detail=f"status → {to_status}"
        + (f" (happened {timezone.localdate(changed_at).isoformat()}, recorded late)" if late_entry_reason else ""),
        now=now,
    )
    _course_changed(course, now)


@transaction.atomic
def course_change_status(
    *,
    course: Course,
    by: User,
    to_status: str,
    reason: str = "",
    stop_follow_up: bool = False,
    follow_up_stop_reason: str = "",
    effective_on: date | None = None,
    late_entry_reason: str = "",
    now: datetime | None = None,
) -> Course:
    """Move a course one stage forward, or discontinue it (with a reason) from any open stage.

    A discontinued course keeps its follow-up questionnaires (DOMAIN §6: it stays in the
    intention-to-treat figures, which need them) unless `stop_follow_up`, with its own reason.

    The change happened today unless `effective_on` says an earlier day (recorded late, with
    `late_entry_reason`): not before the course's previous change, nor before a dose given on it."""
    now = clock.now(now)
    _require_role(by, ANY_STAFF, "change a course's stage")
    course = Course.objects.select_for_update().get(pk=course.pk)
    _ensure_editable(course)
    _ensure_course_open(course)
    changed_at, late_entry_reason = _status_change_moment(course, to_status, effective_on, late_entry_reason, now)
    status_kwargs = {"changed_at": changed_at, "late_entry_reason": late_entry_reason}
    if follow_up_stop_reason.strip() and not stop_follow_up:
        fail(
            "stop_follow_up",
            "A reason to stop the follow-up questionnaires was given, but stopping them was not chosen: "
            "tick it to stop them, or clear the reason.",
        )
    if stop_follow_up and to_status != CourseStatus.DISCONTINUED:
        fail("stop_follow_up", "Follow-up questionnaires stop only with a discontinued course; untick the box.")
    if to_status == CourseStatus.DISCONTINUED:
        reason = required_text("reason", reason, "Say why the course is discontinued.", REASON_MAX)
        if stop_follow_up:
            follow_up_stop_reason = _follow_up_stop_reason(follow_up_stop_reason)
        _set_status(course, to_status, by, now, reason, **status_kwargs)
        if stop_follow_up:
            _stop_follow_up(course, by, now, follow_up_stop_reason)
        return course
    expected = next_stage(course.status)
    if to_status != expected:
        fail(
            "to_status",
            f"A course in {course.get_status_display().lower()} moves next to "
            f"{CourseStatus(expected).label.lower()} (or is discontinued), not to {to_status}.",
        )
    if to_status == CourseStatus.DOSING:
        # The same checks as the first dose: cleared, old enough, prepared, with a baseline.
        blockers = bedside.course_state(course, on=timezone.localdate(now)).blockers
        if blockers:
            raise ValidationError({"to_status": [b.message for b in blockers]})
    if to_status == CourseStatus.INTEGRATION and not course.doses.active().filter(dosed_at__isnull=False).exists():
        fail("to_status", "No dose has been given on this course yet.")
    _set_status(course, to_status, by, now, reason.strip(), **status_kwargs)
    return course


def _status_change_moment(course: Course, to_status: str, effective_on, late_entry_reason: str, now: datetime):
    """When a status change happened: now, or noon of an earlier day recorded late (with a reason).
    Not before the course's previous change; a move past dosing, or a discontinuation, not before a
    dose given on the course (the order of events is the outcome definitions' input)."""
    today = timezone.localdate(now)
    if to_status == CourseStatus.DOSING and effective_on is not None and effective_on != today:
        # Clearance for dosing (screen in date, preparation, baseline) is checked as it stands now;
        # an earlier day would claim a clearance nobody checked on that day.
        fail(
            "effective_on",
            "A move into dosing is checked against today's clearance and cannot be back-dated: "
            "leave the day empty (today).",
        )
    previous = timezone.localdate(course.status_changed_at)
    floor, what = max((course.started_on, "the course's start"), (previous, "the course's last change of stage"))
    day, late_entry_reason = _event_day(
        "effective_on", effective_on, "late_entry_reason", late_entry_reason, today=today, earliest=(floor, what)
    )
    # What must come before the change, as moments: the previous change and, for a move past dosing
    # or a discontinuation, the last dose given. A change on their day is placed just after them.
    before = course.status_changed_at
    if to_status in (*AFTER_DOSING, CourseStatus.DISCONTINUED):
        last_dose = course.doses.active().filter(dosed_at__isnull=False).order_by("-dosed_at").first()
        if last_dose and day < timezone.localdate(last_dose.dosed_at):
            fail(
                "effective_on",
                f"A dose was given on {timezone.localdate(last_dose.dosed_at).isoformat()}, after {day.isoformat()}: "
                "the change happened on that day or later.",
            )
        if last_dose:
            before = max(before, last_dose.dosed_at)
    if day == today:
        return now, ""
    moment = max(_noon(day), before + timedelta(minutes=1))
    if timezone.localdate(moment) != day:
        fail("effective_on", f"The course's last event on {day.isoformat()} was at its end: enter the next day.")
    return moment, late_entry_reason


def _noon(day: date) -> datetime:
    # A day recorded late has no time of its own: its events are placed at the clinic's noon.
    return datetime.combine(day, time(12), tzinfo=timezone.get_current_timezone())


AFTER_DOSING = (CourseStatus.INTEGRATION, CourseStatus.FOLLOW_UP, CourseStatus.COMPLETED)


def _follow_up_stop_reason(reason: str) -> str:
    return required_text(
        "follow_up_stop_reason",
        reason,
        "Say why the follow-up questionnaires stop (e.g. the patient declined further questionnaires).",
        REASON_MAX,
    )


def _stop_follow_up(course: Course, by: User, now: datetime, reason: str) -> None:
    course.follow_up_stopped_at, course.follow_up_stopped_reason = now, reason
    _save_audited(course, by=by, action=AuditAction.UPDATE, patient=course.patient, detail="follow-up stopped", now=now)
    _course_changed(course, now)


@transaction.atomic
def course_follow_up_stop(
    *, course: Course, by: User, follow_up_stop_reason: str = "", now: datetime | None = None
) -> Course:
    """Stop the questionnaires of a discontinued course (the patient declined them): the course
    stays in the intention-to-treat figures, its missing scores counted as not responding."""
    now = clock.now(now)
    _require_role(by, ANY_STAFF, "stop a course's follow-up questionnaires")
    course = Course.objects.select_for_update().get(pk=course.pk)
    _ensure_editable(course)
    if course.status != CourseStatus.DISCONTINUED:
        fail(
            "follow_up_stop_reason",
            "Only a discontinued course's follow-up stops; an open course's questionnaires are "
            "changed one by one on the course's schedule.",
        )
    if course.follow_up_stopped_at is not None:
        fail("follow_up_stop_reason", "This course's follow-up questionnaires were already stopped.")
    _stop_follow_up(course, by, now, _follow_up_stop_reason(follow_up_stop_reason))
    return course
