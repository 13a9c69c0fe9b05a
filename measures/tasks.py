"""Celery tasks of the measures: thin, take ids, re-read the database, call a service.

Beat runs `tick` every few minutes; the database says what is due, so two ticks at once,
or a tick re-run after a worker died, find the work already claimed and do nothing twice.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError

from measures import services

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=5,
)
def tick() -> dict:
    done = services.tick()
    services.queue_messages(done["to_send"])
    logger.info(
        "tick: opened=%s invitations=%s reminders=%s missed=%s escalated=%s queued=%s",
        done["opened"],
        done["invitations"],
        done["reminders"],
        done["missed"],
        done["escalated"],
        len(done["to_send"]),
    )
    return {k: v for k, v in done.items() if k != "to_send"} | {"queued": len(done["to_send"])}


@shared_task(
    acks_late=True,
    autoretry_for=(services.SendFailed, DatabaseError),
    retry_backoff=settings.MEASURES_SEND_RETRY_BACKOFF_SECONDS,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=20,  # the service marks the message failed after the clinic's max attempts
)
def send_message(message_id: int) -> str:
    return services.message_send(message_id=message_id)


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=5, max_retries=5)
def send_waiting_messages() -> int:
    """Beat's send sweep (every MEASURES_SEND_SWEEP_SECONDS): queue every message due for a slow
    retry after an outage, or otherwise waiting for a worker. Each send claims its message, so a
    message queued twice (by this and by the tick) is still sent once."""
    ids = services.messages_to_send()
    services.queue_messages(ids, expires=max(settings.MEASURES_SEND_SWEEP_SECONDS * 2, 10))
    if ids:
        logger.info("send sweep: queued=%s", len(ids))
    return len(ids)


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=5, max_retries=5)
def replan_courses_in_care() -> int:
    """After the schedule changed: bring every course in care in line (idempotent, so a retry or a
    second change while it runs does no harm)."""
    return services.schedule_sync_open_courses()


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=5, max_retries=5)
def sync_stalled_courses() -> int:
    count = services.schedule_sync_stalled()
    logger.info("stalled courses re-planned: %s", count)
    return count


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=5, max_retries=5)
def sync_course_schedule(course_id: str) -> dict:
    from courses.models import Course

    return services.schedule_sync(course=Course.objects.get(pk=course_id))
