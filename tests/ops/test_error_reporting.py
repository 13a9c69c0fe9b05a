"""Error reporting sends no patient data: a real view fails while handling a request full of
patient details, credentials and a link token; the event Sentry would send is captured by a
transport of our own (the SDK's real client, scrubber and Django integration) and searched."""

import json

import pytest
import sentry_sdk
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse
from sentry_sdk.transport import Transport

from kapclinic import error_reporting

TOKEN = "eyJhIjoxfQ.SYNTHETIC-TOKEN-must-not-be-sent"
NAME, FAMILY, MRN = "Scarlett", "Scrubwell", "SCRUB-0077"
EMAIL = "scarlett.scrubwell@example.invalid"
SECRETS = (TOKEN, "SYNTHETIC-TOKEN", NAME, FAMILY, MRN, EMAIL, "1979-04-02", "sessionid", "csrftoken",
           "Bearer", "api-key-9f8e", "lead@example.invalid", "Lead-Demo", "?mrn")  # fmt: skip


class CapturingTransport(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.events = []

    def capture_envelope(self, envelope):
        self.events.extend(item.payload.json for item in envelope.items if item.type == "event")


@pytest.fixture
def sent():
    transport = CapturingTransport()
    error_reporting.init("https://public@sentry.invalid/1", transport=transport)
    yield transport.events
    sentry_sdk.flush()
    # The integrations stay installed in this process; with no DSN they send nothing.
    sentry_sdk.init()


def _fail_with_patient_details(*args, **kwargs):
    # What a database error really says: it quotes the row.
    raise IntegrityError(
        f"duplicate key value violates unique constraint DETAIL: Key (mrn)=({MRN}) for {NAME} {FAMILY}"
    )


def _assert_clean(events):
    assert events, "no event was captured: the test would prove nothing"
    text = json.dumps(events)
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} was in the event"


@pytest.mark.django_db
def test_a_failing_staff_page_sends_no_name_mrn_body_cookie_or_user(sent, lead, patient, monkeypatch):
    monkeypatch.setattr("courses.web.views.patients.patient_get", _fail_with_patient_details)
    client = Client(raise_request_exception=False)
    lead.email = "lead@example.invalid"
    lead.save()
    client.force_login(lead)
    client.cookies["csrftoken"] = "csrftoken-value"

    response = client.post(
        reverse("patient-edit", args=[patient.pk]) + f"?mrn={MRN}&name={NAME}",
        {"given_name": NAME, "family_name": FAMILY, "mrn": MRN, "email": EMAIL, "date_of_birth": "1979-04-02"},
        headers={"Authorization": "Bearer api-key-9f8e", "X-Request-ID": "sentry-test-1", "Referer": f"/r/{TOKEN}/"},
    )

    assert response.status_code == 500
    _assert_clean(sent)
    event = next(e for e in sent if "exception" in e)
    assert event["exception"]["values"][-1]["type"] == "IntegrityError"
    assert event["exception"]["values"][-1]["value"] == error_reporting.REMOVED
    # The SDK attached the body (it does: {"given_name": ...}); the scrubber keeps none of these.
    assert set(event["request"]) <= {"method", "url", "headers"}
    assert set(event["user"]) <= {"id"}
    assert event["tags"]["request_id"] == "sentry-test-1"
    assert all("vars" not in f for v in event["exception"]["values"] for f in v["stacktrace"]["frames"])


@pytest.mark.django_db
def test_a_failing_self_report_link_sends_no_token(sent, monkeypatch):
    monkeypatch.setattr("measures.services.self_report_resolve", _fail_with_patient_details)
    client = Client(raise_request_exception=False)

    response = client.post(f"/r/{TOKEN}/?q={TOKEN}", {"item_1": "3", "note": f"{NAME} feels low"})

    assert response.status_code == 500
    _assert_clean(sent)
    event = next(e for e in sent if "exception" in e)
    assert set(event["request"]) <= {"method", "url", "headers"}
    assert event["transaction"] == "/r/[link]/"  # the route pattern, redacted like a path


def test_the_scrubber_removes_what_the_sdk_may_add():
    event = {
        "request": {
            "url": f"https://clinic.example/api/self-report/{TOKEN}/?x=1",
            "method": "POST",
            "data": {"given_name": NAME},
            "cookies": {"sessionid": "abc"},
            "query_string": f"mrn={MRN}",
            "headers": {"Cookie": "sessionid=abc", "Authorization": "Token api-key-9f8e", "User-Agent": "probe"},
            "env": {"REMOTE_ADDR": "203.0.113.9"},
        },
        "user": {"id": 7, "username": "lead", "email": "lead@example.invalid", "ip_address": "203.0.113.9"},
        "logentry": {"message": "Internal Server Error: %s", "params": [f"/r/{TOKEN}/"], "formatted": f"/r/{TOKEN}/"},
        "extra": {"request": f"<WSGIRequest: GET '/r/{TOKEN}/'>"},
        "breadcrumbs": {"values": [{"message": f"{NAME} {MRN}"}]},
        "transaction": f"/r/{TOKEN}/",
    }

    scrubbed = error_reporting.before_send(event, {})

    assert scrubbed["request"] == {
        "method": "POST",
        "url": "https://clinic.example/api/self-report/[link]/",
        "headers": {"User-Agent": "probe"},
    }
    assert scrubbed["user"] == {"id": 7}
    assert scrubbed["logentry"] == {"message": "Internal Server Error: %s", "params": []}
    assert "extra" not in scrubbed and "breadcrumbs" not in scrubbed
    _assert_clean([scrubbed])
