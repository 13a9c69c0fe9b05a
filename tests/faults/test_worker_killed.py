"""A worker killed mid-tick (SIGKILL while the mail server holds its send unanswered): once a new
worker runs, every due invitation is accepted by the mail server exactly once.

Not covered because it cannot hold: a worker killed after the server accepted a message but
before the database says "sent" sends that message again (at-least-once; docs/faults.md)."""

import time
from collections import Counter

import pytest

from measures.models import MessageStatus, OutboundMessage
from tests.faults.conftest import due_courses
from tests.faults.support import send_task, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

STALE_SECONDS = 3


@pytest.fixture
def mailbox():
    from tests.faults.support import Mailbox

    return Mailbox(hold_rcpt=3)


def statuses():
    return Counter(OutboundMessage.objects.values_list("status", flat=True))


def test_a_worker_killed_while_sending_leaves_no_invitation_lost_or_doubled(
    workers, redis_server, mailbox, therapist, provider
):
    courses = due_courses(therapist, provider, 2)
    env = {"MEASURES_SEND_CLAIM_STALE_SECONDS": str(STALE_SECONDS)}
    first = workers(**env).wait_ready()
    send_task(redis_server.url, "measures.tasks.tick")

    assert mailbox.holding.wait(30), first.log()
    # Two accepted, the third held before acceptance, three more waiting on the broker.
    assert len(mailbox.accepted) == 2
    assert statuses() == {MessageStatus.SENT: 2, MessageStatus.SENDING: 1, MessageStatus.PENDING: 3}
    held = OutboundMessage.objects.get(status=MessageStatus.SENDING)
    first.kill()
    killed_at = time.monotonic()

    second = workers(**env).wait_ready()
    mailbox.release.set()  # the dead worker's session is gone: its message is never accepted
    # The three queued sends go out; the abandoned claim waits until it is stale, then the tick
    # (beat's job, done here by hand) queues it again.
    wait_for(lambda: statuses()[MessageStatus.SENT] == 5, 30, "the three queued invitations")
    assert OutboundMessage.objects.get(pk=held.pk).status == MessageStatus.SENDING

    ticks = 0

    def stale_claim_resent():
        nonlocal ticks
        if time.monotonic() - killed_at > STALE_SECONDS:
            send_task(redis_server.url, "measures.tasks.tick")
            ticks += 1
        return statuses()[MessageStatus.SENT] == 6

    wait_for(stale_claim_resent, 30, "the abandoned invitation to be sent again", every=1)
    # One more tick, and wait until the worker has run every tick (and so every send queued
    # before it): a second copy of anything would have gone out by then.
    send_task(redis_server.url, "measures.tasks.tick")
    wait_for(lambda: second.log().count("tick: opened=") == ticks + 1, 20, "the worker to run every tick")

    emails = [c.patient.email for c in courses]
    expected = sorted((email, name) for email in emails for name in ("GAD-7", "PCL-5", "PHQ-9"))
    assert mailbox.subjects_by_recipient() == expected, second.log()
    messages = OutboundMessage.objects.filter(administration__course__in=courses)
    assert messages.count() == 6 and messages.values("administration").distinct().count() == 6
    assert statuses() == {MessageStatus.SENT: 6}
    attempts = dict(messages.values_list("pk", "attempts"))
    assert attempts.pop(held.pk) == 2  # the killed attempt, then the one that went out
    assert set(attempts.values()) == {1}
