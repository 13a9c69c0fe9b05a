"""Adverse events: recording one, telling the practice leads of a serious one, their acknowledgement."""

import logging
from datetime import datetime

from django.core.exceptions import NON_FIELD_ERRORS
from django.db import transaction

from accounts.models import Role, User
from courses.audit import audit
from courses.choices import AdverseEventAction, AdverseEventOutcome, SeriousCriterion
from courses.models import AdverseEvent, AuditAction, Course, Dose
from courses.services.base import (
    CLINICIANS,
    FUTURE_TOLERANCE,
    _check_choices,
    _ensure_editable,
    _require_role,
    _reread,
    _save_audited,
)
from kernel import clock
from kernel.text import REASON_MAX
from kernel.validation import fail, required_text

# One logger for the whole service layer, named as before the split (log lines are unchanged).
logger = logging.getLogger("courses.services")


def _check_adverse_event(event: AdverseEvent, now: datetime) -> None:
    event.serious_criteria = sorted(set(_check_choices("serious_criteria", event.serious_criteria, SeriousCriterion)))
    if event.grade is not None and event.grade >= 4 and not event.serious:
        fail("serious", "A life-threatening (grade 4) or fatal (grade 5) event is serious: tick 'serious'.")
    if event.serious and not event.serious_criteria:
        fail("serious_criteria", "Say which seriousness criterion applies (21 CFR 312.32).")
    if not event.serious and event.serious_criteria:
        fail("serious", "Seriousness criteria are ticked: mark the event as serious.")
    # Grade 5 is death: it, the 'death' criterion and the fatal outcome go together or not at all.
    death = SeriousCriterion.DEATH in event.serious_criteria
    fatal = event.outcome == AdverseEventOutcome.FATAL
    if event.grade == 5 and not fatal:
        fail("outcome", "Grade 5 is death: the outcome is 'fatal'.")
    if event.grade == 5 and not death:
        fail("serious_criteria", "Grade 5 is death: tick the 'death' criterion.")
    if fatal and event.grade != 5:
        fail("grade", "A fatal outcome is grade 5 (death).")
    if death and event.grade != 5:
        fail("grade", "The 'death' criterion is ticked: the grade is 5 (death), with the outcome 'fatal'.")
    if not event.expectedness:
        fail("expectedness", "Say whether the event is expected (listed in the product label) or unexpected.")
    if event.onset_at and event.onset_at > now + FUTURE_TOLERANCE:
        fail("onset_at", "The onset cannot be in the future.")
    if event.resolved_at and event.onset_at and event.resolved_at < event.onset_at:
        fail("resolved_at", "Resolution must come after onset.")
    if event.resolved_at and event.outcome in (AdverseEventOutcome.ONGOING, AdverseEventOutcome.FATAL):
        fail(
            "resolved_at", f"An event with the outcome '{event.get_outcome_display().lower()}' has no resolution time."
        )


@transaction.atomic
def adverse_event_add(
    *,
    dose: Dose | None = None,
    course: Course | None = None,
    by: User,
    term: str = "",
    term_other: str = "",
    grade: int | None = None,
    serious: bool = False,
    serious_criteria: list[str] | tuple[str, ...] | None = None,
    onset_at: datetime | None = None,
    resolved_at: datetime | None = None,
    relatedness: str = "",
    expectedness: str = "",
    action_taken: str = AdverseEventAction.NONE,
    outcome: str = AdverseEventOutcome.ONGOING,
    description: str = "",
    now: datetime | None = None,
) -> AdverseEvent:
    """An adverse event during a dose (`dose`), or reported against a course outside a
    dosing session (`course`: at an integration session, by phone). A dose's events may be added
    even after the dose record is signed: safety outranks tidiness. `onset_at` None: now;
    `serious_criteria` None: none."""
    now = clock.now(now)
    if (dose is None) == (course is None):
        raise ValueError("adverse_event_add takes a dose or a course")
    if dose is not None:
        _require_role(by, {Role.MEDICAL_PROVIDER}, "record an adverse event of a dose")
        dose = _reread(dose)
        if dose.is_voided:
            fail(NON_FIELD_ERRORS, "This dose record has been voided.")
        course = dose.course
    else:
        # Heard of at integration or by phone: the therapist who hears it reports it too.
        _require_role(by, CLINICIANS, "report an adverse event")
        course = _reread(course)
        _ensure_editable(course)
    event = AdverseEvent(
        course=course,
        dose=dose,
        created_at=now,
        created_by=by,
        term=term,
        term_other=term_other,
        grade=grade,
        serious=serious,
        serious_criteria=[] if serious_criteria is None else serious_criteria,
        onset_at=now if onset_at is None else onset_at,
        resolved_at=resolved_at,
        relatedness=relatedness,
        expectedness=expectedness,
        action_taken=action_taken,
        outcome=outcome,
        description=description,
    )
    _check_adverse_event(event, now)
    _save_audited(
        event,
        by=by,
        action=AuditAction.CREATE,
        patient=course.patient,
        detail="serious" if event.serious else "",
        now=now,
    )
    if event.serious:
        from courses.tasks import notify_serious_adverse_event

        logger.warning("serious adverse event recorded event=%s", event.pk)
        # robust: a broker that is down must not turn a saved event into an error page; the
        # periodic sweep (courses.tasks.notify_pending_serious_events) sends it when it is back.
        transaction.on_commit(lambda: notify_serious_adverse_event.delay(str(event.pk)), robust=True)
    return event


def adverse_event_notify_leads(*, event_id, now: datetime | None = None) -> bool:
    """Mail every active practice lead about a serious event, once. True if this call sent it."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    now = clock.now(now)
    with transaction.atomic():
        # The row lock makes a second worker (a redelivered or duplicated task) wait here and
        # then find the event notified, instead of sending the mail a second time.
        event = AdverseEvent.objects.select_for_update().get(pk=event_id)
        if event.lead_notified_at is not None:
            return False
        recipients = list(
            User.objects.filter(role=Role.PRACTICE_LEAD, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
        if not recipients:
            logger.error("serious adverse event %s: no practice lead has an email address", event.pk)
            return False
        context = {"event": event, "base_url": settings.CLINIC_BASE_URL}
        # The mail names no patient: it links to the dashboard, behind login. The subject uses
        # the term's label, never the free-text "other" description, which may name someone.
        send_mail(
            subject=f"Serious adverse event: {event.get_term_display()} (grade {event.grade})",
            message=render_to_string("courses/email/serious_adverse_event.txt", context),
            from_email=None,
            recipient_list=recipients,
        )
        # Marked only after the mail went, so a failure leaves it to be retried.
        event.lead_notified_at = now
        event.save(update_fields=["lead_notified_at"])
        return True


@transaction.atomic
def adverse_event_acknowledge(
    *, event: AdverseEvent, by: User, note: str = "", now: datetime | None = None
) -> AdverseEvent:
    """The practice lead closes the loop on a serious event, saying what was done about it."""
    now = clock.now(now)
    _require_role(by, {Role.PRACTICE_LEAD}, "acknowledge a serious adverse event")
    if not event.serious:
        fail(NON_FIELD_ERRORS, "Only serious adverse events are acknowledged.")
    note = required_text(
        "note",
        note,
        "Say what was done (the provider spoken to, the patient's follow-up, the report to the manufacturer…).",
        REASON_MAX,
    )
    claimed = AdverseEvent.objects.filter(pk=event.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=by, acknowledgement_note=note
    )
    if claimed != 1:
        fail(NON_FIELD_ERRORS, "This event has already been acknowledged.")
    event.refresh_from_db()
    audit(actor=by, action=AuditAction.ACKNOWLEDGE, patient=event.course.patient, record=event, at=now)
    return event
