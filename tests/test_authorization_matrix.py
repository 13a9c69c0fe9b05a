"""The authorization matrix: every URL pattern of the project × every actor × read and write.

Each cell holds the answer the product rules call for (README "Roles", docs/architecture.md "Caseloads and
the 404"), one letter per actor, in the order of ACTORS:

    therapist (on the course's caseload and a facilitator of its dosing session), other_therapist (off it),
    provider (the course's and the session's medical provider), other_provider (neither), lead (practice
    lead), outsider (a staff account with no clinical role), anonymous

and the letters mean:

    o  ok: 2xx, a redirect that is not to a login page, 400 (the empty body refused by the form or the
       serializer) or 409 (the record's state refuses it): the permission layer let the request through.
    f  forbidden: 403.
    h  hidden: 404. A record outside the caller's caseload is answered as if it did not exist.
    m  method not offered: 405, for any record of that kind, before its caseload is looked at.
    l  login: a page redirects to /login/; the API answers 401.
    r  refused by a role rule in the service: 403 when the service is reached, or 400 when the empty body
       is refused before it (which comes first is the view's business; neither lets anything through).

Writes are sent with an empty body: the point is who gets past the permission layer, not validation.
Some role rules live in the service (only a medical provider gives a dose, only the author signs a
note...). Where the service is reached with an empty body, the cell reads "r"; where the form refuses
the empty body first, it reads "o", and that role rule is tested with the services. Each cell runs in a
savepoint that is rolled back, so every cell starts from the same records.

Besides the status, every answer to someone off the caseload (other_therapist, other_provider, outsider,
anonymous) is searched for the patient's name, MRN, email and birth date, and a page they are shown for
the course's record ids: a list or a form's choices that let them through would fail here.

A URL pattern with no entry here fails test_every_route_is_in_the_matrix: decide who may reach it first.
The Django admin is covered as a group (superuser only) by test_the_admin_is_for_superusers_only.
"""

import copy
import datetime as dt
import time

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from courses import kinds, services
from devtools.builders import SERIOUS_EVENT, normal_vitals
from measures import services as measure_services
from measures.models import OutboundMessage, SafetyAlert
from reports import services as report_services
from reports.models import ExportKind, ExportStatus
from tests.measures.support import ad_hoc

pytestmark = pytest.mark.django_db

ACTORS = ("therapist", "other_therapist", "provider", "other_provider", "lead", "outsider", "anonymous")

# The usual rows, by who may reach them.
EVERYONE = "ooooooo"
STAFF = "ooooofl"  # any clinical role; the outsider is told it has none
CASELOAD = "ohohofl"  # the course's team and the lead; another caseload gets a 404
LEAD = "ffffofl"
NOWHERE = "hhhhhhh"
NOT_HERE = "hhhhhfl"  # the record is visible, but this action does not apply to its kind
NOT_OFFERED = "mmmmmfl"  # 405: the API does not offer this method for this kind of record
REQUESTER = "ohhhofl"  # an export: whoever asked for it (the therapist here) and the lead
# Role rules the service applies before it reads the body: the course's team gets past the caseload
# check, then only the right role (or author) gets further; the lead, who sees everything, is refused.
FACILITATOR = "ohrhrfl"  # a facilitator of the session, or the therapist who wrote the note
PROVIDER = "rhohrfl"  # the medical provider

READ, WRITE = "GET", "POST"


def rw(read=None, write=None, *, patch=None) -> dict:
    cells = {}
    if read:
        cells["GET"] = read
    if write:
        cells["POST"] = write
    if patch:
        cells["PATCH"] = patch
    return cells


# Record routes take every record kind: {kind: which routes apply}. Edit is for unsigned notes only,
# amend for signable records; the lead, who sees every record, gets the 404 that says "not here".
# The dosing session's note has its own page (dosing-session-note), so it is not edited here.
EDITABLE = {
    "medical-evaluation",
    "psychiatric-evaluation",
    "preparatory-session",
    "integration-session",
    "dose",
    "adverse-event",
}
# Who signs what; the other kinds answer 400 or 409 ("not signable", "already signed") to the whole team.
SIGNER = {
    "preparatory-session": FACILITATOR,
    "integration-session": FACILITATOR,
    "dosing-session": FACILITATOR,
    "dose": PROVIDER,
}
AMENDABLE = {
    "medical-evaluation",
    "psychiatric-evaluation",
    "preparatory-session",
    "integration-session",
    "dosing-session",
    "dose",
    "vital-reading",
    "adverse-event",
}

MATRIX: dict[str, dict[str, str]] = {
    # --- health, schema, sign-in ------------------------------------------------------------------
    "healthz": rw(EVERYONE),
    # Liveness and readiness (docs/operations.md): no login, no patient data.
    "livez": rw(EVERYONE),
    "readyz": rw(EVERYONE),
    # The mark browsers ask for on their own: a redirect to the static file.
    "favicon": rw(EVERYONE),
    # The schema and Swagger UI are for signed-in staff (API_DOCS_PUBLIC=true opens them).
    "api-schema": rw(STAFF),
    "api-docs": rw(STAFF),
    "login": rw(EVERYONE, EVERYONE),
    # Signing out sends everyone to the login page, the signed-out included.
    "logout": rw(write="lllllll"),
    # The page script's "am I still signed in?": it says so to anyone, and says nothing else.
    "session-state": rw(EVERYONE),
    # One's own second factor (accounts/views.py): any signed-in account, its own device only. A
    # finished session is sent on from the code page; an empty code is a 400 on the enrol page.
    "second-factor": rw("ooooool", "ooooool"),
    "second-factor-enrol": rw("ooooool", "ooooool"),
    "second-factor-settings": rw("ooooool"),
    "recovery-codes-new": rw(write="ooooool"),
    "api-token": rw(write=EVERYONE),
    # One's own API tokens: listed (dates only) and revoked. Logout revokes the token the request
    # carries, so a session (which carries none) is asked to sign in with one.
    "api-tokens": rw(STAFF),
    "api-logout": rw(write="lllllll"),
    "api-logout-all": rw(write=STAFF),
    # Mailed links (accounts/password_urls.py): the reset request answers the same to anyone; a
    # link's page needs no sign-in (a wrong or used link is a 400 page, which is "o" here).
    "password-reset": rw(EVERYONE, EVERYONE),
    "password-reset-sent": rw(EVERYONE),
    "password-reset-complete": rw(EVERYONE),
    "password-reset-confirm": rw(EVERYONE, EVERYONE),
    "invitation-accept": rw(EVERYONE, EVERYONE),
    # --- the staff web: landing pages and lists ---------------------------------------------------
    "home": rw(STAFF),
    "caseload": rw(STAFF),
    "provider-today": rw(STAFF),
    "patient-list": rw(STAFF, STAFF),
    "patient-register": rw(STAFF, STAFF),
    "patient-detail": rw(CASELOAD),
    "patient-edit": rw(CASELOAD, CASELOAD),
    "weight-add": rw(write=CASELOAD),
    "course-open": rw(CASELOAD, CASELOAD),
    # The role is checked before the patient is looked up: a non-lead learns nothing either way.
    "patient-audit": rw(LEAD),
    # Right of access: the full record as one file, the lead's (role checked before the lookup, too).
    "patient-record-export": rw(LEAD, LEAD),
    "course-timeline": rw(CASELOAD),
    "course-status": rw(CASELOAD, CASELOAD),
    "course-follow-up-stop": rw(CASELOAD, CASELOAD),
    "medical-evaluation-new": rw(CASELOAD, CASELOAD),
    "psychiatric-evaluation-new": rw(CASELOAD, CASELOAD),
    "preparatory-session-new": rw(CASELOAD, CASELOAD),
    "integration-session-new": rw(CASELOAD, CASELOAD),
    "group-integration-new": rw(STAFF, STAFF),
    "dosing-session-list": rw(STAFF),
    "dosing-session-schedule": rw(STAFF, STAFF),
    "dosing-session": rw(CASELOAD),
    # The facilitation note is the facilitators' (the therapist here), whatever the body holds.
    "dosing-session-note": rw(write=FACILITATOR),
    "dose-add": rw(CASELOAD, CASELOAD),
    "dose": rw(CASELOAD),
    "dose-vitals": rw(write=CASELOAD),
    # Overriding a hold, giving and discharging are the medical provider's, refused before the body is read.
    "dose-override": rw(write=PROVIDER),
    "dose-give": rw(write=PROVIDER),
    "dose-adverse-event": rw(write=CASELOAD),
    "dose-discharge": rw(write=PROVIDER),
    "dose-left": rw(write=PROVIDER),
    # Closing an in-session alert is the medical provider's (the lead too is refused by the service).
    "dose-alert-close": rw(write=PROVIDER),
    "course-adverse-event-new": rw(CASELOAD, CASELOAD),
    # The minimum-age exception is the practice lead's: the care team is refused by the service.
    "course-age-exception": rw(write="rhrhofl"),
    "lead-dashboard": rw(LEAD),
    "adverse-event-acknowledge": rw(write=LEAD),
    "staff": rw(LEAD, LEAD),
    "staff-active": rw(write=LEAD),
    "staff-invite": rw(write=LEAD),
    "clinic-settings": rw(LEAD, LEAD),
    # --- measures web -------------------------------------------------------------------------------
    "self-report": rw(EVERYONE, EVERYONE),
    "self-report[bad-token]": rw(NOWHERE, NOWHERE),
    "worklist": rw(STAFF),
    "safety-alert-acknowledge": rw(write=CASELOAD),
    "message-resend": rw(write=CASELOAD),
    # Entering answers is for clinicians: the lead is refused before the questionnaire is looked up.
    "answers-enter": rw("ohohffl", "ohohffl"),
    "administration-adjust": rw(CASELOAD, CASELOAD),
    "administration-cancel": rw(CASELOAD, CASELOAD),
    # A baseline is waived by a clinician of the course: the lead sees the page but is refused.
    "administration-waive": rw(CASELOAD, "ohohrfl"),
    "administration-new-link": rw(write=CASELOAD),
    "administration-add": rw(CASELOAD, CASELOAD),
    "course-charts": rw(CASELOAD),
    "measure-settings": rw(LEAD, LEAD),
    "measure-settings-replan": rw(write=LEAD),
    # --- reports web ----------------------------------------------------------------------------------
    "outcome-report": rw(LEAD),
    "outcome-report-export": rw(write=LEAD),
    "report-exports": rw(STAFF),
    # The web page refuses someone else's export with a 403 where the API answers 404 (tests/reports/
    # test_web_exports.py holds the 403); the id is a random UUID, so the 403 confirms little.
    "report-export": rw(REQUESTER),
    "report-export-download": rw(REQUESTER),
    "course-progress-report": rw(write=CASELOAD),
    # --- the course API -------------------------------------------------------------------------------
    "api-patients": rw(STAFF, STAFF),
    "api-patient": rw(CASELOAD, patch=CASELOAD),
    "api-patient-weights": rw(CASELOAD, CASELOAD),
    "api-patient-audit": rw(LEAD),
    "api-patient-record-export": rw(write=LEAD),
    "api-courses": rw(STAFF, STAFF),
    "api-course": rw(CASELOAD),
    "api-course-status": rw(write=CASELOAD),
    "api-course-follow-up-stop": rw(write=CASELOAD),
    "api-course-timeline": rw(CASELOAD),
    "api-course-medical-evaluation": rw(write=CASELOAD),
    "api-course-psychiatric-evaluation": rw(write=CASELOAD),
    "api-course-preparatory-sessions": rw(write=CASELOAD),
    "api-integration-sessions": rw(write=STAFF),
    "api-dosing-sessions": rw(STAFF, STAFF),
    "api-dosing-session": rw(CASELOAD),
    "api-dosing-session-doses": rw(write=CASELOAD),
    "api-dosing-session-note": rw(write=CASELOAD),
    "api-dose": rw(CASELOAD, patch=PROVIDER),
    "api-dose-vitals": rw(write=CASELOAD),
    "api-dose-hold-override": rw(write=CASELOAD),
    "api-dose-administer": rw(write=PROVIDER),
    "api-dose-discharge": rw(write=CASELOAD),
    "api-dose-adverse-events": rw(write=CASELOAD),
    "api-dose-alert-close": rw(write=CASELOAD),
    "api-course-adverse-events": rw(write=CASELOAD),
    "api-course-age-exception": rw(write=CASELOAD),
    "api-adverse-events-unacknowledged": rw(LEAD),
    # Acknowledging a serious event is the lead's. Unlike the web page (which checks the role first), the API
    # looks the event up first, so another caseload gets its 404; neither answer tells it anything.
    "api-adverse-event-acknowledge": rw(write="fhfhofl"),
    "api-settings": rw(LEAD, patch=LEAD),
    "api-staff": rw(LEAD, LEAD),
    "api-staff-active": rw(write=LEAD),
    # Anything else under /api/ is a JSON 404 for everyone, before any sign-in.
    "api-not-found": rw(NOWHERE, NOWHERE),
    # --- the measures API -----------------------------------------------------------------------------
    "api-self-report": rw(EVERYONE, EVERYONE),
    # The API reads the body before the token: an empty body is a 400 naming only `answers`, which says
    # nothing about the link. (The web page, and a body with answers, get the 404.)
    "api-self-report[bad-token]": rw(NOWHERE, EVERYONE),
    "api-course-administrations": rw(CASELOAD, CASELOAD),
    "api-course-responses": rw(CASELOAD),
    "api-administration-adjust": rw(write=CASELOAD),
    "api-administration-cancel": rw(write=CASELOAD),
    "api-administration-waive": rw(write=CASELOAD),
    "api-administration-new-link": rw(write=CASELOAD),
    "api-administration-responses": rw(write=CASELOAD),
    "api-safety-alerts": rw(STAFF),
    "api-safety-alert-acknowledge": rw(write=CASELOAD),
    "api-messages": rw(STAFF),
    "api-message-retry": rw(write=CASELOAD),
    "api-measure-settings": rw(STAFF, patch=LEAD),
    "api-measure-settings-replan": rw(write=LEAD),
    # --- the reports API -------------------------------------------------------------------------------
    "api-report-outcomes": rw(LEAD),
    "api-report-exports": rw(STAFF, STAFF),
    "api-report-export": rw(REQUESTER),
    "api-report-export-download": rw(REQUESTER),
    "api-outcome-settings": rw(STAFF, patch=LEAD),
}

for _kind in kinds.slugs():
    _seen = CASELOAD
    MATRIX[f"record-edit[{_kind}]"] = rw(*(2 * [_seen if _kind in EDITABLE else NOT_HERE]))
    MATRIX[f"record-sign[{_kind}]"] = rw(write=SIGNER.get(_kind, _seen))
    MATRIX[f"record-amend[{_kind}]"] = rw(*(2 * [_seen if _kind in AMENDABLE else NOT_HERE]))
    MATRIX[f"record-void[{_kind}]"] = rw(_seen, _seen)
    # PATCH is not offered for a patient, a course or a vital reading (their kind says where they change).
    MATRIX[f"api-record[{_kind}]"] = rw(_seen, patch=NOT_OFFERED if kinds.by_slug(_kind).edited_elsewhere else _seen)
    MATRIX[f"api-record-sign[{_kind}]"] = rw(write=SIGNER.get(_kind, _seen))
    MATRIX[f"api-record-amend[{_kind}]"] = rw(write=_seen)
    MATRIX[f"api-record-void[{_kind}]"] = rw(write=_seen)
    MATRIX[f"api-record-amendments[{_kind}]"] = rw(_seen)


# --- the routes ---------------------------------------------------------------------------------------


def _walk(resolver, prefix="", namespace=""):
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry, pattern, inner)
        elif isinstance(entry, URLPattern):
            yield pattern, (namespace + entry.name) if entry.name else None


def project_routes() -> dict[str, str]:
    """Route key (its name, or its pattern when it has none) → pattern; the admin site apart."""
    routes = {}
    for pattern, name in _walk(get_resolver()):
        if pattern.startswith("admin/"):
            continue
        routes[name or pattern] = pattern
    return routes


def _route_of(key: str) -> str:
    return key.split("[", 1)[0]


def test_every_route_is_in_the_matrix():
    routes = set(project_routes())
    covered = {_route_of(key) for key in MATRIX}
    missing, stale = sorted(routes - covered), sorted(covered - routes)
    assert not missing and not stale, (
        f"Routes with no row in the authorization matrix (say who may reach them): {missing}; "
        f"matrix rows for routes that no longer exist: {stale}"
    )


def test_every_cell_names_every_actor_with_a_known_answer():
    for key, cells in MATRIX.items():
        for method, row in cells.items():
            assert len(row) == len(ACTORS) and set(row) <= set("ofhlrm"), (key, method, row)


# --- the records every path parameter points at ------------------------------------------------------


@pytest.fixture
def world(client, therapist, other_therapist, provider, other_provider, lead, outsider, given_dose, django_user_model):
    """One course with a record of every kind, and the ids each route's parameters take."""
    dose = given_dose
    # The account the lead's staff pages act on: not one of the actors, so no cell changes who they are.
    member = django_user_model.objects.create_user("member", role="therapist", first_name="Mo", last_name="Member")
    course = dose.course
    now = timezone.now()
    prep = services.preparatory_session_add(course=course, by=therapist, held_at=now, note="Set and setting.")
    integ = services.integration_session_add(courses=[course], by=therapist, held_at=now, note="Journaling.")
    services.vital_reading_add(dose=dose, by=provider, phase="during", **normal_vitals())
    # An alerting reading opens an in-session alert, the record the alert-close routes act on.
    alerting = services.vital_reading_add(dose=dose, by=provider, phase="during", **normal_vitals(heart_rate=130))
    event = services.adverse_event_add(
        dose=dose,
        by=provider,
        **SERIOUS_EVENT,
    )
    # The baseline was waived before the dose (ready_course): additional questionnaires are open.
    opened = {i: ad_hoc(course, therapist, i) for i in ("phq9", "gad7")}
    # PHQ-9 item 9 above 0 raises the safety alert; the GAD-7 stays open for the link and the forms.
    measure_services.response_enter(
        administration=opened["phq9"], by=therapist, answers={n: (2 if n == 9 else 1) for n in range(1, 10)}
    )
    alert = SafetyAlert.objects.get(course=course)
    message = OutboundMessage.objects.filter(administration__course=course).order_by("id").first()
    export = report_services.export_request(by=therapist, kind=ExportKind.PATIENT_PDF, course=course)
    assert report_services.export_run(export_id=export.pk) == "done"
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE
    records = {
        "patient": course.patient,
        "course": course,
        "medical-evaluation": course.medical_evaluations.get(),
        "psychiatric-evaluation": course.psychiatric_evaluations.get(),
        "preparatory-session": prep,
        "integration-session": integ,
        "dosing-session": dose.session,
        "dose": dose,
        "vital-reading": dose.vitals.order_by("taken_at").first(),
        "adverse-event": event,
    }
    assert set(records) == set(kinds.slugs())
    gad7 = opened["gad7"]
    return {
        "actors": {
            "therapist": therapist,
            "other_therapist": other_therapist,
            "provider": provider,
            "other_provider": other_provider,
            "lead": lead,
            "outsider": outsider,
            "anonymous": None,
        },
        "records": records,
        "params": {
            "patient_id": course.patient.pk,
            "course_id": course.pk,
            "session_id": dose.session.pk,
            "dose_id": dose.pk,
            "event_id": event.pk,
            "user_id": member.pk,
            "staff_id": member.pk,
            "alert_id": alert.pk,
            "in_session_alert_id": alerting.in_session_alerts.get().pk,
            "message_id": message.pk,
            "administration_id": gad7.pk,
            "export_id": export.pk,
            "token": measure_services.self_report_token(gad7),
            "uidb64": urlsafe_base64_encode(force_bytes(member.pk)),
        },
        # What someone off the caseload must never be shown: who the patient is, and which records exist.
        "names": [
            course.patient.given_name,
            course.patient.family_name,
            course.patient.mrn,
            course.patient.email,
            course.patient.date_of_birth.isoformat(),
        ],
        "ids": [str(r.pk) for r in records.values()] + [str(alert.pk), str(gad7.pk), str(export.pk)],
    }


def _url(key: str, world) -> str:
    routes = project_routes()
    route = _route_of(key)
    variant = key[len(route) + 1 : -1] if "[" in key else None
    if route == "api-not-found":
        return "/api/no-such-thing/"
    pattern = routes[route]
    params = {}
    for name, value in world["params"].items():
        if f"<{name}>" in pattern or f":{name}>" in pattern:
            params[name] = value
    if "record_type" in pattern:
        params["record_type"] = variant
        params["record_id"] = world["records"][variant].pk
    if variant == "bad-token":
        params["token"] = "not-a-signed-token"
    return reverse(route, kwargs=params)


def _is_api(url: str) -> bool:
    return url.startswith("/api/")


def _classify(response, api: bool) -> str:
    code = response.status_code
    location = response.get("Location", "")
    if code in (301, 302, 303) and (location.startswith("/login/") or location.startswith("/admin/login/")):
        return "l"
    if api and code == 401:
        return "l"
    if 200 <= code < 400 or code in (400, 409):
        return "o"
    return {403: "f", 404: "h", 405: "m"}.get(code, str(code))


def _matches(got: str, expected: str, code: int) -> bool:
    if expected == "r":
        return code in (400, 403)
    return got == expected


def _clients(world) -> dict:
    clients = {}
    for name, user in world["actors"].items():
        client = APIClient()
        client.raise_request_exception = False
        if user is not None:
            client.force_login(user)
        clients[name] = client
    return clients


def _send(client, method: str, url: str):
    api = _is_api(url)
    if method == "GET":
        return client.get(url)
    if api:
        return client.generic(method, url, data="{}", content_type="application/json")
    return client.post(url, {})


def run_matrix(world) -> tuple[int, list[tuple]]:
    clients = _clients(world)
    checked, mismatches = 0, []
    for key, cells in MATRIX.items():
        url = _url(key, world)
        for method, row in cells.items():
            for actor, expected in zip(ACTORS, row, strict=True):
                client = clients[actor]
                cookies = copy.deepcopy(client.cookies)
                cache.clear()
                with transaction.atomic():
                    response = _send(client, method, url)
                    transaction.set_rollback(True)
                client.cookies = cookies
                got = _classify(response, _is_api(url))
                checked += 1
                if not _matches(got, expected, response.status_code):
                    mismatches.append((key, actor, method, expected, got, response.status_code))
                elif actor in OFF_CASELOAD and not key.startswith(SELF_REPORT):
                    shown = _shown(response, world, method)
                    if shown:
                        mismatches.append((key, actor, method, expected, f"shows {shown}", response.status_code))
    return checked, mismatches


# Whatever these actors are answered, the answer must not show the patient or the ids of the course's records
# (a list, a form's choices, an error page). The self-report link shows the first name to whoever holds it.
OFF_CASELOAD = ("other_therapist", "other_provider", "outsider", "anonymous")
SELF_REPORT = ("self-report", "api-self-report")


def _shown(response, world, method) -> list[str]:
    if response.get("Content-Disposition", "").startswith("attachment"):
        return ["a file"]
    text = response.content.decode(errors="replace")
    shown = [n for n in world["names"] if n.lower() in text.lower()]
    # An id the caller put in the URL may come back in a 404's or a redirect's own words; a page must not list one.
    if method == "GET" and 200 <= response.status_code < 300:
        shown += [i for i in world["ids"] if i in text]
    return shown


def _table(mismatches) -> str:
    lines = [f"{'route':44} {'actor':16} {'method':6} expected  got (status)"]
    lines += [f"{k:44} {a:16} {m:6} {e:9} {g} ({s})" for k, a, m, e, g, s in mismatches]
    return "\n".join(lines)


def test_the_authorization_matrix(world, capsys):
    started = time.monotonic()
    checked, mismatches = run_matrix(world)
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nauthorization matrix: {checked} cells checked in {elapsed:.1f} s")
    assert checked > 1000
    assert not mismatches, f"{len(mismatches)} of {checked} cells differ:\n" + _table(mismatches)


# --- the admin, as a group ------------------------------------------------------------------------------


def test_the_admin_is_for_superusers_only(world, django_user_model):
    course = world["records"]["course"]
    urls = [
        reverse("admin:index"),
        reverse("admin:courses_course_changelist"),
        reverse("admin:courses_course_change", args=[course.pk]),
        reverse("admin:accounts_user_changelist"),
    ]
    clients = _clients(world)
    for actor, client in clients.items():
        for url in urls:
            response = client.get(url)
            assert response.status_code == 302, (actor, url, response.status_code)
            assert response["Location"].startswith(reverse("admin:login")), (actor, url)
    root = django_user_model.objects.create_superuser("root", "root@kapclinic.invalid", "x-long-enough-pass-1")
    admin = APIClient()
    admin.force_login(root)
    for url in urls:
        assert admin.get(url).status_code == 200, url


def test_the_admins_login_ends_where_it_should_never_in_a_loop(therapist, lead, django_user_model):
    """Found by review: a signed-in lead without admin rights bounced between /admin/ and /login/."""
    anonymous = APIClient().get(reverse("admin:login"))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    for user in (therapist, lead):
        client = APIClient()
        client.force_login(user)
        assert client.get(reverse("admin:login")).status_code == 403, user
        final = client.get(reverse("admin:index"), follow=True)
        assert final.status_code == 403 and len(final.redirect_chain) == 1, user
    root = django_user_model.objects.create_superuser("root", "root@kapclinic.invalid", "x-long-enough-pass-1")
    admin = APIClient()
    admin.force_login(root)
    signed_in = admin.get(reverse("admin:login"))
    assert signed_in.status_code == 302 and signed_in["Location"] == reverse("admin:index")


def test_the_frozen_clock_is_what_the_matrix_was_written_for(world):
    # The dosing session of the matrix is in progress: its dose pages answer, not "session over".
    session = world["records"]["dosing-session"]
    assert session.starts_at <= timezone.now() <= session.ends_at + dt.timedelta(hours=1)
