"""Celery tasks of the measures: thin, take ids, re-read the database, call a service.

Beat runs `tick` every few minutes; the database says what is due, so two ticks at once,
or a tick re-run after a worker died, find the work already claimed and do nothing twice.
"""

import logging
from collections import Counter

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
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


def _backoff(task, retries: int) -> int:
    """The wait Celery's autoretry chooses for `task` after `retries` retries."""
    return get_exponential_backoff_interval(
        factor=int(max(1.0, task.retry_backoff)),
        retries=retries,
        maximum=task.retry_backoff_max,
        full_jitter=task.retry_jitter,
    )


@shared_task(bind=True, acks_late=True, retry_backoff=5, retry_backoff_max=120, max_retries=5)
def send_messages(self, message_ids: list[int]) -> dict[str, int]:
    """A batch of sends in one broker message (services.queue_messages). Each message is claimed
    and sent on its own, as by send_message. One that fails for now goes on alone as a send_message
    task, after that task's first back-off: the rest of the batch does not wait for it, and its quick
    retries are send_message's. A database error retries the batch from the message it hit (one
    sent already would be skipped by its claim)."""
    outcomes = Counter()
    for done, message_id in enumerate(message_ids):
        try:
            outcomes[services.message_send(message_id=message_id)] += 1
        except services.SendFailed:
            send_message.apply_async((message_id,), countdown=_backoff(send_message, 0))
            outcomes["retrying"] += 1
        except DatabaseError as exc:
            raise self.retry(
                args=(message_ids[done:],), exc=exc, countdown=_backoff(self, self.request.retries)
            ) from None
    return dict(outcomes)


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
