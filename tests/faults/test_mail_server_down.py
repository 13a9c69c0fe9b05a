"""The mail server is down for a while: every invitation of the tick is retried, staff see them
waiting with their attempts and the error, and once the server is back each arrives once."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from measures.models import MeasureSettings, MessageStatus, OutboundMessage
from tests.faults.conftest import due_courses
from tests.faults.support import send_task, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def attempts():
    return sorted(OutboundMessage.objects.values_list("attempts", flat=True))


def test_invitations_wait_while_the_mail_server_is_down_and_then_arrive_once(
    workers, redis_server, smtp, mailbox, client, therapist, provider
):
    [course] = due_courses(therapist, provider, 1)
    # The outage is short; the clinic's last attempt (when a message turns "failed") is not the point here.
    MeasureSettings.load()
    MeasureSettings.objects.update(send_max_attempts=20)
    smtp.stop()
    worker = workers(MEASURES_SEND_CLAIM_STALE_SECONDS="2", MEASURES_SEND_RETRY_BACKOFF_SECONDS="1").wait_ready()
    ticks = 0

    def tick():
        nonlocal ticks
        send_task(redis_server.url, "measures.tasks.tick")
        ticks += 1

    def tried_twice():
        # Each failure puts the message back to pending and retries it with back-off; the tick
        # also re-queues a pending message whose last attempt is older than the stale age.
        tick()
        return len(attempts()) == 3 and min(attempts()) >= 2

    wait_for(tried_twice, 30, "every invitation to be tried twice", every=1)
    messages = OutboundMessage.objects.filter(administration__course=course)
    assert set(messages.values_list("status", flat=True)) <= {MessageStatus.PENDING, MessageStatus.SENDING}
    assert all("ConnectionRefused" in e or e == "" for e in messages.values_list("last_error", flat=True))
    assert mailbox.accepted == []

    client.force_login(therapist)
    page = client.get(reverse("worklist")).content.decode()
    assert "Messages waiting to send (3)" in page, page
    assert "Last error: ConnectionRefusedError" in page
    assert "Messages that failed after every retry (0)" in page
    api = APIClient()
    api.force_authenticate(therapist)
    listed = api.get("/api/messages/").json()["results"]
    assert len(listed) == 3
    assert {m["status"] for m in listed} <= {"pending", "sending"} and min(m["attempts"] for m in listed) >= 2

    smtp.start()
    wait_for(
        lambda: tick() or messages.filter(status=MessageStatus.SENT).count() == 3,
        40,
        "the invitations to go out once the server is back",
        every=1,
    )
    # Retries still on their back-off find the message sent and skip it; wait until they have run.
    wait_for(lambda: not redis_server.client().zcard("unacked_index"), 30, "the retries still queued", every=0.5)
    tick()
    wait_for(lambda: worker.log(10**6).count("tick: opened=") == ticks, 20, "the worker to run every tick")

    expected = [(course.patient.email, name) for name in ("GAD-7", "PCL-5", "PHQ-9")]
    assert mailbox.subjects_by_recipient() == expected, worker.log()
    assert set(messages.values_list("status", "last_error")) == {(MessageStatus.SENT, "")}
    assert min(attempts()) >= 3  # at least two refused, then the one that went out
    page = client.get(reverse("worklist")).content.decode()
    assert "Messages waiting to send (0)" in page and "No messages waiting." in page
