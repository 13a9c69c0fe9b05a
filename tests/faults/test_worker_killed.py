"""A worker killed mid-tick (SIGKILL while the mail server holds its send unanswered): once a new
worker runs, every due invitation is accepted by the mail server exactly once.

The one window where that cannot hold is shown as it is: a worker killed after the server accepted
a message but before the database says "sent" sends that message again (at-least-once)."""

import time
from collections import Counter

import psycopg
import pytest
from django.db import connection

from measures.instruments import INSTRUMENTS
from measures.models import MessageStatus, OutboundMessage
from tests.faults.support import Mailbox, database_url, due_courses, send_task, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

STALE_SECONDS = 3


@pytest.fixture
def mailbox(request):
    # The first test holds the third recipient command; the second holds nothing.
    return Mailbox(hold_rcpt=3 if "while_sending" in request.node.name else None)


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
    # Two accepted, the third held before acceptance, three more waiting behind it in the batch.
    assert len(mailbox.accepted) == 2
    assert statuses() == {MessageStatus.SENT: 2, MessageStatus.SENDING: 1, MessageStatus.PENDING: 3}
    held = OutboundMessage.objects.get(status=MessageStatus.SENDING)
    first.kill()
    killed_at = time.monotonic()

    second = workers(**env).wait_ready()
    mailbox.release.set()  # the dead worker's session is gone: its message is never accepted
    # The three sends behind the held one were in the same batch (measures.tasks.send_messages) and
    # died with the worker; the next tick (beat's job, done here by hand) queues every message never
    # tried, so they go out. The abandoned claim waits until it is stale, then a tick queues it too.
    send_task(redis_server.url, "measures.tasks.tick")
    wait_for(lambda: statuses()[MessageStatus.SENT] >= 5, 60, "the three invitations of the lost batch")
    # Before its claim is stale the abandoned message is left alone. On a slow machine the second
    # worker can take longer than STALE_SECONDS to start, and then this same tick sends it too.
    if time.monotonic() - killed_at < STALE_SECONDS:
        assert OutboundMessage.objects.get(pk=held.pk).status == MessageStatus.SENDING

    ticks = 1

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


def test_a_worker_killed_after_the_server_accepted_sends_that_message_again(
    workers, redis_server, mailbox, therapist, provider
):
    [course] = due_courses(therapist, provider, 1)
    env = {"MEASURES_SEND_CLAIM_STALE_SECONDS": str(STALE_SECONDS)}
    # Lock the first message's row just before the server accepts it: the worker's "sent" update
    # then waits on the lock, and the worker is killed there, after acceptance, before the update.
    with (
        psycopg.connect(database_url()) as gate,
        psycopg.connect(database_url(), autocommit=True) as watch,
    ):

        def lock_the_row_being_sent(envelope):
            if len(mailbox.accepted) == 0:
                gate.execute(f"SELECT id FROM {OutboundMessage._meta.db_table} WHERE status = 'sending' FOR UPDATE")

        mailbox.before_accepting = lock_the_row_being_sent
        first = workers(**env).wait_ready()
        send_task(redis_server.url, "measures.tasks.tick")

        def update_waiting():
            rows = watch.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                [connection.settings_dict["NAME"]],
            ).fetchall()
            return [pid for (pid,) in rows]

        [pid] = wait_for(update_waiting, 30, "the worker's 'sent' update to wait on the row lock")
        assert len(mailbox.accepted) == 1
        first.kill()
        # A killed client's backend would run its queued UPDATE once the lock is free: end it, as
        # the worker's death would have before it ever sent the UPDATE.
        watch.execute("SELECT pg_terminate_backend(%s)", [pid])
        gate.rollback()

    doubled = OutboundMessage.objects.get(status=MessageStatus.SENDING)
    second = workers(**env).wait_ready()
    killed_at = time.monotonic()

    def all_sent():
        if time.monotonic() - killed_at > STALE_SECONDS:
            send_task(redis_server.url, "measures.tasks.tick")
        return statuses() == {MessageStatus.SENT: 3}

    wait_for(all_sent, 30, "every invitation to be sent", every=1)
    received = Counter(name for _, name in mailbox.subjects_by_recipient())
    name = INSTRUMENTS[doubled.administration.instrument].name
    assert received[name] == 2, second.log()  # at-least-once: the patient gets this one twice
    assert sorted(received.elements()) == sorted(["GAD-7", "PCL-5", "PHQ-9", name])
    assert OutboundMessage.objects.get(pk=doubled.pk).attempts == 2
    assert OutboundMessage.objects.filter(administration__course=course).count() == 3
