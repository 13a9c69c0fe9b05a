"""Worker and beat heartbeats: is anything sending the questionnaires?

Beat sends `ops.tasks.heartbeat` every OPS_HEARTBEAT_SECONDS. When beat has handed it to the
broker, the beat process itself records "beat last ticked"; when a worker runs it, the worker
records "worker last ran". A dead beat thus stops the beat row (and, since the worker only runs
what beat sends, the worker row too); a dead worker stops only the worker row. A row older than
OPS_BEAT_STALE_SECONDS / OPS_WORKER_STALE_SECONDS (defaults from MEASURES_TICK_SECONDS) is stale:
/readyz answers 503 naming it, and the lead's dashboard shows a banner.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from kernel import clock
from ops.models import Component, Heartbeat

logger = logging.getLogger(__name__)

HEARTBEAT_TASK = "ops.tasks.heartbeat"

# Set by Celery's beat_init signal: only the beat process records the beat heartbeat, so a test or
# a person queueing the task by hand does not pass for a running scheduler.
_in_beat = False


def record(component: str, *, at: dt.datetime | None = None) -> None:
    Heartbeat.objects.update_or_create(component=component, defaults={"last_at": clock.now(at)})


def stale_after(component: str) -> int:
    if component == Component.BEAT:
        return settings.OPS_BEAT_STALE_SECONDS
    return settings.OPS_WORKER_STALE_SECONDS


def _installed_at() -> dt.datetime | None:
    """When the heartbeat table was created: a new install is given one threshold to see a first beat."""
    try:
        return (
            MigrationRecorder.Migration.objects.filter(app="ops", name="0001_initial")
            .values_list("applied", flat=True)
            .first()
        )
    except DatabaseError:
        return None


def states(now: dt.datetime | None = None) -> dict[str, dict]:
    """{component: {"ok", "last", "stale_after_seconds"}}; "last" is an ISO time or None (never)."""
    now = clock.now(now)
    last = dict(Heartbeat.objects.values_list("component", "last_at"))
    installed = None
    found = {}
    for component in (Component.BEAT, Component.WORKER):
        limit = stale_after(component)
        at = last.get(component)
        if at is None:
            installed = installed or _installed_at()
            # Never seen: stale once the install is older than the threshold (or of unknown age).
            ok = installed is not None and (now - installed).total_seconds() <= limit
        else:
            ok = (now - at).total_seconds() <= limit
        found[str(component)] = {"ok": ok, "last": at.isoformat() if at else None, "stale_after_seconds": limit}
    return found


def banner(now: dt.datetime | None = None) -> str:
    """The lead's dashboard line when questionnaires are not going out, or "" when all is well.

    A stale beat is named first: without it the worker gets nothing to run, so its row is stale
    too and says nothing about the worker itself."""
    found = states(now)
    beat, worker = found[Component.BEAT], found[Component.WORKER]
    if not beat["ok"]:
        since = f"has not run since {_local(beat['last'])}" if beat["last"] else "has never run"
        return f"Questionnaires are not being sent: the scheduler (Celery beat) {since}."
    if not worker["ok"]:
        since = f"has run a task since {_local(worker['last'])}" if worker["last"] else "has ever run a task"
        return f"Questionnaires are not being sent: no Celery worker {since}."
    return ""


def _local(iso: str) -> str:
    at = timezone.localtime(dt.datetime.fromisoformat(iso))
    return f"{at:%Y-%m-%d %H:%M} ({at.tzname()})"


def _mark_beat(**_):
    global _in_beat
    _in_beat = True


def _beat_published(sender=None, **_):
    if not _in_beat or sender != HEARTBEAT_TASK:
        return
    try:
        record(Component.BEAT)
    except DatabaseError as exc:
        # The scheduler keeps scheduling with the database down; readiness reports the database.
        logger.warning("heartbeat: could not record the beat heartbeat: %s", type(exc).__name__)
    finally:
        # Beat serves no requests, so Django never closes its connection: a database restart
        # would leave it broken for good. One short connection per heartbeat instead.
        connection.close()


def connect_signals() -> None:
    from celery.signals import after_task_publish, beat_init

    beat_init.connect(_mark_beat, weak=False, dispatch_uid="ops-heartbeat-beat-init")
    after_task_publish.connect(_beat_published, weak=False, dispatch_uid="ops-heartbeat-beat-published")
