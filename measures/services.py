"""Writes of the measures: the schedule, the tick's work, answers, messages and safety alerts.

Every entry point (web, API, Celery tasks, admin) calls these. Work that must happen once is
claimed with a conditional update and guarded by a unique constraint, so running the tick
twice at once, or re-running a task a killed worker left behind, does nothing twice.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Role, User
from courses.audit import audit
from courses.choices import CLOSED_STATUSES, CourseStatus
from courses.models import AuditAction, ClinicSettings, Course
from courses.rules import REASON_MAX
from courses.selectors import courses_for
from courses.services import required_text
from measures import scoring
from measures.instruments import INSTRUMENTS, PHQ9_SAFETY_ITEM, Instrument
from measures.models import (
    FOLLOW_UP_TIMEPOINTS,
    Administration,
    AdministrationStatus,
    MeasureSettings,
    MessageKind,
    MessageStatus,
    OutboundMessage,
    Response,
    ResponseSource,
    SafetyAlert,
    Timepoint,
)
from measures.schedule import CourseFacts, DoseFact, ScheduleRules, plan

logger = logging.getLogger(__name__)

LINK_SALT = "measures.self-report-link"
# A message claimed this long ago and still "sending" was left by a worker that died
# (settings.MEASURES_SEND_CLAIM_STALE_SECONDS; the fault tests shorten it for their workers).
STALE_CLAIM = timedelta(minutes=15)
ACTIVE = (AdministrationStatus.SCHEDULED, AdministrationStatus.OPEN)
MAX_WINDOW_DAYS = 120


def _now(now):
    return now or timezone.now()


def _stale_claim() -> timedelta:
    return timedelta(seconds=getattr(settings, "MEASURES_SEND_CLAIM_STALE_SECONDS", STALE_CLAIM.total_seconds()))


def _fail(field, message):
    raise ValidationError({field: message})


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
            participant_id=p.pk,
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
    now = _now(now)
    course = Course.objects.select_for_update().get(pk=course.pk)
    counts = {"created": 0, "moved": 0, "cancelled": 0}
    if course.is_voided:
        slots = []
        why = "course voided"
    else:
        slots = plan(course_facts(course, timezone.localdate(now)), schedule_rules())
        why = (
            ("follow-up stopped" if course.follow_up_stopped_at else "course discontinued")
            if course.status == CourseStatus.DISCONTINUED
            else "no longer on the schedule"
        )
    wanted = {s.key: s for s in slots}
    existing = {
        (a.instrument, a.timepoint, a.participant_id): a
        for a in course.administrations.exclude(timepoint=Timepoint.AD_HOC)
    }
    today = timezone.localdate(now)
    for key, slot in wanted.items():
        row = existing.get(key)
        if row is None:
            if slot.missed_after < today:
                # A window that closed before the event that creates it (a late entry, a
                # settings change) was never on the schedule: it is not "missed", it never was due.
                continue
            try:
                with transaction.atomic():
                    Administration.objects.create(
                        course=course,
                        instrument=slot.instrument,
                        timepoint=slot.timepoint,
                        participant_id=slot.participant_id,
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
    stale = [a.pk for key, a in existing.items() if key not in wanted and a.status in ACTIVE]
    if stale:
        counts["cancelled"] = Administration.objects.filter(pk__in=stale, status__in=ACTIVE).update(
            status=AdministrationStatus.CANCELLED, cancelled_at=now, cancelled_reason=why
        )
    return counts


# --- per-course adjustments by clinicians ------------------------------------------------------


def _require_clinician_on_course(by: User, course: Course, doing: str) -> None:
    if not (by.is_clinician or by.is_practice_lead):
        raise PermissionDenied(f"Only a clinician can {doing}.")
    if not courses_for(by).filter(pk=course.pk).exists():
        raise PermissionDenied(f"Only the course's care team can {doing}.")


def _check_window(target: date, open_from: date, due_by: date, missed_after: date) -> None:
    if not open_from <= due_by <= missed_after:
        _fail("due_by", "The window must run open-from ≤ due-by ≤ last day.")
    if not open_from <= target <= missed_after:
        _fail("target_date", "The target date must lie inside the window.")
    if (missed_after - open_from).days > MAX_WINDOW_DAYS:
        _fail("missed_after", f"A window is at most {MAX_WINDOW_DAYS} days long; split it into two administrations.")


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
    now=None,
) -> Administration:
    """Move one administration's window for this course only; events no longer move it."""
    now = _now(now)
    administration = Administration.objects.select_for_update().select_related("course").get(pk=administration.pk)
    _require_clinician_on_course(by, administration.course, "adjust the schedule")
    if administration.status not in ACTIVE:
        _fail(NON_FIELD_ERRORS, f"A {administration.get_status_display().lower()} administration cannot be moved.")
    reason = required_text("reason", reason, "Say why the schedule changes for this course.", REASON_MAX)
    _check_window(target_date, open_from, due_by, missed_after)
    if missed_after < timezone.localdate(now):
        _fail("missed_after", "The window would already be closed: choose a last day from today on.")
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
def administration_cancel(*, administration: Administration, by: User, reason: str, now=None) -> Administration:
    now = _now(now)
    administration = Administration.objects.select_for_update().select_related("course").get(pk=administration.pk)
    _require_clinician_on_course(by, administration.course, "cancel a questionnaire")
    if administration.status not in ACTIVE:
        _fail(NON_FIELD_ERRORS, f"This administration is already {administration.get_status_display().lower()}.")
    if administration.timepoint == Timepoint.BASELINE:
        # The first dose waits for the baseline; going without one is a waiver, shown on the report.
        _fail(NON_FIELD_ERRORS, "A baseline questionnaire is not cancelled: waive it, with the reason, instead.")
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
        _fail(NON_FIELD_ERRORS, f"This questionnaire is already {administration.get_status_display().lower()}.")
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
def administration_waive(*, administration: Administration, by: User, reason: str, now=None) -> Administration:
    """A clinician decides the course goes ahead without this baseline questionnaire, and says
    why. The first dose no longer waits for it; the report counts the course as 'baseline waived'."""
    now = _now(now)
    administration = Administration.objects.select_for_update().select_related("course").get(pk=administration.pk)
    if not by.is_clinician:
        raise PermissionDenied("Only a therapist or medical provider of the course can waive a baseline.")
    _require_clinician_on_course(by, administration.course, "waive a baseline questionnaire")
    if administration.timepoint != Timepoint.BASELINE:
        _fail(NON_FIELD_ERRORS, "Only a baseline questionnaire is waived; cancel other questionnaires instead.")
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
    *, course: Course, by: User, instrument: str, open_from: date, missed_after: date, now=None
) -> Administration:
    """An additional questionnaire for one course, outside the clinic's schedule."""
    now = _now(now)
    _require_clinician_on_course(by, course, "add a questionnaire")
    if course.is_voided or course.status in CLOSED_STATUSES:
        _fail("course", "This course is closed.")
    if instrument not in INSTRUMENTS:
        _fail("instrument", f"Choose one of: {', '.join(INSTRUMENTS)}.")
    if missed_after < open_from:
        _fail("missed_after", "The last day must be on or after the first day.")
    if (missed_after - open_from).days > MAX_WINDOW_DAYS:
        _fail("missed_after", f"A window is at most {MAX_WINDOW_DAYS} days long.")
    if missed_after < timezone.localdate(now):
        _fail("missed_after", "The last day cannot be in the past.")
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


# --- the tick ---------------------------------------------------------------------------------


def _courses_in_care():
    """Courses whose questionnaires still go out: a discontinued course's follow-ups do, unless
    staff stopped them."""
    return Course.objects.filter(voided_at__isnull=True).exclude(
        status=CourseStatus.DISCONTINUED, follow_up_stopped_at__isnull=False
    )


def administrations_open_due(*, now=None) -> list:
    """Open every scheduled administration whose window has started; each is claimed alone."""
    now = _now(now)
    today = timezone.localdate(now)
    due = Administration.objects.filter(
        status=AdministrationStatus.SCHEDULED,
        open_from__lte=today,
        missed_after__gte=today,
        course__in=_courses_in_care(),
    ).values_list("pk", flat=True)
    opened = []
    for pk in list(due):
        claimed = Administration.objects.filter(pk=pk, status=AdministrationStatus.SCHEDULED).update(
            status=AdministrationStatus.OPEN, opened_at=now, link_nonce=secrets.token_hex(16), link_issued_at=now
        )
        if claimed:
            opened.append(pk)
    return opened


def _message_for(administration: Administration, kind: str, now: datetime) -> OutboundMessage:
    patient = administration.course.patient
    channel = patient.preferred_channel
    address = patient.phone if channel == "sms" else patient.email
    message = OutboundMessage(
        kind=kind, channel=channel, to_address=address, administration=administration, created_at=now
    )
    if not address:
        for field, value in _unsendable(
            now, f"No {'phone number' if channel == 'sms' else 'email address'} on file."
        ).items():
            setattr(message, field, value)
    return message


def _unsendable(now: datetime, why: str) -> dict:
    # Made failed at once, so it shows in the staff list of failed messages instead of vanishing.
    return {"status": MessageStatus.FAILED, "failed_at": now, "last_error": why}


def _insert_new(messages: list[OutboundMessage], kind: str, now: datetime) -> int:
    """Insert what no concurrent tick has inserted yet; return how many rows this call made.

    bulk_create(ignore_conflicts=True) hands back every object it was given, inserted or not, so
    two overlapping ticks would each report all of them. The rows this call made carry its `now`."""
    if not messages:
        return 0
    OutboundMessage.objects.bulk_create(messages, ignore_conflicts=True)
    return OutboundMessage.objects.filter(
        administration__in=[m.administration_id for m in messages], kind=kind, created_at=now
    ).count()


def messages_create_invitations(*, now=None) -> int:
    """An invitation for every open administration that has none. The unique constraint
    (administration, kind) makes a concurrent second tick's insert a no-op."""
    now = _now(now)
    invitation = OutboundMessage.objects.filter(administration=OuterRef("pk"), kind=MessageKind.INVITATION)
    today = timezone.localdate(now)
    needing = (
        # A window that closed is missed, not invited to (the same tick marks it so).
        Administration.objects.filter(status=AdministrationStatus.OPEN, missed_after__gte=today)
        .filter(~Exists(invitation))
        .select_related("course__patient")
    )
    return _insert_new([_message_for(a, MessageKind.INVITATION, now) for a in needing], MessageKind.INVITATION, now)


def messages_create_reminders(*, now=None) -> int:
    now = _now(now)
    days = MeasureSettings.load().reminder_after_days
    today = timezone.localdate(now)
    invited = OutboundMessage.objects.filter(
        administration=OuterRef("pk"),
        kind=MessageKind.INVITATION,
        status=MessageStatus.SENT,
        sent_at__lte=now - timedelta(days=days),
    )
    reminded = OutboundMessage.objects.filter(administration=OuterRef("pk"), kind=MessageKind.REMINDER)
    needing = (
        Administration.objects.filter(status=AdministrationStatus.OPEN, missed_after__gte=today)
        .filter(Exists(invited), ~Exists(reminded))
        .select_related("course__patient")
    )
    return _insert_new([_message_for(a, MessageKind.REMINDER, now) for a in needing], MessageKind.REMINDER, now)


def administrations_mark_missed(*, now=None) -> dict[str, int]:
    """Close windows that have passed; a missed follow-up goes on the therapist's worklist in
    the same update, so no later pass has to look through every missed row for it."""
    now = _now(now)
    today = timezone.localdate(now)
    closed = Administration.objects.filter(missed_after__lt=today)
    # Each status on its own, so each query can use its partial index (administration_to_open
    # holds the scheduled ones by open_from, which is never after missed_after).
    waiting = (
        closed.filter(status=AdministrationStatus.SCHEDULED, open_from__lt=today),
        closed.filter(status=AdministrationStatus.OPEN),
    )
    missed = escalated = 0
    for rows in waiting:
        follow_ups = rows.filter(timepoint__in=FOLLOW_UP_TIMEPOINTS).update(
            status=AdministrationStatus.MISSED, missed_at=now, escalated_at=now
        )
        others = rows.update(status=AdministrationStatus.MISSED, missed_at=now)
        missed += follow_ups + others
        escalated += follow_ups
    return {"missed": missed, "escalated": escalated}


def messages_to_send(*, now=None) -> list[int]:
    """Messages waiting for a worker: never tried, due for a slow retry, a quick retry whose task
    was lost, or left 'sending' by a worker that died. The tick and the send sweep queue these."""
    now = _now(now)
    stale = now - _stale_claim()
    return list(
        OutboundMessage.objects.filter(
            Q(status=MessageStatus.PENDING, claimed_at__isnull=True)
            | Q(status=MessageStatus.PENDING, next_attempt_at__isnull=True, claimed_at__lt=stale)
            | Q(status=MessageStatus.PENDING, next_attempt_at__lte=now)
            | Q(status=MessageStatus.SENDING, claimed_at__lt=stale)
        ).values_list("pk", flat=True)
    )


def safety_alerts_escalate(*, now=None) -> int:
    """A PHQ-9 item 9 alert no clinician has acknowledged within the clinic's time goes to the
    practice leads: mail to each (through the same claimed, retried messages) and the dashboard.
    Each alert is escalated once, claimed by a conditional update."""
    now = _now(now)
    hours = MeasureSettings.load().safety_alert_escalation_hours
    due = SafetyAlert.objects.filter(
        acknowledged_at__isnull=True, escalated_at__isnull=True, raised_at__lte=now - timedelta(hours=hours)
    ).values_list("pk", flat=True)
    leads = list(User.objects.filter(role=Role.PRACTICE_LEAD, is_active=True))
    escalated = 0
    for pk in list(due):
        if not SafetyAlert.objects.filter(pk=pk, escalated_at__isnull=True).update(escalated_at=now):
            continue  # a concurrent tick took it
        alert = SafetyAlert.objects.select_related("course__patient").get(pk=pk)
        OutboundMessage.objects.bulk_create(
            [
                OutboundMessage(
                    kind=MessageKind.SAFETY_ESCALATION,
                    channel="email",
                    to_address=lead.email,
                    safety_alert=alert,
                    recipient=lead,
                    created_at=now,
                    **({} if lead.email else _unsendable(now, "No email address on file for this practice lead.")),
                )
                for lead in leads
            ],
            ignore_conflicts=True,
        )
        audit(
            actor=None,
            action=AuditAction.UPDATE,
            patient=alert.course.patient,
            record=alert,
            detail=f"unacknowledged after {hours} h: sent to the practice leads",
            at=now,
        )
        logger.warning("safety alert %s unacknowledged after %s h: escalated to %s lead(s)", pk, hours, len(leads))
        escalated += 1
    return escalated


def tick(*, now=None) -> dict:
    """One pass of the schedule: open, invite, remind, close, escalate. Returns what it did,
    and the ids of the messages the caller should queue for sending."""
    now = _now(now)
    with transaction.atomic():
        opened = administrations_open_due(now=now)
    with transaction.atomic():
        invitations = messages_create_invitations(now=now)
    with transaction.atomic():
        reminders = messages_create_reminders(now=now)
    with transaction.atomic():
        closed = administrations_mark_missed(now=now)
    with transaction.atomic():
        alerts_escalated = safety_alerts_escalate(now=now)
    return {
        "opened": len(opened),
        "invitations": invitations,
        "reminders": reminders,
        **closed,
        "alerts_escalated": alerts_escalated,
        "to_send": messages_to_send(now=now),
    }


# --- sending ----------------------------------------------------------------------------------


class SendFailed(Exception):
    """A transient failure: the message is back in the queue and the task should retry."""


def self_report_token(administration: Administration, *, now: datetime | None = None) -> str:
    """A signed link token for one open administration. The issue time is part of the signed
    payload, so expiry is measured against the operation's `now`, not the wall clock."""
    issued = int(_now(now).timestamp())
    return signing.dumps({"a": str(administration.pk), "n": administration.link_nonce, "t": issued}, salt=LINK_SALT)


def self_report_url(administration: Administration, *, now: datetime | None = None) -> str:
    return f"{settings.CLINIC_BASE_URL.rstrip('/')}/r/{self_report_token(administration, now=now)}/"


def _render(message: OutboundMessage, now: datetime) -> tuple[str, str]:
    clinic = ClinicSettings.load().clinic_name
    if message.kind in (MessageKind.SAFETY_ALERT, MessageKind.SAFETY_ESCALATION):
        alert = message.safety_alert
        escalation = message.kind == MessageKind.SAFETY_ESCALATION
        context = {
            "alert": alert,
            "clinic": clinic,
            "base_url": settings.CLINIC_BASE_URL.rstrip("/"),
            "escalation": escalation,
            "hours": MeasureSettings.load().safety_alert_escalation_hours,
        }
        # Names no patient: the clinician follows the link and signs in to see who.
        subject = f"Safety alert: PHQ-9 item 9 answered {alert.item_value} — action needed"
        if escalation:
            subject = f"Unacknowledged safety alert (PHQ-9 item 9 = {alert.item_value}) — practice lead action needed"
        return subject, render_to_string("measures/email/safety_alert.txt", context)
    administration = message.administration
    definition = INSTRUMENTS[administration.instrument]
    # Each message carries a freshly signed link, so a reminder's link runs its own full term.
    expires = timezone.localtime(now + timedelta(days=MeasureSettings.load().link_expiry_days))
    context = {
        "first_name": administration.course.patient.given_name,
        "clinic": clinic,
        "instrument": definition,
        "url": self_report_url(administration, now=now),
        "expires": expires,
        "reminder": message.kind == MessageKind.REMINDER,
        "new_link": message.kind == MessageKind.NEW_LINK,
    }
    prefix = "reminder — " if context["reminder"] else "new link — " if context["new_link"] else ""
    subject = f"{clinic}: {prefix}a short questionnaire ({definition.name})"
    return subject, render_to_string("measures/email/invitation.txt", context)


def _deliver(message: OutboundMessage, now: datetime) -> None:
    from django.core.mail import send_mail

    from measures.sms import send_sms

    subject, body = _render(message, now)
    if message.channel == "sms":
        send_sms(to=message.to_address, body=body)
    else:
        send_mail(subject=subject, message=body, from_email=None, recipient_list=[message.to_address])


# A message for a questionnaire: not sent once the questionnaire no longer waits for an answer.
PATIENT_KINDS = (MessageKind.INVITATION, MessageKind.REMINDER, MessageKind.NEW_LINK)
# The attempt counter is a small integer; a give-up time set far beyond the slow interval stops here.
MAX_SEND_ATTEMPTS = 30000


def _no_longer_needed(message: OutboundMessage, now: datetime) -> str:
    """Why this message need not go out any more ('' if it must)."""
    administration = message.administration
    if administration is None or message.kind not in PATIENT_KINDS:
        return ""  # safety mail always goes out
    if administration.status == AdministrationStatus.COMPLETED:
        return "The questionnaire was answered before this message was sent."
    if administration.status != AdministrationStatus.OPEN:
        return f"The questionnaire is {administration.get_status_display().lower()}; it no longer waits for an answer."
    if timezone.localdate(now) > administration.missed_after:
        return f"The questionnaire's window closed on {administration.missed_after:%Y-%m-%d}."
    return ""


def _give_up_after(message: OutboundMessage) -> timedelta:
    # Safety mail (anything not about a questionnaire) is kept trying longest.
    key = "PATIENT" if message.administration_id and message.kind in PATIENT_KINDS else "SAFETY"
    return timedelta(seconds=getattr(settings, f"MEASURES_SEND_GIVE_UP_{key}_SECONDS"))


def _slow_retry_wait(slow_attempt: int) -> timedelta:
    first, most = settings.MEASURES_SEND_LATER_FIRST_SECONDS, settings.MEASURES_SEND_LATER_MAX_SECONDS
    return timedelta(seconds=min(first * 2 ** min(slow_attempt, 32), most))


def message_send(*, message_id: int, now=None) -> str:
    """Send one message if no one else is: claim, send, record. Returns what happened.

    Every path that sends (the tick, the send sweep, a quick retry, staff's Resend) comes here.
    On a transient failure the message goes back to 'pending': within the clinic's
    send_max_attempts SendFailed is raised so the task retries quickly with back-off; after that
    it waits for beat's send sweep (next_attempt_at, doubling and capped) until retry_until, and
    only then is it 'failed' and left to staff. An invitation or reminder whose questionnaire was
    answered, cancelled or closed meanwhile is marked 'not needed' instead of being sent."""
    now = _now(now)
    stale = now - _stale_claim()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimed = (
        OutboundMessage.objects.filter(pk=message_id)
        .filter((Q(status=MessageStatus.PENDING) & due) | Q(status=MessageStatus.SENDING, claimed_at__lt=stale))
        .update(status=MessageStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return "skipped"
    message = OutboundMessage.objects.select_related("administration__course__patient", "safety_alert").get(
        pk=message_id
    )
    reason = _no_longer_needed(message, now)
    if reason:
        OutboundMessage.objects.filter(pk=message_id, status=MessageStatus.SENDING).update(
            status=MessageStatus.NOT_NEEDED, not_needed_reason=reason, next_attempt_at=None
        )
        logger.info("message %s not sent: no longer needed (%s)", message_id, message.kind)
        return "not needed"
    try:
        _deliver(message, now)
    except Exception as exc:  # any failure to hand the message over is recorded, never lost
        # A mail server's refusal quotes the recipient; the address stays out of the stored error
        # and out of the retry, whose text the worker logs.
        detail = str(exc).replace(message.to_address, "[recipient]") if message.to_address else str(exc)
        error = f"{type(exc).__name__}: {detail[:200]}"
        quick = MeasureSettings.load().send_max_attempts
        mine = OutboundMessage.objects.filter(pk=message_id, status=MessageStatus.SENDING)
        logger.warning("message %s attempt %s failed: %s", message_id, message.attempts, type(exc).__name__)
        if message.attempts < quick:
            mine.update(status=MessageStatus.PENDING, last_error=error)
            raise SendFailed(type(exc).__name__) from None
        retry_until = message.retry_until or now + _give_up_after(message)
        if now >= retry_until or message.attempts >= MAX_SEND_ATTEMPTS:
            mine.update(status=MessageStatus.FAILED, last_error=error, failed_at=now, next_attempt_at=None)
            logger.error("message %s given up after %s attempts (%s)", message_id, message.attempts, message.kind)
            return "failed"
        mine.update(
            status=MessageStatus.PENDING,
            last_error=error,
            next_attempt_at=min(now + _slow_retry_wait(message.attempts - quick), retry_until),
            retry_until=retry_until,
        )
        return "retry later"
    OutboundMessage.objects.filter(pk=message_id).update(
        status=MessageStatus.SENT, sent_at=now, last_error="", next_attempt_at=None
    )
    logger.info("message %s sent (%s, %s)", message_id, message.kind, message.channel)
    return "sent"


@transaction.atomic
def message_retry(*, message: OutboundMessage, by: User, now=None) -> OutboundMessage:
    """Staff put a failed message back in the queue (after fixing an address, say), or send one
    that waits for its next slow retry now. It starts afresh: quick retries, then the sweep."""
    now = _now(now)
    if not (by.is_clinician or by.is_practice_lead):
        raise PermissionDenied("Only clinic staff can resend a message.")
    message = (
        # of=self: PostgreSQL cannot lock the nullable side of the outer joins.
        OutboundMessage.objects.select_for_update(of=("self",))
        .select_related("administration__course__patient", "recipient")
        .get(pk=message.pk)
    )
    waiting = message.status == MessageStatus.PENDING and message.next_attempt_at is not None
    if message.status != MessageStatus.FAILED and not waiting:
        _fail(NON_FIELD_ERRORS, "Only a failed message, or one waiting for its next retry, can be resent.")
    if message.administration_id:
        patient = message.administration.course.patient
        fresh = patient.phone if message.channel == "sms" else patient.email
        message.to_address = fresh or message.to_address
    elif message.recipient_id:
        message.to_address = message.recipient.email or message.to_address
    if not message.to_address:
        _fail(NON_FIELD_ERRORS, "There is still no address to send this message to; add one first.")
    message.status, message.attempts, message.claimed_at, message.failed_at = MessageStatus.PENDING, 0, None, None
    message.next_attempt_at = message.retry_until = None
    message.save()
    patient = message.administration.course.patient if message.administration_id else None
    audit(actor=by, action=AuditAction.UPDATE, patient=patient, record=message, detail="resent", at=now)
    transaction.on_commit(lambda: queue_messages([message.pk]), robust=True)
    return message


@transaction.atomic
def administration_send_new_link(*, administration: Administration, by: User, now=None) -> OutboundMessage:
    """Send the patient a fresh link (the old one expired or went astray). The old links stop
    working: the nonce they carry is replaced."""
    now = _now(now)
    administration = Administration.objects.select_for_update().get(pk=administration.pk)
    _require_clinician_on_course(by, administration.course, "send a new link")
    if administration.status != AdministrationStatus.OPEN or administration.missed_after < timezone.localdate(now):
        _fail(NON_FIELD_ERRORS, "Only an open questionnaire whose window has not closed can get a new link.")
    administration.link_nonce = secrets.token_hex(16)
    administration.link_issued_at = now
    administration.save(update_fields=["link_nonce", "link_issued_at"])
    message = _message_for(administration, MessageKind.NEW_LINK, now)
    message.save()
    audit(
        actor=by,
        action=AuditAction.UPDATE,
        patient=administration.course.patient,
        record=administration,
        detail="new self-report link sent",
        at=now,
    )
    transaction.on_commit(lambda: queue_messages([message.pk]), robust=True)
    return message


# --- answers ----------------------------------------------------------------------------------


class LinkProblem(Exception):
    """Why a self-report link cannot be used; `kind` picks the page the patient sees."""

    def __init__(self, kind: str):
        self.kind = kind  # "invalid", "expired", "used", "closed"
        super().__init__(kind)


def self_report_resolve(*, token: str, now=None) -> Administration:
    """The administration a link is for, if it can still be answered; LinkProblem otherwise."""
    now = _now(now)
    max_age = timedelta(days=MeasureSettings.load().link_expiry_days)
    try:
        payload = signing.loads(token, salt=LINK_SALT)
    except (signing.BadSignature, ValueError):
        raise LinkProblem("invalid") from None
    if not isinstance(payload, dict) or not payload.get("n") or not isinstance(payload.get("t"), int):
        raise LinkProblem("invalid")
    try:
        administration = (
            Administration.objects.select_related("course__patient")
            .filter(pk=payload.get("a"), link_nonce=payload["n"])
            .first()
        )
    except ValidationError:  # not a UUID
        raise LinkProblem("invalid") from None
    if administration is None:
        raise LinkProblem("invalid")
    # "Used" before "expired": a patient who already answered should be told so.
    if administration.status == AdministrationStatus.COMPLETED:
        raise LinkProblem("used")
    if now.timestamp() - payload["t"] > max_age.total_seconds():
        raise LinkProblem("expired")
    if administration.status != AdministrationStatus.OPEN or administration.missed_after < timezone.localdate(now):
        raise LinkProblem("closed")
    return administration


def _store_response(
    *, administration: Administration, answers: dict, source: str, by: User | None, now: datetime, answered_at=None
) -> Response:
    try:
        result = scoring.score(administration.instrument, answers, pcl5_cutoff=MeasureSettings.load().pcl5_cutoff)
    except scoring.AnswerError as exc:
        raise ValidationError(exc.errors) from None
    clean = scoring.normalise_answers(administration.instrument, answers)
    try:
        with transaction.atomic():
            response = Response.objects.create(
                administration=administration,
                course=administration.course,
                patient=administration.course.patient,
                instrument=administration.instrument,
                answers={str(k): v for k, v in clean.items()},
                complete=result.complete,
                total=result.total,
                band=result.band,
                safety_item_value=result.safety_item_value,
                clusters=result.clusters,
                provisional_ptsd_cutoff=result.provisional_ptsd_cutoff,
                provisional_ptsd_symptom_rule=result.provisional_ptsd_symptom_rule,
                scoring_version=result.version,
                source=source,
                entered_by=by,
                answered_at=answered_at or now,
            )
    except IntegrityError:
        _fail(NON_FIELD_ERRORS, "This questionnaire has already been answered; the first answers are kept.")
    audit(
        actor=by,
        action=AuditAction.CREATE,
        patient=administration.course.patient,
        record=response,
        detail=f"{administration.instrument} {'complete' if result.complete else 'incomplete'} via {source}",
        at=now,
    )
    if result.safety_item_positive:
        safety_alert_raise(response=response, now=now)
    if administration.instrument == Instrument.PCL5 and administration.timepoint == Timepoint.BASELINE:
        # A baseline PCL-5 at the cut-off brings PCL-5 into the follow-up schedule.
        schedule_sync(course=administration.course, now=now)
    return response


@transaction.atomic
def response_submit_self_report(*, token: str, answers: dict, now=None) -> Response:
    """The patient's answers, in one step. The link is single-use: the conditional update
    that completes the administration is the claim, and a second submission finds it taken."""
    now = _now(now)
    administration = self_report_resolve(token=token, now=now)
    claimed = Administration.objects.filter(
        pk=administration.pk, status=AdministrationStatus.OPEN, link_nonce=administration.link_nonce
    ).update(status=AdministrationStatus.COMPLETED, completed_at=now)
    if not claimed:
        raise LinkProblem("used")
    return _store_response(
        administration=administration, answers=answers, source=ResponseSource.SELF_REPORT, by=None, now=now
    )


@transaction.atomic
def response_enter(
    *, administration: Administration, by: User, answers: dict, answered_at: datetime | None = None, now=None
) -> Response:
    """A clinician enters answers on the patient's behalf, during a session; recorded as such."""
    now = _now(now)
    administration = (
        Administration.objects.select_for_update().select_related("course__patient").get(pk=administration.pk)
    )
    if not by.is_clinician:
        raise PermissionDenied("Only a therapist or medical provider can enter answers for a patient.")
    _require_clinician_on_course(by, administration.course, "enter answers")
    if administration.status == AdministrationStatus.COMPLETED:
        _fail(NON_FIELD_ERRORS, "This questionnaire has already been answered; the first answers are kept.")
    if administration.status in (AdministrationStatus.CANCELLED, AdministrationStatus.WAIVED):
        _fail(NON_FIELD_ERRORS, f"This questionnaire was {administration.get_status_display().lower()}.")
    if answered_at and answered_at > now + timedelta(minutes=5):
        _fail("answered_at", "The answers cannot be dated in the future.")
    Administration.objects.filter(pk=administration.pk).update(status=AdministrationStatus.COMPLETED, completed_at=now)
    return _store_response(
        administration=administration,
        answers=answers,
        source=ResponseSource.CLINICIAN,
        by=by,
        now=now,
        answered_at=answered_at,
    )


# --- safety ----------------------------------------------------------------------------------


def safety_alert_recipients(course: Course) -> list[User]:
    """The course's active therapists and its medical provider, each once. Someone without an
    email address is still a recipient: their message is made failed, for staff to see."""
    people = list(course.therapists.filter(is_active=True)) + [course.medical_provider]
    unique = {p.pk: p for p in people if p.is_active}
    return list(unique.values())


def safety_alert_raise(*, response: Response, now=None) -> SafetyAlert:
    """PHQ-9 item 9 > 0, however the answers arrived: alert the treating therapist(s) and the
    course's medical provider at once, by mail and by a banner that stays until acknowledged."""
    now = _now(now)
    value = response.answers.get(str(PHQ9_SAFETY_ITEM))
    alert, created = SafetyAlert.objects.get_or_create(
        response=response, defaults={"course": response.course, "item_value": value, "raised_at": now}
    )
    if not created:
        return alert
    messages = [
        OutboundMessage(
            kind=MessageKind.SAFETY_ALERT,
            channel="email",
            to_address=person.email,
            safety_alert=alert,
            recipient=person,
            created_at=now,
            **({} if person.email else _unsendable(now, "No email address on file for this clinician.")),
        )
        for person in safety_alert_recipients(response.course)
    ]
    OutboundMessage.objects.bulk_create(messages, ignore_conflicts=True)
    audit(actor=None, action=AuditAction.CREATE, patient=response.patient, record=alert, detail="item 9 > 0", at=now)
    logger.warning("safety alert %s raised (PHQ-9 item 9 = %s)", alert.pk, value)
    transaction.on_commit(lambda: queue_messages(messages_to_send(now=now)), robust=True)
    return alert


@transaction.atomic
def safety_alert_acknowledge(*, alert: SafetyAlert, by: User, action_note: str, now=None) -> SafetyAlert:
    now = _now(now)
    alert = SafetyAlert.objects.select_related("course__patient").get(pk=alert.pk)
    if not by.is_clinician:
        raise PermissionDenied("Only a therapist or medical provider acknowledges a safety alert.")
    _require_clinician_on_course(by, alert.course, "acknowledge this alert")
    action_note = required_text(
        "action_note", action_note, "Record what was done (contact made, safety plan reviewed, referral…).", REASON_MAX
    )
    claimed = SafetyAlert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=by, action_note=action_note
    )
    if not claimed:
        _fail(NON_FIELD_ERRORS, "This alert has already been acknowledged.")
    alert.refresh_from_db()
    audit(actor=by, action=AuditAction.ACKNOWLEDGE, patient=alert.course.patient, record=alert, at=now)
    return alert


def queue_messages(message_ids, *, expires: int | None = None) -> None:
    """Queue a send task per message. A sweep passes `expires`, so that while no worker is taking
    tasks its copies lapse instead of piling up: the next sweep queues what is still due."""
    from measures.tasks import send_message

    for message_id in message_ids:
        send_message.apply_async((message_id,), expires=expires)


# --- settings ---------------------------------------------------------------------------------


MEASURE_SETTINGS_FIELDS = (
    "instruments_by_timepoint",
    "baseline_days_before_first_dose",
    "pre_dose_min_interval_days",
    "pre_dose_open_days_before",
    "end_of_course_first_day",
    "end_of_course_last_day",
    "month_1_day",
    "month_1_tolerance",
    "month_3_day",
    "month_3_tolerance",
    "month_6_day",
    "month_6_tolerance",
    "pcl5_cutoff",
    "stall_after_days",
    "link_expiry_days",
    "reminder_after_days",
    "send_max_attempts",
    "safety_alert_escalation_hours",
)


MEASURE_SETTINGS_RANGES = {
    "link_expiry_days": (1, 60),
    "send_max_attempts": (1, 20),
    "pcl5_cutoff": (0, 80),
    "stall_after_days": (7, 365),
    "safety_alert_escalation_hours": (1, 168),
}


_FOLLOW_UPS = (Timepoint.MONTH_1, Timepoint.MONTH_3, Timepoint.MONTH_6)
_AFTER_THE_COURSE = (Timepoint.END_OF_COURSE, *_FOLLOW_UPS)
_SENDING_ONLY = "none: it changes how invitations are sent, not what is counted"
# What a change of each setting moves: the questionnaires not yet answered (by timepoint) and the
# report's figures, since the report reads the same value (reports.models.OutcomeSettings.definitions).
SETTING_MOVES: dict[str, tuple[tuple[str, ...], str]] = {
    "instruments_by_timepoint": (
        tuple(t.value for t in Timepoint if t != Timepoint.AD_HOC),
        "which scores there will be to count (no definition moves)",
    ),
    "baseline_days_before_first_dose": (
        (Timepoint.BASELINE,),
        "which score is each course's baseline, and so every response, remission and mean figure",
    ),
    "pre_dose_min_interval_days": ((Timepoint.PRE_DOSE,), "none: pre-dose scores are not in the report"),
    "pre_dose_open_days_before": ((Timepoint.PRE_DOSE,), "none: pre-dose scores are not in the report"),
    **dict.fromkeys(
        ("end_of_course_first_day", "end_of_course_last_day"),
        (
            (Timepoint.END_OF_COURSE,),
            "which score is the end-of-course one: end-of-course response, partial response and remission "
            "(observed and ITT), end-of-course completion and mean, and every sustained-response figure",
        ),
    ),
    **{
        f"{t.value}_{part}": (
            (t,),
            f"which score is the {t.label} one: sustained response at {t.label}, its completion and mean, "
            "and the Kaplan–Meier curve",
        )
        for t in _FOLLOW_UPS
        for part in ("day", "tolerance")
    },
    "pcl5_cutoff": (
        _AFTER_THE_COURSE,
        "which courses are eligible for PCL-5 response, remission and meaningful change, and the "
        "provisional-PTSD band of PCL-5 scores from now on",
    ),
    "stall_after_days": (
        _AFTER_THE_COURSE,
        "which courses count as stalled: the course flow, and from when a stalled course is in the ITT figures",
    ),
    "link_expiry_days": ((), _SENDING_ONLY),
    "reminder_after_days": ((), _SENDING_ONLY),
    "send_max_attempts": ((), _SENDING_ONLY),
    "safety_alert_escalation_hours": ((), "none: it changes when an unanswered safety alert is escalated"),
}


@dataclass(frozen=True)
class SettingMove:
    """What one changed setting moves: questionnaires not yet answered, and report figures."""

    setting: str
    questionnaires: int  # scheduled or open, in courses in care, not adjusted by hand
    timepoints: tuple[str, ...]
    figures: str


def settings_change_moves(changed: list[str]) -> list[SettingMove]:
    """One query per changed setting that moves questionnaires (a handful at most)."""
    moves = []
    for name in changed:
        timepoints, figures = SETTING_MOVES[name]
        count = 0
        if timepoints:
            count = Administration.objects.filter(
                course__in=_courses_in_care(),
                status__in=(AdministrationStatus.SCHEDULED, AdministrationStatus.OPEN),
                timepoint__in=timepoints,
                manually_adjusted=False,
            ).count()
        moves.append(SettingMove(name, count, tuple(str(t) for t in timepoints), figures))
    return moves


def _check_instruments_by_timepoint(value) -> dict:
    if not isinstance(value, dict):
        _fail("instruments_by_timepoint", "Give a mapping of timepoint to a list of instruments.")
    allowed = {t.value for t in Timepoint if t != Timepoint.AD_HOC}
    clean = {}
    for timepoint, instruments in value.items():
        if timepoint not in allowed:
            _fail("instruments_by_timepoint", f"Unknown timepoint {timepoint!r}; use {', '.join(sorted(allowed))}.")
        if not isinstance(instruments, list) or any(i not in INSTRUMENTS for i in instruments):
            _fail("instruments_by_timepoint", f"{timepoint}: choose instruments from {', '.join(INSTRUMENTS)}.")
        clean[timepoint] = list(dict.fromkeys(instruments))
    return clean


_WINDOW_FIELDS = (
    "baseline_days_before_first_dose",
    "end_of_course_first_day",
    "end_of_course_last_day",
    *(f"{t.value}_{part}" for t in _FOLLOW_UPS for part in ("day", "tolerance")),
)


def _check_windows(values: dict, *, changed: set) -> None:
    """The windows after a course must follow each other without overlapping, or one score could
    count for two timepoints (and the report would read the same score twice): the end of course
    opens after the last dose, each follow-up opens after the one before it closes."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values.values()):
        return  # the types are the serializer's and full_clean's to refuse, by field
    if values["baseline_days_before_first_dose"] < 1:
        _fail("baseline_days_before_first_dose", "Give at least 1 day before the first dose.")
    if values["end_of_course_first_day"] < 1:
        _fail("end_of_course_first_day", "The end-of-course window opens 1 day or more after the last dose.")
    before, before_name = values["end_of_course_last_day"], "the end-of-course window"
    before_fields: tuple[str, ...] = ("end_of_course_last_day",)
    for t in _FOLLOW_UPS:
        day, tolerance = values[f"{t.value}_day"], values[f"{t.value}_tolerance"]
        mine = (f"{t.value}_tolerance", f"{t.value}_day")
        if day - tolerance <= before:
            # Name what the person changed, so the message sits on the field they typed into.
            name = next((n for n in (*mine, *before_fields) if n in changed), mine[0])
            _fail(
                name,
                f"The {t.label} window (day {day - tolerance} to {day + tolerance}) must open after "
                f"{before_name} closes (day {before}): shorten its tolerance or move its day.",
            )
        before, before_name, before_fields = day + tolerance, f"the {t.label} window", mine


@transaction.atomic
def measure_settings_update(*, by: User, now=None, **fields) -> tuple[MeasureSettings, list[SettingMove]]:
    """The clinic's schedule, and with it the timing of the report's outcomes (one value each).

    Returns the row and what the change moves. When a setting that places questionnaires changed,
    every course in care is re-planned by a worker after the commit (dates adjusted by hand kept)."""
    now = _now(now)
    if by.role != Role.PRACTICE_LEAD:
        # The schedule and the safety-alert escalation are clinical decisions, not an administrator's.
        raise PermissionDenied("Only a practice lead can change the measure schedule.")
    unknown = sorted(set(fields) - set(MEASURE_SETTINGS_FIELDS))
    if unknown:
        _fail(NON_FIELD_ERRORS, f"Unknown setting(s): {', '.join(unknown)}.")
    row = MeasureSettings.objects.select_for_update().get(pk=MeasureSettings.load().pk)
    if "instruments_by_timepoint" in fields:
        # A partial mapping changes the timepoints it names and keeps the others: dropping a
        # timepoint by omission would cancel its open administrations at the next sync.
        fields["instruments_by_timepoint"] = {
            **row.instruments_by_timepoint,
            **_check_instruments_by_timepoint(fields["instruments_by_timepoint"]),
        }
    # The table's check constraints, said per field (full_clean would name no field for them).
    for name, (low, high) in MEASURE_SETTINGS_RANGES.items():
        value = fields.get(name, getattr(row, name))
        if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            _fail(name, f"Choose a value from {low} to {high}.")
    first = fields.get("end_of_course_first_day", row.end_of_course_first_day)
    last = fields.get("end_of_course_last_day", row.end_of_course_last_day)
    if isinstance(first, int) and isinstance(last, int) and first > last:
        _fail("end_of_course_last_day", "The end-of-course window must end on or after the day it opens.")
    changed = sorted(k for k, v in fields.items() if getattr(row, k) != v)
    if set(changed) & set(_WINDOW_FIELDS):
        # Checked when a window moves (the web form posts every field, so "changed" is what differs):
        # a row saved before this rule does not block a save of the reminder days.
        _check_windows({name: fields.get(name, getattr(row, name)) for name in _WINDOW_FIELDS}, changed=set(changed))
    for key, value in fields.items():
        setattr(row, key, value)
    row.updated_at, row.updated_by = now, by
    try:
        row.full_clean()
    except ValidationError as exc:
        raise ValidationError(
            {k if k != NON_FIELD_ERRORS else "end_of_course_last_day": v for k, v in exc.message_dict.items()}
        ) from None
    row.save()
    moves = settings_change_moves(changed)
    if changed:
        audit(actor=by, action=AuditAction.UPDATE, record_type="measure settings", detail=", ".join(changed), at=now)
    if any(m.timepoints for m in moves):
        from measures.tasks import replan_courses_in_care

        transaction.on_commit(replan_courses_in_care.delay, robust=True)
    return row, moves


def schedule_sync_stalled(*, now=None) -> int:
    """Re-plan courses that stalled (DOMAIN §6): their follow-up questionnaires are planned from
    their last dose. Beat runs this daily; a stall is a matter of days, and the sync is idempotent."""
    from courses.selectors import stalled_courses

    now = _now(now)
    stalled = stalled_courses(
        Course.objects.all(), today=timezone.localdate(now), stall_after_days=MeasureSettings.load().stall_after_days
    )
    count = 0
    for course in stalled.only("pk"):
        schedule_sync(course=course, now=now)
        count += 1
    return count


def schedule_sync_open_courses(*, now=None) -> int:
    """Re-plan every course still in care (after a settings change)."""
    now = _now(now)
    count = 0
    for course in _courses_in_care().exclude(status=CourseStatus.COMPLETED).only("pk"):
        schedule_sync(course=course, now=now)
        count += 1
    return count
