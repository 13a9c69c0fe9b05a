"""The heartbeat task: beat sends it, a worker runs it (ops/heartbeats.py)."""

from celery import shared_task

from ops import heartbeats
from ops.models import Component


# No retries and no result: the next heartbeat is the retry. expires (in settings' schedule) keeps a
# long outage from leaving a pile of them in the queue.
@shared_task(name=heartbeats.HEARTBEAT_TASK, ignore_result=True)
def heartbeat() -> None:
    heartbeats.record(Component.WORKER)
