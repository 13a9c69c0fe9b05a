"""Celery tasks of the course record: thin wrappers that take ids and call a service."""

import logging
import smtplib

from celery import shared_task

from courses import selectors, services

logger = logging.getLogger(__name__)


@shared_task(
    autoretry_for=(smtplib.SMTPException, ConnectionError, OSError),
    retry_backoff=30,
    retry_backoff_max=15 * 60,
    max_retries=12,
    acks_late=True,
)
def notify_serious_adverse_event(event_id: str) -> bool:
    # Idempotent: the service marks the event notified only after the mail went out, and
    # returns early when it already was. The lead's dashboard shows the event either way.
    return services.adverse_event_notify_leads(event_id=event_id)


@shared_task(acks_late=True)
def notify_pending_serious_events() -> int:
    """Beat's safety net: queue the lead notification of every serious event not yet mailed
    (the broker was down when it was recorded, or every retry failed). Idempotent."""
    pending = list(selectors.serious_events_awaiting_notification())
    for event_id in pending:
        notify_serious_adverse_event.delay(str(event_id))
    return len(pending)
