"""Access hardening beyond the matrix: CSRF on every form, no patient data in URLs, logs or error pages,
sessions that end when idle. (Lock-out after repeated failed logins is tested in tests/courses/
test_web_access.py and test_api_access.py.)"""

import datetime as dt
import logging
import re
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, path, resolve, reverse
from rest_framework.authentication import SessionAuthentication
from rest_framework.test import APIClient
from rest_framework.views import APIView

import kapclinic.urls
from accounts.tokens import ApiTokenAuthentication
from courses import kinds, services
from courses.choices import Indication, Sex
from courses.selectors import patient_get
from devtools.builders import PASSWORD
from kernel.api.views import ApiView
from kernel.web.views import staff_view
from measures import tasks as measure_tasks
from tests.test_authorization_matrix import MATRIX, _route_of, _url, project_routes
from tests.test_authorization_matrix import world as world  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

# --- a URL map with two views that fail after reading a patient, for the 500 pages ---------------------


@staff_view
def _boom_page(request, patient_id):
    patient = patient_get(user=request.user, patient_id=patient_id)
    raise RuntimeError(f"failed while showing patient {patient.pk}")


class _BoomApi(ApiView):
    def get(self, request, patient_id):
        patient = patient_get(user=request.user, patient_id=patient_id)
        raise RuntimeError(f"failed while serving patient {patient.pk}")


def _boom_link(request, token):
    raise RuntimeError("failed while answering a self-report link")


urlpatterns = [
    path("boom/<uuid:patient_id>/", _boom_page),
    path("r/<str:token>/boom/", _boom_link),
    path("api/boom/<uuid:patient_id>/", _BoomApi.as_view()),
    *kapclinic.urls.urlpatterns,
]


def identifiers(patient) -> list[str]:
    """What would identify the synthetic patient, in the forms a page or a log could spell it."""
    born = patient.date_of_birth
    found = [
        patient.given_name,
        patient.family_name,
        patient.mrn,
        patient.email,
        born.isoformat(),
        born.strftime("%m/%d/%Y"),
        born.strftime("%d/%m/%Y"),
        born.strftime("%B %d, %Y").replace(" 0", " "),
        born.strftime("%d %B %Y").lstrip("0"),
    ]
    if patient.phone:
        found += [patient.phone, re.sub(r"\D", "", patient.phone)]
    return found


def leaks(text: str, needles: list[str]) -> list[str]:
    lowered = text.lower()
    return [n for n in needles if n and n.lower() in lowered]


# --- CSRF ----------------------------------------------------------------------------------------------

# The views that take a POST without Django's CSRF check, and why. A new csrf_exempt view fails
# test_csrf_exemptions_are_the_listed_ones until it is added here with its reason.
ALLOWED_CSRF_EXEMPT = {
    # The patient's self-report page: the signed, single-use token in the URL is the authority, not a
    # cookie, so a forged post could do nothing the link's holder could not; and with `no-referrer` the
    # browser posts `Origin: null`, which the CSRF check always refuses (measures/web/views/self_report.py).
    "self-report": "signed single-use token",
    # The API's catch-all answers a JSON 404 to every method and changes nothing (kernel/api/errors.py).
    "api-not-found": "answers 404, changes nothing",
}
# The API's own exemption, the same rule: no session, no cookie, only the token in the URL.
# The token endpoint takes a password, not a session or a token.
ALLOWED_API_WITHOUT_SESSION = {"api-self-report", "api-token"}
# Revoking "the token this request carries" needs that token: a browser's session is refused.
TOKEN_ONLY_API = {"api-logout"}


def _walk_callbacks(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk_callbacks(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name, entry.callback


def test_csrf_exemptions_are_the_listed_ones():
    exempt_pages, api_views = set(), {}
    for pattern, name, callback in _walk_callbacks(get_resolver()):
        view_class = getattr(callback, "cls", None)
        if view_class is not None and issubclass(view_class, APIView):
            # DRF marks its views exempt and checks CSRF itself, in SessionAuthentication.
            api_views[name or pattern] = view_class
        elif getattr(callback, "csrf_exempt", False):
            exempt_pages.add(name or pattern)
    assert exempt_pages == set(ALLOWED_CSRF_EXEMPT), "csrf_exempt views not on the allowed list"
    assert api_views, "the walk found no API views"
    for key, view_class in api_views.items():
        classes = set(view_class.authentication_classes)
        if key in ALLOWED_API_WITHOUT_SESSION:
            assert classes == set(), key
            continue
        # Only DRF's own session class (which enforces CSRF) and tokens (sent by hand, never by a browser).
        assert classes <= {SessionAuthentication, ApiTokenAuthentication}, (key, classes)


def _csrf_failure(response) -> bool:
    if response.status_code != 403:
        return False
    if response.get("Content-Type", "").startswith("application/json"):
        return "CSRF Failed" in response.json()["detail"]
    return "CSRF" in response.content.decode()


def test_every_web_form_refuses_a_post_without_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["actors"]["lead"])
    checked = []
    for key, cells in MATRIX.items():
        url = _url(key, world)
        if "POST" not in cells or url.startswith("/api/"):
            continue
        cache.clear()
        with transaction.atomic():
            response = client.post(url, {})
            transaction.set_rollback(True)
        if _route_of(key) in ALLOWED_CSRF_EXEMPT:
            assert response.status_code in (400, 404), (key, response.status_code)
        else:
            assert _csrf_failure(response), (key, response.status_code)
        checked.append(key)
    assert len(checked) > 60


def test_the_api_with_a_session_refuses_unsafe_methods_without_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["actors"]["lead"])
    checked = []
    for key, cells in MATRIX.items():
        url = _url(key, world)
        if not url.startswith("/api/"):
            continue
        for method in set(cells) - {"GET"}:
            cache.clear()
            with transaction.atomic():
                response = client.generic(method, url, "{}", content_type="application/json")
                transaction.set_rollback(True)
            route = _route_of(key)
            if route in ALLOWED_API_WITHOUT_SESSION:
                assert response.status_code in (400, 404), (key, method, response.status_code)
            elif route in TOKEN_ONLY_API:
                # A session is not even looked at: no cookie can make the request count.
                assert response.status_code == 401, (key, method, response.status_code)
            elif route in ALLOWED_CSRF_EXEMPT:
                assert response.status_code == 404, (key, method, response.status_code)
            else:
                assert _csrf_failure(response), (key, method, response.status_code)
            checked.append((key, method))
    assert len(checked) > 60


def test_with_the_token_the_same_requests_pass_the_csrf_check(lead, patient):
    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)
    client.get(reverse("clinic-settings"))  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    page = client.post(reverse("patient-list"), {"q": "Nobody", "csrfmiddlewaretoken": token})
    assert page.status_code == 200
    api = client.patch("/api/settings/", "{}", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert api.status_code == 200, api.content
    # A token-authenticated API client sends no cookie, so it needs no CSRF token.
    token_client = APIClient(enforce_csrf_checks=True)
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {_api_token(lead)}")
    assert token_client.patch("/api/settings/", {}, format="json").status_code == 200


def _api_token(user) -> str:
    from accounts.tokens import token_issue

    return token_issue(user=user)[1]


def test_the_login_form_needs_the_csrf_token_too(therapist):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "therapist", "password": PASSWORD})
    assert _csrf_failure(response)
    assert "_auth_user_id" not in client.session


# --- no patient data in URLs ---------------------------------------------------------------------------

ALLOWED_PARAMETERS = {
    ("uuid", "*_id"): "a record's UUID",
    ("int", "user_id"): "a staff account's number",
    ("int", "staff_id"): "a staff account's number",
    ("int", "message_id"): "a message's number",
    ("slug", "record_type"): "a record kind: one of kinds.slugs()",
    ("str", "record_type"): "a record kind: one of kinds.slugs()",
    ("str", "token"): "the signed self-report token, or a mailed link's one-time token",
    ("str", "uidb64"): "a staff account's number in base64 (a mailed invitation or reset link)",
}
PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def test_every_url_parameter_is_an_id_or_an_opaque_token():
    seen = set()
    for key, pattern in project_routes().items():
        assert "(?P<" not in pattern, f"{key}: a regex group in a URL needs its own review: {pattern}"
        for match in PARAMETER.finditer(pattern):
            converter, name = match["converter"] or "str", match["name"]
            allowed = (converter, name) in ALLOWED_PARAMETERS or (
                converter == "uuid" and name.endswith("_id") and ("uuid", "*_id") in ALLOWED_PARAMETERS
            )
            assert allowed, f"{key}: <{converter}:{name}> is not an id or an opaque token"
            seen.add((converter, name))
    assert ("uuid", "patient_id") in seen and ("str", "token") in seen


LINK = re.compile(r"""(?:href|action|src|formaction)\s*=\s*["']([^"']+)["']""")


def _check_link(link: str, needles: list[str], where: str) -> None:
    assert not leaks(unquote(link), needles), f"{where}: patient data in a link: {link}"
    parts = urlsplit(link)
    if parts.scheme in ("mailto", "tel", "sms"):
        return  # the patient's own address, to call or write to them: a link, not a URL of ours
    if parts.netloc or not parts.path.startswith("/") or parts.path.startswith("/static/"):
        return
    assert not parts.query or not leaks(unquote(parts.query), needles), link
    match = resolve(parts.path)
    for name, value in match.kwargs.items():
        if name == "record_type":
            assert value in kinds.slugs(), link
        elif name == "token":
            assert re.fullmatch(r"[\w:.-]{20,}", value), link
        else:
            assert isinstance(value, (uuid.UUID, int)), f"{where}: {name}={value!r} in {link}"


def test_the_links_on_every_page_carry_no_patient_data(world):
    patient = world["records"]["patient"]
    needles = identifiers(patient)
    # tel: and mailto: links on the patient's page are the point of those links; everything else is checked.
    phone_or_mail = re.compile(r"^(tel|mailto|sms):")
    pages = 0
    for actor in ("therapist", "provider", "lead"):
        client = APIClient()
        client.raise_request_exception = False  # a page that fails is the matrix's finding, not this test's
        client.force_login(world["actors"][actor])
        for key, cells in MATRIX.items():
            url = _url(key, world)
            if "GET" not in cells or url.startswith("/api/") or "download" in key:
                continue
            cache.clear()
            with transaction.atomic():
                response = client.get(url)
                transaction.set_rollback(True)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            pages += 1
            for link in LINK.findall(response.content.decode()):
                if phone_or_mail.match(link):
                    continue
                _check_link(link.replace("&amp;", "&"), needles, f"{actor} {key}")
            if response.status_code == 200 and response.get("Location"):
                _check_link(response["Location"], needles, key)
    assert pages > 60


# --- no patient data in logs or error pages -------------------------------------------------------------

LOGGERS = ("", "django", "django.request", "django.security", "kapclinic", "courses", "measures", "reports", "celery")


@pytest.fixture
def all_logs(caplog):
    """Every record at DEBUG from the project's and Django's loggers, those that do not propagate included."""
    attached = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        caplog.set_level(logging.DEBUG, logger=name)
        if not logger.propagate or name == "":
            logger.addHandler(caplog.handler)
            attached.append(logger)
    yield caplog
    for logger in attached:
        logger.removeHandler(caplog.handler)


def _log_text(caplog) -> str:
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


@pytest.fixture
def reachable_patient(patient, therapist):
    return services.patient_update(patient=patient, by=therapist, changes={"phone": "+1 555 0142 7788"})


def test_error_pages_and_logs_name_no_patient(
    reachable_patient, course, therapist, other_therapist, outsider, all_logs, settings
):
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__
    patient = reachable_patient
    needles = identifiers(patient)
    page = f"/patients/{patient.pk}/"
    api = f"/api/patients/{patient.pk}/"
    requests = [
        # (who, method, url, body, status, is an error page)
        (other_therapist, "get", page, None, 404, True),
        (other_therapist, "get", api, None, 404, True),
        (outsider, "get", page, None, 403, True),
        (outsider, "get", api, None, 403, True),
        (therapist, "get", f"/patients/{patient.pk}/audit/", None, 403, True),
        (therapist, "get", f"/api/patients/{patient.pk}/audit/", None, 403, True),
        (None, "get", api, None, 401, True),
        (therapist, "get", "/patients/not-a-uuid/", None, 404, True),
        (therapist, "get", "/api/patients/not-a-uuid/", None, 404, True),
        # A refused form re-shows what was typed to the one who typed it; only the log is checked here.
        (
            therapist,
            "post",
            f"/patients/{patient.pk}/edit/",
            {"family_name": patient.family_name, "email": "not-an-address", "phone": patient.phone},
            400,
            False,
        ),
        (therapist, "patch", api, {"email": "not-an-address", "phone": "x" * 40}, 400, False),
        # The search term travels in the body; the log must not echo it.
        (therapist, "post", "/patients/", {"q": patient.family_name}, 200, False),
        (therapist, "get", f"/boom/{patient.pk}/", None, 500, True),
        (therapist, "get", f"/api/boom/{patient.pk}/", None, 500, True),
    ]
    for user, method, url, body, status, error_page in requests:
        client = APIClient()
        client.raise_request_exception = False
        if user is not None:
            client.force_login(user)
        kwargs = {"format": "json"} if url.startswith("/api/") and body is not None else {}
        response = getattr(client, method)(url, body, **kwargs) if body is not None else getattr(client, method)(url)
        assert response.status_code == status, (url, response.status_code)
        if error_page:
            assert not leaks(response.content.decode(), needles), (url, leaks(response.content.decode(), needles))
    text = _log_text(all_logs)
    assert "RuntimeError" in text and "Internal Server Error" in text, "the forced 500s were not logged"
    assert not leaks(text, needles), leaks(text, needles)


def test_the_tick_logs_no_names_addresses_or_tokens(
    course, therapist, provider, all_logs, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    by_text = services.patient_register(
        by=therapist,
        mrn="TEST-0002",
        given_name="Bertha",
        family_name="Textmessage-Demo",
        date_of_birth=dt.date(1975, 11, 3),
        sex=Sex.FEMALE,
        phone="+1 555 0199 2468",
        preferred_channel="sms",
        weight_kg=Decimal("64.0"),
    )
    services.course_open(
        patient=by_text, by=therapist, indication=Indication.ANXIETY, therapists=[therapist], medical_provider=provider
    )
    with django_capture_on_commit_callbacks(execute=True):
        measure_tasks.tick.delay()
    texts = [p.read_text() for p in Path(settings.SMS_FILE_PATH).glob("*.txt")]
    assert mail.outbox and texts, "the tick sent nothing: nothing to check"
    sent = [m.body for m in mail.outbox] + texts
    tokens = {t for body in sent for t in re.findall(r"/r/([^/\s]+)/", body)}
    assert tokens
    log = _log_text(all_logs)
    assert "tick: opened=" in log and " sent (" in log
    needles = identifiers(course.patient) + identifiers(by_text) + sorted(tokens) + ["/r/"]
    assert not leaks(log, needles), leaks(log, needles)


# --- sessions end when idle ---------------------------------------------------------------------------


def test_an_idle_session_ends_and_activity_keeps_it_alive(client, therapist, clock, settings):
    idle = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert idle == dt.timedelta(minutes=30)
    assert settings.SESSION_SAVE_EVERY_REQUEST and settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    response = client.post(reverse("login"), {"username": "therapist", "password": PASSWORD})
    assert response.status_code == 302
    caseload = reverse("caseload")
    # Each request moves the end of the session on: 25 minutes apart, three times, still signed in.
    for _ in range(3):
        clock.shift(idle - dt.timedelta(minutes=5))
        assert client.get(caseload).status_code == 200
    # Then a pause longer than the idle time: back to the login page.
    clock.shift(idle + dt.timedelta(minutes=1))
    response = client.get(caseload)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_link_check_catches_a_name_or_a_birth_date_in_a_link():
    needles = ["Testpatient", "1980-05-17"]
    for bad in ("/patients/?q=Testpatient", "/caseload/?born=1980-05-17", "https://elsewhere.invalid/testpatient"):
        with pytest.raises(AssertionError):
            _check_link(bad, needles, "a made-up page")
    _check_link(f"/patients/{uuid.uuid4()}/", needles, "a made-up page")


# --- a deactivated account ---------------------------------------------------------------------------


def test_deactivating_an_account_ends_its_session_and_its_token_at_once(therapist, lead, course):
    web = Client()
    web.force_login(therapist)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {_api_token(therapist)}")
    assert web.get(reverse("caseload")).status_code == 200
    assert api.get(f"/api/courses/{course.pk}/").status_code == 200
    services.staff_set_active(by=lead, user=therapist, active=False)
    response = web.get(reverse("course-timeline", args=[course.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert api.get(f"/api/courses/{course.pk}/").status_code == 401


class _RefusesEveryRecipient:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return f"550 5.1.1 <{address}>: Recipient address rejected"


def test_a_refused_invitation_retries_without_the_patients_address(course, clock, settings):
    from aiosmtpd.controller import Controller
    from celery.exceptions import Retry

    from measures import services as measure_services
    from tests.measures.test_smtp import free_port

    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    server = Controller(_RefusesEveryRecipient(), hostname="127.0.0.1", port=port)
    server.start()
    try:
        message_id = measure_services.tick()["to_send"][0]
        # Eagerly, the retry reaches the caller; a worker logs this same text at INFO ("... retry: <exc>").
        with pytest.raises(Retry) as retry:
            measure_tasks.send_message.delay(message_id)
    finally:
        server.stop()
    assert "SMTPRecipientsRefused" in str(retry.value)
    assert not leaks(str(retry.value), identifiers(course.patient)), str(retry.value)


# --- the self-report token in request logs ------------------------------------------------------------


def _link_requests(token: str) -> None:
    client = Client(raise_request_exception=False)
    assert client.get(f"/r/{token}x/").status_code == 404
    assert client.post(f"/r/{token}/", {"item_1": "9"}).status_code == 400
    assert client.post(f"/api/self-report/{token}/", {}, content_type="application/json").status_code == 400
    assert client.get(f"/r/{token}/boom/").status_code == 500


@pytest.mark.parametrize("with_filter", [False, True], ids=["without-the-filter", "with-the-filter"])
def test_request_logs_keep_the_self_report_token_out_with_the_filter(with_filter, course, clock, all_logs, settings):
    """Django logs the path of each error answer; on a link that path holds the patient's credential.
    Without measures.web.log_redaction it is there (the control case); with the filter, "[link]" stands in its place."""
    from measures import services as measure_services
    from measures.web.log_redaction import RedactSelfReportTokens
    from tests.measures.web_helpers import open_administrations

    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__
    token = measure_services.self_report_token(open_administrations(course)["gad7"])
    # settings.LOGGING puts the filter on the console handler, and a filter rewrites the record
    # every later handler sees: the control case takes it off for the duration.
    installed = [
        (handler, f) for handler in logging.getLogger().handlers + logging.getLogger("django.request").handlers
        for f in handler.filters if isinstance(f, RedactSelfReportTokens)
    ]  # fmt: skip
    for handler, f in installed:
        if not with_filter:
            handler.removeFilter(f)
    if with_filter:
        all_logs.handler.addFilter(RedactSelfReportTokens())
    try:
        _link_requests(token)
    finally:
        all_logs.handler.filters.clear()
        for handler, f in installed:
            handler.addFilter(f)
    text = _log_text(all_logs)
    assert "Internal Server Error: /r/" in text
    if with_filter:
        assert token not in text and token[:20] not in text
        assert "/r/[link]/boom/" in text and "/api/self-report/[link]/" in text
    else:
        assert token in text


def test_the_console_log_handler_redacts_self_report_tokens(settings):
    handler = settings.LOGGING["handlers"]["console"]
    factories = {settings.LOGGING.get("filters", {}).get(name, {}).get("()") for name in handler.get("filters", [])}
    assert "measures.web.log_redaction.RedactSelfReportTokens" in factories
