"""A message outlives a mail outage: after the quick retries, beat's send sweep keeps trying with a
growing interval until the give-up time (72 h for safety mail, 24 h for a patient's); an
invitation or reminder whose questionnaire no longer waits is marked "not needed" at send time.
The failures are real refused connections to a closed loopback port."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from measures import services
from measures.models import Administration, MessageKind, MessageStatus, OutboundMessage, SafetyAlert
from tests.measures.test_services_messages import unused_port
from tests.support import NOW

PHQ9_ITEM_9 = dict.fromkeys(range(1, 9), 0) | {9: 2}
PHQ9_ZERO = dict.fromkeys(range(1, 10), 0)


@pytest.fixture
def closed_smtp(settings):
    """The mail server is down: a real connection to a loopback port nothing listens on."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", unused_port(), 1
    settings.EMAIL_USE_TLS = False


def seconds(n: int) -> dt.timedelta:
    return dt.timedelta(seconds=n)


def fail_quick_retries(message_id: int, now: dt.datetime, count: int = 6) -> str:
    """The clinic's quick retries (send_max_attempts, 6 by default), all refused."""
    for _ in range(count - 1):
        with pytest.raises(services.SendFailed):
            services.message_send(message_id=message_id, now=now)
    return services.message_send(message_id=message_id, now=now)


@pytest.fixture
def invitations(course, clock):
    return {
        OutboundMessage.objects.get(pk=pk).administration.instrument: OutboundMessage.objects.get(pk=pk)
        for pk in services.tick()["to_send"]
    }


@pytest.fixture
def alert_mails(invitations, clock, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    services.message_send(message_id=invitations["phq9"].pk)  # sent; the patient answers with item 9 = 2
    administration = invitations["phq9"].administration
    services.response_submit_self_report(token=services.self_report_token(administration), answers=PHQ9_ITEM_9)
    return list(OutboundMessage.objects.filter(kind=MessageKind.SAFETY_ALERT))


def test_after_the_quick_retries_the_sweep_retries_with_a_growing_capped_interval_until_the_give_up_time(
    invitations, closed_smtp, settings
):
    settings.MEASURES_SEND_LATER_FIRST_SECONDS = 120
    settings.MEASURES_SEND_LATER_MAX_SECONDS = 900
    settings.MEASURES_SEND_CLAIM_STALE_SECONDS = 60
    message = invitations["gad7"]
    assert fail_quick_retries(message.pk, NOW) == "retry later"
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.PENDING, 6)
    assert message.next_attempt_at == NOW + seconds(120)
    assert message.retry_until == NOW + dt.timedelta(hours=24)
    assert "ConnectionRefusedError" in message.last_error

    # Not due yet: the sweep leaves it alone, and a stray send task does not claim it.
    assert message.pk not in services.messages_to_send(now=NOW + seconds(119))
    assert services.message_send(message_id=message.pk, now=NOW + seconds(119)) == "skipped"
    assert message.pk not in services.messages_to_send(now=NOW + seconds(90))  # its claim is stale, it is not due

    at, waits = NOW + seconds(120), []
    for _ in range(6):
        assert message.pk in services.messages_to_send(now=at)
        assert services.message_send(message_id=message.pk, now=at) == "retry later"
        message.refresh_from_db()
        waits.append(int((message.next_attempt_at - at).total_seconds()))
        at = message.next_attempt_at
    assert waits == [240, 480, 900, 900, 900, 900]  # doubling, capped
    assert message.retry_until == NOW + dt.timedelta(hours=24)  # fixed at the first slow retry

    at = message.retry_until
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=at)
    assert services.message_send(message_id=message.pk, now=at) == "failed"
    message.refresh_from_db()
    assert (message.status, message.failed_at, message.next_attempt_at) == (MessageStatus.FAILED, at, None)
    assert message.pk not in services.messages_to_send(now=at + dt.timedelta(days=30))


def test_a_safety_alert_mail_is_tried_for_72_hours_and_a_patient_message_for_24(alert_mails, invitations, closed_smtp):
    later = NOW + dt.timedelta(minutes=5)
    for message in [*alert_mails, invitations["gad7"]]:
        assert fail_quick_retries(message.pk, later) == "retry later"
    retry_until = dict(OutboundMessage.objects.filter(next_attempt_at__isnull=False).values_list("kind", "retry_until"))
    assert retry_until == {
        MessageKind.SAFETY_ALERT: later + dt.timedelta(hours=72),
        MessageKind.INVITATION: later + dt.timedelta(hours=24),
    }


def test_the_sweep_task_delivers_what_waited_once_the_server_is_back(
    invitations, closed_smtp, settings, mailoutbox, clock
):
    from measures.tasks import send_waiting_messages

    message = invitations["pcl5"]
    assert fail_quick_retries(message.pk, NOW) == "retry later"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the server is back
    # The other two were never tried, so the sweep queues them too.
    assert send_waiting_messages() == 2  # clock frozen at NOW: this one is not due yet
    assert [m.to for m in mailoutbox] == [[invitations["gad7"].to_address]] * 2
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    clock.move_to(message.next_attempt_at)
    assert send_waiting_messages() == 1
    assert send_waiting_messages() == 0
    message.refresh_from_db()
    assert (message.status, message.attempts, message.next_attempt_at) == (MessageStatus.SENT, 7, None)
    assert len(mailoutbox) == 3


def test_the_sweep_is_one_beat_entry():
    from django.conf import settings

    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "measures.tasks.send_waiting_messages"]
    assert [e["schedule"] for e in entries] == [60]


def test_an_invitation_for_a_questionnaire_answered_meanwhile_is_not_sent(invitations, clock, mailoutbox):
    phq9 = invitations["phq9"]
    services.response_submit_self_report(token=services.self_report_token(phq9.administration), answers=PHQ9_ZERO)
    assert services.message_send(message_id=phq9.pk) == "not needed"
    phq9.refresh_from_db()
    assert phq9.status == MessageStatus.NOT_NEEDED
    assert phq9.not_needed_reason == "The questionnaire was answered before this message was sent."
    assert phq9.sent_at is None and mailoutbox == []
    assert phq9.pk not in services.messages_to_send()
    assert services.message_send(message_id=phq9.pk) == "skipped"
    # The other two still go.
    assert [services.message_send(message_id=invitations[i].pk) for i in ("gad7", "pcl5")] == ["sent", "sent"]


def test_a_reminder_waiting_after_an_outage_is_not_sent_once_answered(invitations, closed_smtp, settings, mailoutbox):
    gad7 = invitations["gad7"]
    assert fail_quick_retries(gad7.pk, NOW) == "retry later"
    services.response_submit_self_report(
        token=services.self_report_token(gad7.administration), answers=dict.fromkeys(range(1, 8), 1)
    )
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    gad7.refresh_from_db()
    assert services.message_send(message_id=gad7.pk, now=gad7.next_attempt_at) == "not needed"
    assert mailoutbox == []


def test_no_invitation_for_a_waived_questionnaire_or_a_closed_window(invitations, therapist, clock, mailoutbox):
    gad7, pcl5 = invitations["gad7"], invitations["pcl5"]
    services.administration_waive(administration=gad7.administration, by=therapist, reason="Not this time.")
    assert services.message_send(message_id=gad7.pk) == "not needed"
    gad7.refresh_from_db()
    assert gad7.not_needed_reason == "The questionnaire is waived; it no longer waits for an answer."
    closed = Administration.objects.get(pk=pcl5.administration_id).missed_after
    after = dt.datetime.combine(closed + dt.timedelta(days=1), dt.time(12), tzinfo=dt.UTC)
    assert services.message_send(message_id=pcl5.pk, now=after) == "not needed"
    pcl5.refresh_from_db()
    assert pcl5.not_needed_reason == f"The questionnaire's window closed on {closed:%Y-%m-%d}."
    assert mailoutbox == []


def test_safety_alert_mail_goes_out_even_after_the_alert_was_acknowledged(alert_mails, therapist, mailoutbox):
    alert = SafetyAlert.objects.get()
    services.safety_alert_acknowledge(alert=alert, by=therapist, action_note="Called the patient; safe.")
    assert {services.message_send(message_id=m.pk) for m in alert_mails} == {"sent"}


def test_staff_send_a_waiting_message_now_and_a_failed_one_again(invitations, closed_smtp, settings, therapist):
    message = invitations["gad7"]
    assert fail_quick_retries(message.pk, NOW) == "retry later"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    services.message_retry(message=message, by=therapist)  # "Send now": before its next slow retry
    message.refresh_from_db()
    assert (message.status, message.attempts, message.next_attempt_at, message.retry_until) == (
        MessageStatus.PENDING,
        0,
        None,
        None,
    )
    assert message.pk in services.messages_to_send()
    assert services.message_send(message_id=message.pk) == "sent"
    # A message already sent (or merely pending its quick retries) is not "resent".
    with pytest.raises(ValidationError):
        services.message_retry(message=message, by=therapist)


def test_the_worklist_and_the_lead_dashboard_show_what_waits_and_what_gave_up(
    alert_mails, invitations, closed_smtp, settings, client, therapist, lead
):
    for message in alert_mails:
        assert fail_quick_retries(message.pk, NOW) == "retry later"
    settings.MEASURES_SEND_GIVE_UP_PATIENT_SECONDS = 0
    assert fail_quick_retries(invitations["gad7"].pk, NOW) == "failed"

    client.force_login(therapist)
    page = client.get(reverse("worklist")).content.decode()
    # The in-app alert does not wait for the mail.
    assert "PHQ-9 item 9 = 2" in page
    assert "Messages that failed after every retry (1)" in page
    assert "Messages waiting to send (3)" in page  # the two alert mails and the never-tried PCL-5
    assert page.count("tried again automatically until") == 2 and page.count(">Send now<") == 2
    assert "Last error: ConnectionRefusedError" in page

    client.force_login(lead)
    response = client.get(reverse("lead-dashboard"))
    assert response.status_code == 200, response
    page = response.content.decode()
    assert "1 message failed after every retry" in page
    assert "2 messages could not be sent yet and are tried again automatically" in page
