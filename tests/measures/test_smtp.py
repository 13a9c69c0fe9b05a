"""Invitations through a real SMTP server on loopback (aiosmtpd): what arrives, and a retry
after the server was down that delivers exactly once."""

import socket
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from measures import services
from measures.models import MessageStatus, OutboundMessage


class Store:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_TIMEOUT = 5
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    store = Store()
    servers = []

    class Server:
        received = store.envelopes

        def start(self):
            controller = Controller(store, hostname="127.0.0.1", port=port)
            controller.start()
            servers.append(controller)

        def stop(self):
            servers.pop().stop()

    server = Server()
    server.start()
    yield server
    while servers:
        servers.pop().stop()


def parsed(envelope):
    return message_from_bytes(envelope.original_content, policy=default)


@pytest.fixture
def invitation_ids(course, clock):
    return services.tick()["to_send"]


def test_an_invitation_arrives_with_the_link_and_first_name_only(smtp, invitation_ids):
    phq9 = OutboundMessage.objects.get(pk__in=invitation_ids, administration__instrument="phq9")
    assert services.message_send(message_id=phq9.pk) == "sent"
    assert len(smtp.received) == 1
    envelope = smtp.received[0]
    assert envelope.rcpt_tos == ["alice.testpatient@example.invalid"]
    message = parsed(envelope)
    body = message.get_body().get_content()
    assert "(PHQ-9)" in message["Subject"]
    assert "Hello Alice," in body
    assert "/r/" in body
    token = body.split("/r/", 1)[1].split("/", 1)[0]
    assert services.self_report_resolve(token=token) == phq9.administration
    for identifying in ("TEST-0001", "Testpatient", "1980"):
        assert identifying not in message.as_string()


def test_a_send_while_the_server_is_down_is_retried_and_arrives_once(smtp, invitation_ids):
    message_id = invitation_ids[0]
    smtp.stop()
    with pytest.raises(services.SendFailed):
        services.message_send(message_id=message_id)
    message = OutboundMessage.objects.get(pk=message_id)
    assert (message.status, message.attempts) == (MessageStatus.PENDING, 1)
    assert "Connection refused" in message.last_error or "ConnectionRefused" in message.last_error
    smtp.start()
    assert services.message_send(message_id=message_id) == "sent"
    assert services.message_send(message_id=message_id) == "skipped"
    assert len(smtp.received) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (MessageStatus.SENT, 2, "")


def test_every_invitation_of_a_tick_arrives_once(smtp, invitation_ids):
    for message_id in invitation_ids * 2:
        services.message_send(message_id=message_id)
    subjects = sorted(parsed(e)["Subject"].rsplit("(", 1)[1] for e in smtp.received)
    assert subjects == ["GAD-7)", "PCL-5)", "PHQ-9)"]
