"""What bin/fuzz-api (schemathesis against the live server) found, each pinned by a test.

`conforms()` checks a response the way the fuzzer's checks do: the status code is documented for
the operation, so is the content type, and a JSON body matches the documented schema.
"""

import functools
import logging
import re

import pytest
import requests
import schemathesis
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient
from schemathesis.core.transport import Response as StResponse

from measures import services as measure_services
from measures.models import Administration

pytestmark = pytest.mark.django_db

PHQ9 = {"1": 1, "2": 1, "3": 1, "4": 1, "5": 0, "6": 0, "7": 0, "8": 0, "9": 0}


@functools.cache
def api_schema():
    return schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


def conforms(response, method: str, path: str) -> None:
    """Fail, saying why, unless the response is what the schema documents for METHOD PATH."""
    operation = api_schema()[path][method.upper()]
    documented = operation.definition.raw["responses"]
    assert str(response.status_code) in documented or "default" in documented, (
        f"{method} {path}: status {response.status_code} is not documented ({', '.join(documented)})"
    )
    declared = documented.get(str(response.status_code), documented.get("default", {})).get("content", {})
    content_type = response.headers.get("Content-Type", "").split(";")[0]
    if declared:
        assert content_type in declared, f"{method} {path}: {content_type} is not one of {list(declared)}"
    request = requests.Request(method.upper(), "http://testserver" + path).prepare()
    st_response = StResponse(
        status_code=response.status_code,
        headers={k.lower(): [v] for k, v in response.headers.items()},
        content=response.content,
        request=request,
        elapsed=0.0,
        verify=True,
    )
    operation.validate_response(st_response)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- any unmatched path under /api/ -------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "patch", "put", "delete"])
def test_a_write_to_a_malformed_id_is_the_apis_json_404_not_djangos_csrf_page(method, therapist):
    # The real client: Django's test client skips the CSRF check unless told to enforce it.
    client = Client(enforce_csrf_checks=True)
    client.force_login(therapist)
    response = getattr(client, method)("/api/doses/not-a-uuid/vitals/", {}, content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "errors": {}}


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_id_holding_a_newline_is_the_apis_json_404_not_the_web_uis_html_page(method, therapist):
    client = Client(enforce_csrf_checks=True)
    client.force_login(therapist)
    response = getattr(client, method)("/api/courses/%0A%C2%92/responses/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "errors": {}}


# --- lists that are not paginated ---------------------------------------------------------------


def test_a_courses_administrations_are_a_plain_list_as_the_schema_says(course, therapist):
    measure_services.tick()
    response = api(therapist).get(f"/api/courses/{course.pk}/administrations/")
    assert response.status_code == 200
    assert isinstance(response.json(), list) and response.json()
    conforms(response, "get", "/api/courses/{course_id}/administrations/")


def test_a_courses_responses_are_a_plain_list_as_the_schema_says(course, therapist):
    measure_services.tick()
    administration = Administration.objects.get(course=course, instrument="phq9", timepoint="baseline")
    measure_services.response_enter(administration=administration, by=therapist, answers=PHQ9)
    response = api(therapist).get(f"/api/courses/{course.pk}/responses/")
    assert response.status_code == 200
    assert len(response.json()) == 1
    conforms(response, "get", "/api/courses/{course_id}/responses/")


def test_a_patients_weights_and_a_records_amendments_are_plain_lists_as_the_schema_says(patient, therapist):
    client = api(therapist)
    assert (
        client.post(
            f"/api/patients/{patient.pk}/weights/", {"measured_on": "2026-03-09", "weight_kg": "71.5"}, format="json"
        ).status_code
        == 201
    )
    weights = client.get(f"/api/patients/{patient.pk}/weights/")
    assert isinstance(weights.json(), list) and weights.json()
    conforms(weights, "get", "/api/patients/{patient_id}/weights/")
    amendments = client.get(f"/api/records/patient/{patient.pk}/amendments/")
    assert amendments.status_code == 200 and amendments.json() == []
    conforms(amendments, "get", "/api/records/{record_type}/{record_id}/amendments/")


# --- nobody yet: an unsigned record's signer, an unacknowledged event's acknowledger ------------


def test_an_unsigned_dose_its_session_and_the_timeline_match_the_schema(dose, cleared_course, provider):
    client = api(provider)
    session = dose.session
    for path, template in [
        (f"/api/doses/{dose.pk}/", "/api/doses/{dose_id}/"),
        ("/api/dosing-sessions/", "/api/dosing-sessions/"),
        (f"/api/dosing-sessions/{session.pk}/", "/api/dosing-sessions/{session_id}/"),
        (f"/api/courses/{cleared_course.pk}/timeline/", "/api/courses/{course_id}/timeline/"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        conforms(response, "get", template)
    assert client.get(f"/api/doses/{dose.pk}/").json()["signed_by"] is None


def test_a_new_unacknowledged_adverse_event_matches_the_schema(dose, provider, lead):
    response = api(provider).post(
        f"/api/doses/{dose.pk}/adverse-events/",
        {
            "term": "nausea",
            "grade": 3,
            "serious": True,
            "serious_criteria": ["other_important"],
            "relatedness": "probable",
            "expectedness": "expected",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["acknowledged_by"] is None
    conforms(response, "post", "/api/doses/{dose_id}/adverse-events/")
    dashboard = api(lead).get("/api/adverse-events/unacknowledged/")
    assert dashboard.json()["count"] == 1
    conforms(dashboard, "get", "/api/adverse-events/unacknowledged/")


# --- far-off years ------------------------------------------------------------------------------


@pytest.mark.parametrize("held_at", ["0562-05-22T13:49:00Z", "1899-12-31T12:00:00Z", "2100-01-01T12:00:00Z"])
def test_a_far_off_year_is_a_400_naming_the_field_not_a_date_time_no_client_can_read(held_at, course, therapist):
    # Year 562 was stored and the timeline then sent "0562-05-22T08:52:55-04:56:02" (local mean time).
    response = api(therapist).post(
        f"/api/courses/{course.pk}/preparatory-sessions/", {"held_at": held_at, "note": "Prep."}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"held_at": ["Enter a date between the years 1900 and 2099."]}
    conforms(response, "post", "/api/courses/{course_id}/preparatory-sessions/")
    assert not course.preparatory_sessions.exists()


def test_a_far_off_year_in_a_reading_or_a_records_edit_is_a_400_too(dose, provider):
    client = api(provider)
    vitals = client.post(
        f"/api/doses/{dose.pk}/vitals/",
        {"phase": "pre_dose", "taken_at": "1066-10-14T09:00:00Z", "systolic_bp": 120, "diastolic_bp": 80},
        format="json",
    )
    assert vitals.status_code == 400
    assert vitals.json()["errors"] == {"taken_at": ["Enter a date between the years 1900 and 2099."]}
    dose.refresh_from_db()
    edit = client.patch(
        f"/api/records/dose/{dose.pk}/",
        {"dosed_at": "1066-10-14T09:00:00Z", "version": dose.version},
        format="json",
    )
    assert edit.status_code == 400
    assert edit.json()["errors"] == {"dosed_at": ["Enter a date between the years 1900 and 2099."]}


def test_a_session_in_a_plausible_year_is_still_recorded_and_matches_the_schema(course, therapist):
    response = api(therapist).post(
        f"/api/courses/{course.pk}/preparatory-sessions/",
        {"held_at": "2026-03-09T15:00:00Z", "note": "Prep."},
        format="json",
    )
    assert response.status_code == 201, response.json()
    conforms(response, "post", "/api/courses/{course_id}/preparatory-sessions/")
    timeline = api(therapist).get(f"/api/courses/{course.pk}/timeline/")
    conforms(timeline, "get", "/api/courses/{course_id}/timeline/")


# --- issue 13: a deeply nested body on every operation that takes one ----------------------------

DEEP = "[" * 1000 + "]" * 1000  # 2 KB: a RecursionError in the JSON decoder, a 500, on every endpoint


def test_every_operation_with_a_body_answers_a_deeply_nested_one_with_a_4xx_in_the_error_shape(
    world, therapist, provider, lead, caplog
):
    objects = world["_objects"]
    ids = {
        **{name: str(values[0]) for name, values in world.items() if name != "_objects" and values},
        "dose_id": str(world["dose_id"][0]),
        "staff_id": str(world["user_id"][0]),
        "token": "not-a-link",
        "record_type": "adverse-event",
        "record_id": str(objects["event"].pk),
    }
    schema = api_schema().raw_schema
    reached, answers = set(), []
    for template, operations in schema["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            path = template
            for name in re.findall(r"{(\w+)}", template):
                path = path.replace("{" + name + "}", ids.get(name, "00000000-0000-4000-8000-000000000000"))
            for user in (therapist, provider, lead):
                client = APIClient(raise_request_exception=False)
                client.force_authenticate(user)
                response = getattr(client, method)(path, DEEP, content_type="application/json")
                answers.append((method, template, response.status_code))
                assert 400 <= response.status_code < 500, (method, template, user.username, response.status_code)
                body = response.json()
                assert set(body) == {"detail", "errors"}, (method, template, body)
                if "nested more than" in str(body["errors"]):
                    reached.add((method, template))
    # The parser, not a 404 or 403 in front of it, answered for most operations.
    assert len(reached) >= 0.8 * len({(m, t) for m, t, _ in answers}), sorted(set(answers) - reached)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
