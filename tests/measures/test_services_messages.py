"""message_send: the claim, a real failing SMTP connection, retries, failed and resent."""

import socket

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

from measures import services
from measures.models import MeasureSettings, MessageStatus, OutboundMessage

REENTRANT_RESULTS = []


class ReentrantBackend(LocmemBackend):
    """While one send is under way, a second worker tries the same message."""

    def send_messages(self, messages):
        for message in OutboundMessage.objects.filter(status=MessageStatus.SENDING):
            REENTRANT_RESULTS.append(services.message_send(message_id=message.pk))
        return super().send_messages(messages)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def closed_smtp(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = unused_port()
    settings.EMAIL_TIMEOUT = 1
    settings.EMAIL_USE_TLS = False


@pytest.fixture
def invitation(course, clock):
    ids = services.tick()["to_send"]
    return OutboundMessage.objects.get(pk=ids[0])


def test_a_second_send_while_the_first_is_under_way_is_skipped(invitation, settings):
    settings.EMAIL_BACKEND = "tests.measures.test_services_messages.ReentrantBackend"
    REENTRANT_RESULTS.clear()
    assert services.message_send(message_id=invitation.pk) == "sent"
    assert REENTRANT_RESULTS == ["skipped"]
    assert len(mail.outbox) == 1
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts) == (MessageStatus.SENT, 1)


def test_a_failing_send_goes_back_to_pending_with_the_error(invitation, closed_smtp):
    with pytest.raises(services.SendFailed) as caught:
        services.message_send(message_id=invitation.pk)
    invitation.refresh_from_db()
    assert invitation.status == MessageStatus.PENDING
    assert invitation.attempts == 1
    assert "ConnectionRefusedError" in invitation.last_error
    assert "ConnectionRefusedError" in str(caught.value)
    assert invitation.sent_at is None and invitation.failed_at is None


def test_after_the_last_attempt_the_message_is_failed_visible_and_can_be_resent(
    invitation, closed_smtp, settings, lead, therapist, mailoutbox
):
    services.measure_settings_update(by=lead, changes={"send_max_attempts": 3})
    settings.MEASURES_SEND_GIVE_UP_PATIENT_SECONDS = 0  # no slow retries (tests/measures/test_send_after_outage.py)
    for _ in range(2):
        with pytest.raises(services.SendFailed):
            services.message_send(message_id=invitation.pk)
    assert services.message_send(message_id=invitation.pk) == "failed"
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts) == (MessageStatus.FAILED, 3)
    assert invitation.failed_at is not None and "ConnectionRefusedError" in invitation.last_error
    # What staff see: the failed messages, never dropped.
    assert list(OutboundMessage.objects.filter(status=MessageStatus.FAILED)) == [invitation]
    assert services.message_send(message_id=invitation.pk) == "skipped"
    # The mail server is back; a member of staff resends.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    services.message_retry(message=invitation, by=therapist)
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts, invitation.failed_at) == (MessageStatus.PENDING, 0, None)
    assert invitation.pk in services.messages_to_send()
    assert services.message_send(message_id=invitation.pk) == "sent"
    assert len(mailoutbox) == 1


def test_the_send_task_asks_celery_for_a_retry_on_a_failed_send(invitation, closed_smtp):
    from celery.exceptions import Retry

    from measures.tasks import send_message

    with pytest.raises(Retry):
        send_message.delay(invitation.pk)
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts) == (MessageStatus.PENDING, 1)


def test_message_retry_rules(invitation, therapist, outsider, clock):
    with pytest.raises(ValidationError):
        services.message_retry(message=invitation, by=therapist)  # not failed
    OutboundMessage.objects.filter(pk=invitation.pk).update(status=MessageStatus.FAILED)
    with pytest.raises(PermissionDenied):
        services.message_retry(message=invitation, by=outsider)


def test_the_default_attempt_limit_is_six():
    assert MeasureSettings().send_max_attempts == 6


def test_staff_send_a_new_link_and_the_old_one_stops_working(course, therapist, clock, mailoutbox):
    from measures.models import Administration, AdministrationStatus, MessageKind, OutboundMessage

    services.tick()
    administration = Administration.objects.get(course=course, instrument="phq9", status=AdministrationStatus.OPEN)
    old_token = services.self_report_token(administration)
    message = services.administration_send_new_link(administration=administration, by=therapist)
    assert message.kind == MessageKind.NEW_LINK
    with pytest.raises(services.LinkProblem) as caught:
        services.self_report_resolve(token=old_token)
    assert caught.value.kind == "invalid"
    administration.refresh_from_db()
    assert services.self_report_resolve(token=services.self_report_token(administration)) == administration
    # Staff may send another: the tick's messages are unique per purpose, new links are not.
    services.administration_send_new_link(administration=administration, by=therapist)
    assert OutboundMessage.objects.filter(administration=administration, kind=MessageKind.NEW_LINK).count() == 2


def test_no_new_link_for_a_questionnaire_that_is_not_open(course, therapist, other_therapist, clock):
    from django.core.exceptions import PermissionDenied, ValidationError

    from measures.models import Administration

    scheduled = Administration.objects.filter(course=course).first()
    with pytest.raises(ValidationError):
        services.administration_send_new_link(administration=scheduled, by=therapist)
    with pytest.raises(PermissionDenied):
        services.administration_send_new_link(administration=scheduled, by=other_therapist)
