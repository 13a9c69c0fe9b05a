"""Sending messages (claimed, retried, given up on), self-report links and queueing the send tasks."""

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import User
from courses.audit import audit
from courses.models import AuditAction, ClinicSettings
from kernel import clock
from kernel.validation import fail
from measures.instruments import INSTRUMENTS
from measures.models import (
    Administration,
    AdministrationStatus,
    MeasureSettings,
    MessageKind,
    MessageStatus,
    OutboundMessage,
)
from measures.services.base import _require_clinician_on_course, _stale_claim
from measures.services.tick import _message_for

# One logger for the measures' service layer, named as before the split (log lines are unchanged).
logger = logging.getLogger("measures.services")

LINK_SALT = "measures.self-report-link"


class SendFailed(Exception):
    """A transient failure: the message is back in the queue and the task should retry."""


def self_report_token(administration: Administration, *, now: datetime | None = None) -> str:
    """A signed link token for one open administration. The issue time is part of the signed
    payload, so expiry is measured against the operation's `now`, not the wall clock."""
    issued = int(clock.now(now).timestamp())
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


def message_send(*, message_id: int, now: datetime | None = None) -> str:
    """Send one message if no one else is: claim, send, record. Returns what happened.

    Every path that sends (the tick, the send sweep, a quick retry, staff's Resend) comes here.
    On a transient failure the message goes back to 'pending': within the clinic's
    send_max_attempts SendFailed is raised so the task retries quickly with back-off; after that
    it waits for beat's send sweep (next_attempt_at, doubling and capped) until retry_until, and
    only then is it 'failed' and left to staff. An invitation or reminder whose questionnaire was
    answered, cancelled or closed meanwhile is marked 'not needed' instead of being sent."""
    now = clock.now(now)
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
def message_retry(*, message: OutboundMessage, by: User, now: datetime | None = None) -> OutboundMessage:
    """Staff put a failed message back in the queue (after fixing an address, say), or send one
    that waits for its next slow retry now. It starts afresh: quick retries, then the sweep."""
    now = clock.now(now)
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
        fail(NON_FIELD_ERRORS, "Only a failed message, or one waiting for its next retry, can be resent.")
    if message.administration_id:
        patient = message.administration.course.patient
        fresh = patient.phone if message.channel == "sms" else patient.email
        message.to_address = fresh or message.to_address
    elif message.recipient_id:
        message.to_address = message.recipient.email or message.to_address
    if not message.to_address:
        fail(NON_FIELD_ERRORS, "There is still no address to send this message to; add one first.")
    message.status, message.attempts, message.claimed_at, message.failed_at = MessageStatus.PENDING, 0, None, None
    message.next_attempt_at = message.retry_until = None
    message.save()
    patient = message.administration.course.patient if message.administration_id else None
    audit(actor=by, action=AuditAction.UPDATE, patient=patient, record=message, detail="resent", at=now)
    transaction.on_commit(lambda: queue_messages([message.pk]), robust=True)
    return message


@transaction.atomic
def administration_send_new_link(
    *, administration: Administration, by: User, now: datetime | None = None
) -> OutboundMessage:
    """Send the patient a fresh link (the old one expired or went astray). The old links stop
    working: the nonce they carry is replaced."""
    now = clock.now(now)
    administration = Administration.objects.select_for_update().get(pk=administration.pk)
    _require_clinician_on_course(by, administration.course, "send a new link")
    if administration.status != AdministrationStatus.OPEN or administration.missed_after < timezone.localdate(now):
        fail(NON_FIELD_ERRORS, "Only an open questionnaire whose window has not closed can get a new link.")
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


# Ids per task handed to the broker: a tick with thousands of messages due makes tens of broker
# messages, not thousands, and a batch is still small enough to spread over the workers.
SEND_BATCH = 100


def queue_messages(message_ids, *, expires: int | None = None) -> None:
    """Queue the sends, a batch of up to SEND_BATCH ids per task (measures.tasks.send_messages).
    A sweep passes `expires`, so that while no worker is taking tasks its copies lapse instead of
    piling up: the next sweep queues what is still due."""
    from measures.tasks import send_messages

    ids = list(message_ids)
    for start in range(0, len(ids), SEND_BATCH):
        send_messages.apply_async((ids[start : start + SEND_BATCH],), expires=expires)
