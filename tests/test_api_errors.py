"""Issue 13, finding 3: every API error in the one JSON shape {"detail", "errors"}, a 4xx and never a 5xx.

Nested, oversize and malformed bodies, signed in or not; the generic record PATCH; lists in bodies;
paging parameters; and the schema stating what the API enforces. Each test failed before its fix.
"""

import datetime as dt
import json
import logging
import re

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from courses import services
from courses.api.serializers.records import AmendInputSerializer
from courses.choices import PreparationTopic, SeriousCriterion
from courses.models import AdverseEvent
from devtools.builders import normal_vitals
from kernel.api import errors
from kernel.api.parsers import MAX_DEPTH

pytestmark = pytest.mark.django_db

DEEP_LIST = "[" * 1000 + "]" * 1000  # 2 KB: Python's JSON decoder recursed once per bracket
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
JUST_TOO_DEEP = '{"answers":' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}"  # parses, but one level too many
DEPTH_MESSAGE = f"Lists and objects are nested more than {MAX_DEPTH} levels deep; at most {MAX_DEPTH} are accepted."


def api(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


def anonymous() -> Client:
    # raise_request_exception=False: what the live server answers, not the exception behind it.
    return Client(raise_request_exception=False)


def assert_shape(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) == {"detail", "errors"}, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.fixture
def quiet_log(caplog):
    """No error line and no traceback in the log: these are the client's mistakes, not the server's."""
    caplog.set_level(logging.INFO)
    yield caplog
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [f"{r.name}: {r.getMessage()}" for r in loud]


# --- nested brackets --------------------------------------------------------------------------


@pytest.mark.parametrize("body", [DEEP_LIST, DEEP_OBJECT], ids=["list", "object"])
@pytest.mark.parametrize("path", ["/api/auth/token/", "/api/self-report/not-a-real-link/"])
def test_2_kb_of_nested_brackets_without_signing_in_is_a_400_not_a_500(path, body, quiet_log):
    response = anonymous().post(path, body, content_type="application/json")
    assert assert_shape(response, 400)["errors"] == {"non_field_errors": [DEPTH_MESSAGE]}


@pytest.mark.parametrize("body", [DEEP_LIST, DEEP_OBJECT], ids=["list", "object"])
def test_nested_brackets_to_an_endpoint_signed_in_are_a_400(body, course, therapist, quiet_log):
    response = api(therapist).post(
        f"/api/courses/{course.pk}/preparatory-sessions/", body, content_type="application/json"
    )
    assert assert_shape(response, 400)["errors"] == {"non_field_errors": [DEPTH_MESSAGE]}
    assert not course.preparatory_sessions.exists()


def test_a_body_that_parses_but_nests_one_level_too_deep_names_the_field(quiet_log):
    response = anonymous().post("/api/self-report/not-a-real-link/", JUST_TOO_DEEP, content_type="application/json")
    assert assert_shape(response, 400)["errors"] == {"answers": [DEPTH_MESSAGE]}


def test_nesting_up_to_the_limit_still_reaches_the_serializer(quiet_log):
    body = '{"username": "x", "password": "y", "extra": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}"
    response = anonymous().post("/api/auth/token/", body, content_type="application/json")
    assert response.status_code in (400, 401), response.content
    assert "nested" not in response.content.decode()


# --- oversize, malformed, wrong content type, unknown paths, CSRF -------------------------------


def test_a_body_over_the_size_limit_is_a_400_in_the_json_shape_without_a_traceback(settings, quiet_log):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = '{"username": "' + "x" * 20_000 + '", "password": "y"}'
    response = anonymous().post("/api/auth/token/", body, content_type="application/json")
    assert assert_shape(response, 400)["errors"] == {
        "non_field_errors": ["The body is larger than 10,000 bytes, the most the API reads."]
    }


def test_a_body_over_the_size_limit_signed_in_is_a_400_too(settings, course, therapist, quiet_log):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = '{"held_at": "2026-03-09T15:00:00Z", "note": "' + "n" * 20_000 + '"}'
    response = api(therapist).post(
        f"/api/courses/{course.pk}/preparatory-sessions/", body, content_type="application/json"
    )
    assert "10,000 bytes" in assert_shape(response, 400)["errors"]["non_field_errors"][0]


def test_malformed_json_is_a_400_saying_where(quiet_log):
    response = anonymous().post("/api/auth/token/", '{"username": ', content_type="application/json")
    message = assert_shape(response, 400)["errors"]["non_field_errors"][0]
    assert message.startswith("The body is not valid JSON: ") and "line 1" in message


@pytest.mark.parametrize(
    "content_type, body",
    [("text/plain", "username=x"), ("application/x-www-form-urlencoded", "username=x&password=y")],
)
def test_a_body_that_is_not_json_is_a_415_in_the_json_shape(content_type, body, quiet_log):
    response = anonymous().post("/api/auth/token/", body, content_type=content_type)
    assert content_type in assert_shape(response, 415)["detail"]


def test_an_unknown_method_and_an_unknown_path_answer_in_the_json_shape(therapist, quiet_log):
    assert_shape(api(therapist).put("/api/patients/", {}, format="json"), 405)
    assert_shape(api(therapist).delete("/api/no-such-thing/"), 404)
    assert_shape(anonymous().get("/api/no-such-thing"), 404)  # no slash: not the web UI's 404 page


def test_a_csrf_failure_on_the_api_with_session_auth_is_a_403_in_the_json_shape(therapist, quiet_log):
    client = Client(enforce_csrf_checks=True)
    client.force_login(therapist)
    response = client.post("/api/patients/", {}, content_type="application/json")
    assert "CSRF" in assert_shape(response, 403)["detail"]


def test_a_request_django_refuses_before_any_view_is_a_400_in_the_json_shape_under_api():
    # A Host header the site does not answer to: Django's handler400, not a view.
    response = Client(raise_request_exception=False, HTTP_HOST="evil.example").get("/api/patients/")
    assert assert_shape(response, 400)["errors"] == {}
    page = Client(raise_request_exception=False, HTTP_HOST="evil.example").get("/patients/")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "handler, status",
    [
        (lambda r: errors.bad_request(r, Exception("x")), 400),
        (lambda r: errors.permission_denied(r, Exception("Not yours.")), 403),
        (lambda r: errors.page_not_found(r, Exception("x")), 404),
        (errors.server_error, 500),
        (lambda r: errors.csrf_failure(r, "CSRF cookie not set."), 403),
    ],
)
def test_djangos_own_error_views_answer_json_under_api_and_html_elsewhere(handler, status):
    factory = RequestFactory()
    api_answer = handler(factory.get("/api/patients/"))
    assert_shape(api_answer, status)
    page = handler(factory.get("/patients/"))
    assert page.status_code == status
    assert page["Content-Type"].startswith("text/html")


# --- the generic record PATCH -------------------------------------------------------------------


@pytest.mark.parametrize("record_type", ["patient", "course"])
def test_patch_of_a_patient_or_course_record_is_not_offered_405(record_type, patient, course, therapist, quiet_log):
    record = patient if record_type == "patient" else course
    for body in ({"version": record.version, "courses": 1}, {"version": record.version, "given_name": "X"}):
        response = api(therapist).patch(f"/api/records/{record_type}/{record.pk}/", body, format="json")
        assert "PATCH is not offered" in assert_shape(response, 405)["detail"]
        assert "PATCH" not in response["Allow"]


def test_a_vital_reading_is_not_patched_either_it_is_amended(dose, provider, quiet_log):
    reading = services.vital_reading_add(dose=dose, by=provider, phase="pre_dose", **normal_vitals())
    response = api(provider).patch(
        f"/api/records/vital-reading/{reading.pk}/", {"version": reading.version, "systolic_bp": 121}, format="json"
    )
    assert "amend" in assert_shape(response, 405)["detail"]


def test_a_relation_name_in_a_record_patch_is_a_400_naming_it_not_a_500(dose, provider, quiet_log):
    dose.refresh_from_db()
    response = api(provider).patch(
        f"/api/records/dose/{dose.pk}/",
        {"version": dose.version, "vitals": 1},
        format="json",
    )
    assert "vitals" in assert_shape(response, 400)["errors"]["non_field_errors"][0]


def test_the_schema_offers_patch_only_for_the_types_it_can_edit():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/records/{record_type}/{record_id}/"]["patch"]
    (record_type,) = [p for p in operation["parameters"] if p["name"] == "record_type"]
    assert set(record_type["schema"]["enum"]).isdisjoint({"patient", "course", "vital-reading"})
    assert "adverse-event" in record_type["schema"]["enum"]
    assert "405" in operation["responses"]


# --- lists in bodies ----------------------------------------------------------------------------


def _event(dose, provider) -> AdverseEvent:
    return services.adverse_event_add(
        dose=dose, by=provider, term="nausea", grade=1, relatedness="probable", expectedness="expected"
    )


def test_an_integer_serious_criteria_is_a_400_naming_the_field(dose, provider, quiet_log):
    posted = api(provider).post(
        f"/api/doses/{dose.pk}/adverse-events/",
        {
            "term": "nausea",
            "grade": 3,
            "serious": True,
            "serious_criteria": 3,
            "relatedness": "probable",
            "expectedness": "expected",
        },
        format="json",
    )
    assert list(assert_shape(posted, 400)["errors"]) == ["serious_criteria"]
    event = _event(dose, provider)
    patched = api(provider).patch(
        f"/api/records/adverse-event/{event.pk}/",
        {"version": event.version, "serious": True, "serious_criteria": 3},
        format="json",
    )
    assert list(assert_shape(patched, 400)["errors"]) == ["serious_criteria"]


def test_5000_duplicate_criteria_are_refused_and_a_few_repeats_are_stored_once(dose, provider, quiet_log):
    event = _event(dose, provider)
    cap = len(SeriousCriterion.choices)
    flood = api(provider).patch(
        f"/api/records/adverse-event/{event.pk}/",
        {"version": event.version, "serious": True, "serious_criteria": ["hospitalisation"] * 5000},
        format="json",
    )
    assert assert_shape(flood, 400)["errors"] == {"serious_criteria": [f"Send at most {cap} items, each once."]}
    event.refresh_from_db()
    assert event.serious_criteria == []
    repeated = api(provider).patch(
        f"/api/records/adverse-event/{event.pk}/",
        {"version": event.version, "serious": True, "serious_criteria": ["hospitalisation", "hospitalisation"]},
        format="json",
    )
    assert repeated.status_code == 200, repeated.json()
    event.refresh_from_db()
    assert event.serious_criteria == ["hospitalisation"]


def test_topics_repeated_are_stored_once_and_a_bare_number_is_a_400(course, therapist, quiet_log):
    client = api(therapist)
    created = client.post(
        f"/api/courses/{course.pk}/preparatory-sessions/",
        {"held_at": "2026-03-09T15:00:00Z", "note": "Prep.", "topics": ["set_setting"] * 3},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["topics"] == ["set_setting"]
    prep = course.preparatory_sessions.get()
    over = client.post(
        f"/api/courses/{course.pk}/preparatory-sessions/",
        {"held_at": "2026-03-09T15:00:00Z", "note": "Prep.", "topics": ["set_setting"] * 5000},
        format="json",
    )
    assert assert_shape(over, 400)["errors"] == {
        "topics": [f"Send at most {len(PreparationTopic.choices)} items, each once."]
    }
    bare = client.patch(
        f"/api/records/preparatory-session/{prep.pk}/", {"version": prep.version, "topics": 5}, format="json"
    )
    assert list(assert_shape(bare, 400)["errors"]) == ["topics"]


def test_the_service_itself_refuses_a_non_list_and_drops_repeats(course, therapist):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        services.preparatory_session_add(
            course=course, by=therapist, held_at=timezone.now() - dt.timedelta(hours=1), note="Prep.", topics=5
        )
    assert "topics" in refused.value.message_dict
    prep = services.preparatory_session_add(
        course=course,
        by=therapist,
        held_at=timezone.now() - dt.timedelta(hours=1),
        note="Prep.",
        topics=["set_setting", "set_setting"],
    )
    assert prep.topics == ["set_setting"]


def test_a_list_of_5000_therapists_is_refused_before_any_is_looked_up(patient, therapist, provider, lead, quiet_log):
    response = api(lead).post(
        "/api/courses/",
        {"patient": str(patient.pk), "therapists": [therapist.pk] * 5000, "medical_provider": provider.pk},
        format="json",
    )
    assert assert_shape(response, 400)["errors"]["therapists"] == ["Send at most 20 items, each once."]


# --- paging ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, field, message",
    [
        ("offset=-1", "offset", "Ensure this value is greater than or equal to 0."),
        ("offset=abc", "offset", "A valid integer is required."),
        ("offset=99999999999999999999999", "offset", "Ensure this value is less than or equal to 2147483647."),
        ("limit=0", "limit", "Ensure this value is greater than or equal to 1."),
        ("limit=201", "limit", "Ensure this value is less than or equal to 200."),
        ("limit=1.5", "limit", "A valid integer is required."),
        ("limit=", "limit", "A valid integer is required."),
    ],
)
def test_a_bad_paging_parameter_is_a_400_naming_it_and_the_limit(query, field, message, patient, therapist, quiet_log):
    response = api(therapist).get(f"/api/patients/?{query}")
    assert assert_shape(response, 400)["errors"] == {field: [message]}


def test_good_paging_parameters_still_page(patient, therapist):
    response = api(therapist).get("/api/patients/?limit=200&offset=0")
    assert response.status_code == 200 and response.json()["count"] == 1
    assert api(therapist).get("/api/patients/?offset=5").json()["results"] == []


def test_every_paginated_list_documents_its_bounds_and_its_400():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paged = 0
    for path, operations in schema["paths"].items():
        get = operations.get("get", {})
        parameters = {p["name"]: p for p in get.get("parameters", [])}
        if "limit" not in parameters:
            continue
        paged += 1
        assert parameters["limit"]["schema"] | {"minimum": 1, "maximum": 200} == parameters["limit"]["schema"], path
        assert parameters["offset"]["schema"]["minimum"] == 0, path
        assert "400" in get["responses"], f"{path}: a bad limit is a 400, so the 400 is documented"
    assert paged >= 8


# --- the schema states what the API enforces ----------------------------------------------------


def test_the_schema_states_clinical_ranges_years_and_patchs_required_version():
    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    reading = components["VitalReadingInputRequest"]["properties"]
    assert (reading["systolic_bp"]["minimum"], reading["systolic_bp"]["maximum"]) == (50, 260)
    assert (reading["spo2"]["minimum"], reading["spo2"]["maximum"]) == (50, 100)
    assert components["MedicalEvaluationInputRequest"]["properties"]["heart_rate"]["maximum"] == 220
    assert components["PatchedClinicSettingsRequest"]["properties"]["hold_systolic"]["minimum"] == 120
    assert reading["taken_at"]["pattern"] == "^(19|20)[0-9]{2}-"
    assert components["WeightInputRequest"]["properties"]["measured_on"]["pattern"] == "^(19|20)[0-9]{2}-"
    assert components["PatchedPatientUpdateRequest"]["required"] == ["version"]
    assert components["PatchedDoseUpdateInputRequest"]["required"] == ["version"]


def test_the_schema_states_non_empty_lists_known_keys_real_numbers_and_the_record_patch_body():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    assert components["CourseInputRequest"]["properties"]["therapists"]["minItems"] == 1
    assert components["PatchedClinicSettingsRequest"]["additionalProperties"] is False
    assert components["PatchedMeasureSettingsRequest"]["additionalProperties"] is False
    pattern = re.compile(components["WeightInputRequest"]["properties"]["weight_kg"]["pattern"])
    assert [bool(pattern.search(v)) for v in ("", "-", ".", "70.5", "-.5")] == [False, False, False, True, True]
    body = schema["paths"]["/api/records/{record_type}/{record_id}/"]["patch"]["requestBody"]
    assert body["required"] is True
    assert components["PatchedRecordChangesRequest"]["required"] == ["version"]
    assert components["AmendInputRequest"]["properties"]["changes"]["minProperties"] == 1
    nul = re.compile(components["AmendInputRequest"]["properties"]["reason"]["pattern"])
    assert nul.search("Transcribed wrongly.") and not nul.search("Trans\x00cribed")


def test_an_amendment_may_clear_a_field_with_null():
    # The changes' values were JSONField(allow_null=False): clearing `resolved_at` was "may not be null".
    serializer = AmendInputSerializer(data={"changes": {"resolved_at": None}, "reason": "Not resolved yet."})
    assert serializer.is_valid(), serializer.errors
