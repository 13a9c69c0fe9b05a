"""The self-report token gives access to one administration and nothing else, once.

Already covered elsewhere, and not repeated here:
- the page shows the first name and the instrument only, no-referrer, no-store:
  test_web_self_report.py::test_it_shows_only_the_first_name_and_the_instrument and
  test_api_self_report.py::test_the_form_shows_the_instrument_and_the_first_name_only;
- a second POST is refused and the first answers kept: test_web_self_report.py::
  test_a_used_link_is_refused_and_the_first_answers_are_kept and test_api_self_report.py::
  test_a_second_submission_is_410_used_and_keeps_the_first_answers (no alert from the second);
- expired and cancelled links: test_web_self_report.py::test_an_expired_link_says_ask_for_a_new_one_410,
  ::test_a_closed_questionnaire_says_the_window_has_closed_410 and their API twins;
- a staff session on the API request is ignored:
  test_api_self_report.py::test_a_signed_in_session_is_not_needed_nor_used.
"""

import datetime as dt
import json
import logging
import re
import uuid
from decimal import Decimal

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from courses import services as course_services
from courses.choices import Indication, Sex
from measures import services
from measures.models import Administration, AdministrationStatus, OutboundMessage, Response, SafetyAlert
from measures.web.log_redaction import RedactSelfReportTokens
from tests.measures.web_helpers import answers, open_administrations

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    # These tests walk many URLs from one address; the limit has its own tests.
    settings.SELF_REPORT_RATE_LIMIT_PER_ADDRESS = 0
    settings.SELF_REPORT_RATE_LIMIT_POSTS_PER_TOKEN = 0


@pytest.fixture
def alice(course, clock):
    return open_administrations(course)


@pytest.fixture
def bob_course(other_therapist, provider, clock):
    bob = course_services.patient_register(
        by=other_therapist,
        mrn="TEST-0002",
        given_name="Bobbie",
        family_name="Secondpatient",
        date_of_birth=dt.date(1975, 1, 2),
        sex=Sex.MALE,
        email="bobbie.secondpatient@example.invalid",
        weight_kg=Decimal("80.0"),
    )
    return course_services.course_open(
        patient=bob,
        by=other_therapist,
        indication=Indication.MDD_TRD,
        therapists=[other_therapist],
        medical_provider=provider,
    )


@pytest.fixture
def bob(bob_course):
    services.tick()
    return {a.instrument: a for a in Administration.objects.filter(course=bob_course, status="open")}


def token_of(administration) -> str:
    administration.refresh_from_db()
    return services.self_report_token(administration)


def page(token: str) -> str:
    return reverse("self-report", args=[token])


def _nothing_stored():
    assert not Response.objects.exists()
    assert not Administration.objects.filter(status=AdministrationStatus.COMPLETED).exists()


# --- one administration -----------------------------------------------------------------------


def test_each_token_opens_exactly_its_own_questionnaire_and_shows_no_other_record(client, alice, bob):
    # Alice has three open questionnaires, Bob his own; each token opens its one.
    expected = {"phq9": "(PHQ-9)", "gad7": "(GAD-7)", "pcl5": "(PCL-5)"}
    for code, administration in [*alice.items(), *bob.items()]:
        text = client.get(page(token_of(administration))).content.decode()
        assert expected[code] in text
        assert all(other not in text for key, other in expected.items() if key != code)
        first, other_first = (
            ("Alice", "Bobbie") if administration.course == alice["phq9"].course else ("Bobbie", "Alice")
        )
        assert f"Hello {first}," in text and other_first not in text
        record = administration.course
        for private in (
            record.patient.family_name,
            record.patient.mrn,
            record.patient.email,
            "1980",
            "1975",
            str(record.pk),
            str(record.patient.pk),
            str(administration.pk),
            "Therapist-Demo",
            "Othercaseload-Demo",
            "Medic-Demo",
        ):
            assert private not in text, (code, private)
        # The form posts back to the link itself, nowhere else.
        assert re.findall(r'action="([^"]*)"', text) in ([], [""])


def test_answers_sent_with_a_token_land_on_its_administration_only(client, alice, bob):
    assert client.post(page(token_of(alice["gad7"])), answers(7, 2)).status_code == 200
    stored = Response.objects.get()
    assert stored.administration == alice["gad7"] and stored.patient == alice["gad7"].course.patient
    assert set(Administration.objects.filter(status="completed")) == {alice["gad7"]}


# --- a token for A is never a token for B -----------------------------------------------------


def test_changing_any_single_character_of_the_token_makes_it_invalid(client, alice):
    token = token_of(alice["phq9"])
    for position, char in enumerate(token):
        for replacement in {"A" if char != "A" else "B", ":" if char != ":" else "-"}:
            tampered = token[:position] + replacement + token[position + 1 :]
            with pytest.raises(services.LinkProblem) as problem:
                services.self_report_resolve(token=tampered)
            assert problem.value.kind == "invalid", (position, replacement)
    # And through the page, at the start, middle and end of the token.
    for position in (0, len(token) // 2, len(token) - 1):
        tampered = token[:position] + ("x" if token[position] != "x" else "y") + token[position + 1 :]
        assert client.get(page(tampered)).status_code == 404
        assert client.post(page(tampered), answers(9, 1)).status_code == 404
    _nothing_stored()


def _parts(token: str) -> tuple[dict, str]:
    payload, signature = token.split(":", 1)
    return json.loads(signing.b64_decode(payload.encode())), signature


def _payload(data: dict) -> str:
    return signing.b64_encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def test_swapping_the_administration_in_the_payload_breaks_the_signature(client, alice, bob):
    data, signature = _parts(token_of(alice["phq9"]))
    for target in (bob["phq9"], alice["gad7"]):
        forged = f"{_payload(data | {'a': str(target.pk)})}:{signature}"
        response = client.post(page(forged), answers(9, 3))
        assert response.status_code == 404 and "This link is not valid" in response.content.decode()
    _nothing_stored()


def test_a_signature_spliced_onto_another_payload_is_invalid(client, alice, bob):
    _, alice_signature = _parts(token_of(alice["phq9"]))
    bob_payload = token_of(bob["phq9"]).split(":", 1)[0]
    for forged in (f"{bob_payload}:{alice_signature}", f"{bob_payload}:{alice_signature.split(':')[-1]}"):
        assert client.get(page(forged)).status_code == 404
        assert client.post(page(forged), answers(9, 3)).status_code == 404
    _nothing_stored()


def test_even_a_correctly_signed_token_needs_the_administrations_own_nonce(alice, bob):
    # Were the signing key to leak, B's id with A's nonce would still not open B.
    alice_nonce = Administration.objects.get(pk=alice["phq9"].pk).link_nonce
    issued = int(dt.datetime.now(dt.UTC).timestamp())
    forged = signing.dumps({"a": str(bob["phq9"].pk), "n": alice_nonce, "t": issued}, salt=services.LINK_SALT)
    with pytest.raises(services.LinkProblem) as problem:
        services.self_report_resolve(token=forged)
    assert problem.value.kind == "invalid"


def test_a_value_signed_for_another_purpose_is_not_a_link(client, alice):
    administration = Administration.objects.get(pk=alice["phq9"].pk)
    payload = {"a": str(administration.pk), "n": administration.link_nonce, "t": int(dt.datetime.now().timestamp())}
    for salt in ("django.core.signing", "django.contrib.sessions.SessionStore", "measures.other"):
        assert client.get(page(signing.dumps(payload, salt=salt))).status_code == 404
    _nothing_stored()


# --- the token is no staff credential ---------------------------------------------------------

PUBLIC = {
    "favicon",  # a redirect to the static mark, for anyone
    "healthz",
    "livez",
    "readyz",
    "login",
    "logout",
    "session-state",  # answers anyone, and tells the signed-out only that they are (below)
    "api-token",
    "api-schema",
    "api-docs",
    "self-report",
    "api-self-report",
    # A member of staff's forgotten password and invitation: public by design, about staff only.
    "password-reset",
    "password-reset-sent",
    "password-reset-complete",
    "password-reset-confirm",
    "invitation-accept",
}


def _routes(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern).startswith("admin/"):
                continue
            yield from _routes(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name not in PUBLIC and entry.name is not None:
            yield prefix + str(entry.pattern), entry.name


def _fill(route: str, ids: dict) -> str:
    def value(match):
        converter, name = match.group(1) or "str", match.group(2)
        if converter == "int":
            return str(ids.get(name, 1))
        if converter == "uuid":
            return str(ids.get(name, uuid.uuid4()))
        return str(ids.get(name, "medical-evaluation"))

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


def test_after_using_the_link_the_same_client_reaches_no_staff_page_nor_api_route(alice, course):
    client = Client()
    token = token_of(alice["phq9"])
    opened = client.get(page(token))
    sent = client.post(page(token), answers(9, 1))
    assert opened.status_code == sent.status_code == 200
    assert not opened.cookies and not sent.cookies  # no session, no CSRF cookie: nothing to carry on
    assert "_auth_user_id" not in client.session
    administration = alice["phq9"]
    invitation = OutboundMessage.objects.filter(administration__course=course).first()
    ids = {
        "course_id": course.pk,
        "patient_id": course.patient_id,
        "administration_id": administration.pk,
        "message_id": invitation.pk if invitation else 1,
        "staff_id": 1,
        "user_id": 1,
    }
    walked = 0
    for route, name in _routes():
        url = _fill(route, ids)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if url.startswith("/api/"):
                if name == "api-not-found":  # the catch-all: a JSON 404 for anyone
                    continue
                assert response.status_code in (401, 403), (method, url, response.status_code)
                assert "Alice" not in response.content.decode()
            else:
                assert response.status_code == 302, (method, url, response.status_code)
                assert response["Location"].startswith("/login/?next="), (method, url)
            walked += 1
    assert walked > 150  # every staff route, both ways; a new one is walked without editing this test
    assert client.get(reverse("session-state")).json() == {"signed_in": False}
    # The token itself is no API credential either.
    for header in (f"Token {token}", f"Bearer {token}"):
        response = client.get("/api/courses/", HTTP_AUTHORIZATION=header)
        assert response.status_code in (401, 403)
    assert client.get("/admin/").status_code == 302 and client.get("/admin/").url.startswith("/admin/login/")


def test_the_public_routes_show_no_patient_data_to_the_token_holder(client, alice):
    client.get(page(token_of(alice["phq9"])))
    for url in ("/healthz", "/livez", "/readyz", "/api/schema/", "/api/docs/", "/login/", "/api/no-such-route/"):
        text = client.get(url).content.decode()
        assert "Alice" not in text and "Testpatient" not in text and "TEST-0001" not in text, url


# --- once --------------------------------------------------------------------------------------


def test_answering_through_one_link_uses_up_every_link_to_that_questionnaire(client, alice, clock):
    # The invitation and a later reminder carry different tokens for one administration.
    invitation = token_of(alice["phq9"])
    clock.shift(dt.timedelta(days=3))
    reminder = token_of(alice["phq9"])
    assert invitation != reminder
    assert client.post(page(reminder), answers(9, 1, item_9=0)).status_code == 200
    for token in (invitation, reminder):
        again = client.get(page(token))
        assert again.status_code == 410 and "we already have your answers" in again.content.decode()
        refused = client.post(page(token), answers(9, 3))
        assert refused.status_code == 410 and "we already have your answers" in refused.content.decode()
        body = {"answers": {str(n): 3 for n in range(1, 10)}}
        api = client.post(f"/api/self-report/{token}/", body, content_type="application/json")
        assert api.status_code == 410 and api.json()["reason"] == "used"
    stored = Response.objects.get()
    assert stored.answers == {str(n): (0 if n == 9 else 1) for n in range(1, 10)} and stored.total == 8
    assert not SafetyAlert.objects.exists()


def test_a_link_superseded_by_send_a_new_link_is_refused_and_the_new_one_works(
    client, alice, therapist, django_capture_on_commit_callbacks
):
    administration = alice["phq9"]
    old = token_of(administration)
    staff = Client()
    staff.force_login(therapist)
    with django_capture_on_commit_callbacks(execute=True):
        sent = staff.post(reverse("administration-new-link", args=[administration.pk]))
    assert sent.status_code == 302
    mailed = [m for m in mail.outbox if "new link" in m.subject]
    assert len(mailed) == 1
    new = re.search(r"/r/([^/\s]+)/", mailed[0].body).group(1)
    assert new != old
    for method in ("get", "post"):
        response = getattr(client, method)(page(old), answers(9, 3) if method == "post" else None)
        assert response.status_code == 404 and "This link is not valid" in response.content.decode()
    _nothing_stored()
    assert client.post(page(new), answers(9, 1)).status_code == 200
    assert Response.objects.get().administration == administration


# --- the token stays out of logs and Referer headers ------------------------------------------


class _Everything(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.NOTSET)
        self.lines = []
        self.records = []

    def emit(self, record):
        self.records.append(record)
        self.lines.append(self.format(record) + " " + repr(getattr(record, "args", "")))


@pytest.fixture
def every_log_line():
    """Each record any logger emits at its configured level, including loggers that do not
    propagate to the root (django.request), which pytest's caplog would miss."""
    handler = _Everything()
    handler.setFormatter(logging.Formatter("%(name)s %(message)s %(pathname)s"))
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


def test_the_token_is_in_no_log_line_whatever_the_link_answers(client, alice, clock, settings, every_log_line):
    phq9, gad7 = alice["phq9"], alice["gad7"]
    tokens = [token_of(phq9), token_of(gad7)]
    expired_token = tokens[1]
    client.get(page(tokens[0]))  # 200
    client.post(page(tokens[0]), answers(8, 1))  # 400
    client.post(page(tokens[0]), answers(9, 1, item_9=2))  # 200 and a safety alert with its mail
    client.post(page(tokens[0]), answers(9, 1))  # 410 used
    client.get(page(tokens[0][:-3] + "abc"))  # 404
    client.post(f"/api/self-report/{tokens[0]}/", {"answers": {"1": 1}}, content_type="application/json")
    settings.SELF_REPORT_RATE_LIMIT_PER_ADDRESS = 1
    client.get(page(tokens[0]))  # 429
    settings.SELF_REPORT_RATE_LIMIT_PER_ADDRESS = 0
    clock.shift(dt.timedelta(days=8))
    client.get(page(expired_token))  # 410 expired
    assert SafetyAlert.objects.count() == 1  # the flow really ran
    for token in tokens:
        assert not [line for line in every_log_line.lines if token in line or token[:20] in line]


def test_every_answer_of_the_link_tells_the_browser_to_send_no_referer(client, alice, clock, settings):
    token = token_of(alice["phq9"])
    outcomes = {
        "form": client.get(page(token)),
        "missing answer": client.post(page(token), answers(8, 1)),
        "thanks": client.post(page(token), answers(9, 1)),
        "used": client.get(page(token)),
        "invalid": client.get(page("nonsense")),
        "api used": client.get(f"/api/self-report/{token}/"),
    }
    settings.SELF_REPORT_RATE_LIMIT_PER_ADDRESS = 1
    outcomes["too many"] = client.get(page(token))
    outcomes["api too many"] = client.get(f"/api/self-report/{token}/")
    for name, response in outcomes.items():
        assert response["Referrer-Policy"] == "no-referrer", name
        assert "no-store" in response["Cache-Control"], name
        if response["Content-Type"].startswith("text/html"):
            text = response.content.decode()
            assert '<meta name="referrer" content="no-referrer">' in text, name
            # Nothing on the page loads from or links to another site that could be sent a Referer.
            assert not re.findall(r'(?:src|href|action)="(?:https?:)?//', text), name


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Internal Server Error: /r/eyJh.x:1v:abc/", "Internal Server Error: /r/[link]/"),
        ("Bad Request: /api/self-report/eyJh:1v:abc/", "Bad Request: /api/self-report/[link]/"),
        ('"GET /r/eyJh:1v:abc/?x=1 HTTP/1.1" 200', '"GET /r/[link]/?x=1 HTTP/1.1" 200'),
        ("Not Found: /records/medical-evaluation/123/", "Not Found: /records/medical-evaluation/123/"),
        ("message 12 sent (invitation, email)", "message 12 sent (invitation, email)"),
    ],
)
def test_the_log_filter_takes_the_token_out_of_a_line(line, expected):
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "%s", (line,), None)
    assert RedactSelfReportTokens().filter(record) is True
    assert record.getMessage() == expected


def test_a_server_error_on_the_link_page_does_not_write_the_token_to_the_console(alice, monkeypatch, every_log_line):
    def broken(**kwargs):
        raise RuntimeError("simulated fault")

    monkeypatch.setattr(services, "self_report_resolve", broken)
    token = token_of(alice["phq9"])
    assert Client(raise_request_exception=False).get(page(token)).status_code == 500
    logged = [record for record in every_log_line.records if record.name == "django.request"]
    assert logged  # Django logs every 500 with its path
    console = logging.getLogger("django.request").handlers  # as settings.LOGGING configured them
    written = [handler.format(record) for record in logged for handler in console if handler.filter(record)]
    assert written and not [line for line in written if token in line]
