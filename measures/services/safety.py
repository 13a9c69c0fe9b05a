"""PHQ-9 item 9 safety alerts: raising one and a clinician's acknowledgement."""

import logging
from datetime import datetime

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.db import transaction

from accounts.models import User
from courses.audit import audit
from courses.models import AuditAction, Course
from kernel import clock
from kernel.text import REASON_MAX
from kernel.validation import fail, required_text
from measures.instruments import PHQ9_SAFETY_ITEM
from measures.models import MessageKind, OutboundMessage, Response, SafetyAlert
from measures.services.base import _require_clinician_on_course, _unsendable
from measures.services.messages import queue_messages
from measures.services.tick import messages_to_send

# One logger for the measures' service layer, named as before the split (log lines are unchanged).
logger = logging.getLogger("measures.services")


def safety_alert_recipients(course: Course) -> list[User]:
    """The course's active therapists and its medical provider, each once. Someone without an
    email address is still a recipient: their message is made failed, for staff to see."""
    people = list(course.therapists.filter(is_active=True)) + [course.medical_provider]
    unique = {p.pk: p for p in people if p.is_active}
    return list(unique.values())


def safety_alert_raise(*, response: Response, now: datetime | None = None) -> SafetyAlert:
    """PHQ-9 item 9 > 0, however the answers arrived: alert the treating therapist(s) and the
    course's medical provider at once, by mail and by a banner that stays until acknowledged."""
    now = clock.now(now)
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
def safety_alert_acknowledge(
    *, alert: SafetyAlert, by: User, action_note: str, now: datetime | None = None
) -> SafetyAlert:
    now = clock.now(now)
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
        fail(NON_FIELD_ERRORS, "This alert has already been acknowledged.")
    alert.refresh_from_db()
    audit(actor=by, action=AuditAction.ACKNOWLEDGE, patient=alert.course.patient, record=alert, at=now)
    return alert
