"""The tick: open what is due, invite, remind, close what was missed, escalate safety alerts.
Each piece of work is claimed by a conditional update, so two ticks at once do nothing twice.
"""

import logging
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import Role, User
from courses.audit import audit
from courses.models import AuditAction
from kernel import clock
from measures.models import (
    FOLLOW_UP_TIMEPOINTS,
    Administration,
    AdministrationStatus,
    MeasureSettings,
    MessageKind,
    MessageStatus,
    OutboundMessage,
    SafetyAlert,
)
from measures.services.base import _stale_claim, _unsendable
from measures.services.schedule import _courses_in_care

# One logger for the measures' service layer, named as before the split (log lines are unchanged).
logger = logging.getLogger("measures.services")


def administrations_open_due(*, now: datetime | None = None) -> list:
    """Open every scheduled administration whose window has started; each is claimed alone."""
    now = clock.now(now)
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


def messages_create_invitations(*, now: datetime | None = None) -> int:
    """An invitation for every open administration that has none. The unique constraint
    (administration, kind) makes a concurrent second tick's insert a no-op."""
    now = clock.now(now)
    invitation = OutboundMessage.objects.filter(administration=OuterRef("pk"), kind=MessageKind.INVITATION)
    today = timezone.localdate(now)
    needing = (
        # A window that closed is missed, not invited to (the same tick marks it so).
        Administration.objects.filter(status=AdministrationStatus.OPEN, missed_after__gte=today)
        .filter(~Exists(invitation))
        .select_related("course__patient")
    )
    return _insert_new([_message_for(a, MessageKind.INVITATION, now) for a in needing], MessageKind.INVITATION, now)


def messages_create_reminders(*, now: datetime | None = None) -> int:
    now = clock.now(now)
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


def administrations_mark_missed(*, now: datetime | None = None) -> dict[str, int]:
    """Close windows that have passed; a missed follow-up goes on the therapist's worklist in
    the same update, so no later pass has to look through every missed row for it."""
    now = clock.now(now)
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


def messages_to_send(*, now: datetime | None = None) -> list[int]:
    """Messages waiting for a worker: never tried, due for a slow retry, a quick retry whose task
    was lost, or left 'sending' by a worker that died. The tick and the send sweep queue these."""
    now = clock.now(now)
    stale = now - _stale_claim()
    return list(
        OutboundMessage.objects.filter(
            Q(status=MessageStatus.PENDING, claimed_at__isnull=True)
            | Q(status=MessageStatus.PENDING, next_attempt_at__isnull=True, claimed_at__lt=stale)
            | Q(status=MessageStatus.PENDING, next_attempt_at__lte=now)
            | Q(status=MessageStatus.SENDING, claimed_at__lt=stale)
        ).values_list("pk", flat=True)
    )


def safety_alerts_escalate(*, now: datetime | None = None) -> int:
    """A PHQ-9 item 9 alert no clinician has acknowledged within the clinic's time goes to the
    practice leads: mail to each (through the same claimed, retried messages) and the dashboard.
    Each alert is escalated once, claimed by a conditional update."""
    now = clock.now(now)
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


def tick(*, now: datetime | None = None) -> dict:
    """One pass of the schedule: open, invite, remind, close, escalate. Returns what it did,
    and the ids of the messages the caller should queue for sending."""
    now = clock.now(now)
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
