"""Time and text (issue 13, finding 7).

- A local date-time without an offset that the clinic's clock shows twice (01:30 on the night the
  clocks go back) or never (02:30 on the night they go forward) is refused by every API date-time
  field, as the web forms refuse it, naming the field. With an explicit offset it is one moment.
- Names and identifiers refuse control and text-direction characters, whatever the entry point.
- MRNs are unique regardless of case, in the services, the web form, the API, the admin and the database.
"""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from courses import rules, services
from courses.models import ClinicSettings, Patient, PreparatorySession
from courses.services import staff_create
from devtools.builders import PASSWORD
from kernel.text import name_character_error
from tests.measures.support import ad_hoc

pytestmark = pytest.mark.django_db

# America/New_York (the tests' clinic zone): clocks went back at 02:00 EDT on 2 November 2025 (01:00-01:59
# happened twice) and forward at 02:00 EST on 8 March 2026 (02:00-02:59 never happened).
FALL_BACK = "2025-11-02T01:30"
SPRING_FORWARD = "2026-03-08T02:30"
DST_MESSAGE = "it may be ambiguous or it may not exist"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _field_errors(response, field) -> list[str]:
    assert response.status_code == 400, (response.status_code, response.content[:400])
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert field in body["errors"], body
    return body["errors"][field]


# --- local times that do not exist or happen twice -----------------------------------------------


def test_the_settings_zone_is_the_one_these_dates_are_chosen_for(settings):
    assert settings.TIME_ZONE == "America/New_York"


@pytest.mark.parametrize("local", [FALL_BACK, SPRING_FORWARD])
def test_the_api_refuses_a_local_time_the_clock_shows_twice_or_never(course, therapist, local):
    url = f"/api/courses/{course.pk}/preparatory-sessions/"
    response = api(therapist).post(url, {"held_at": local, "note": "Prep."}, format="json")
    messages = _field_errors(response, "held_at")
    assert DST_MESSAGE in messages[0] and "America/New_York" in messages[0]
    assert messages[1] == "Give the time with its UTC offset (-04:00 or -05:00) to say which moment is meant."
    assert not PreparatorySession.objects.exists()


@pytest.mark.parametrize(
    ("sent", "stored_utc"),
    [
        ("2025-11-02T01:30:00-04:00", dt.datetime(2025, 11, 2, 5, 30, tzinfo=dt.UTC)),  # the first 01:30 (EDT)
        ("2025-11-02T01:30:00-05:00", dt.datetime(2025, 11, 2, 6, 30, tzinfo=dt.UTC)),  # the second (EST)
        ("2026-03-08T03:30", dt.datetime(2026, 3, 8, 7, 30, tzinfo=dt.UTC)),  # just after the gap: one moment
        ("2025-11-02T02:30", dt.datetime(2025, 11, 2, 7, 30, tzinfo=dt.UTC)),  # just after the fold
    ],
)
def test_with_an_offset_or_outside_the_change_the_time_is_one_moment_and_kept(course, therapist, sent, stored_utc):
    url = f"/api/courses/{course.pk}/preparatory-sessions/"
    response = api(therapist).post(url, {"held_at": sent, "note": "Prep."}, format="json")
    assert response.status_code == 201, response.content[:400]
    assert PreparatorySession.objects.get().held_at == stored_utc


@pytest.mark.parametrize("local", [FALL_BACK, SPRING_FORWARD])
def test_the_web_form_refuses_the_same_times_with_the_same_rule(client, course, therapist, local):
    client.force_login(therapist)
    data = {"held_at": local, "duration_minutes": 60, "topics": ["set_setting"], "note": "Prep."}
    page = client.post(reverse("preparatory-session-new", args=[course.pk]), data)
    assert page.status_code in (200, 400)
    assert DST_MESSAGE in page.content.decode().replace("&#x27;", "'")
    assert not PreparatorySession.objects.exists()
    # The API's first message is the web form's, word for word: one rule.
    response = api(therapist).post(
        f"/api/courses/{course.pk}/preparatory-sessions/", {"held_at": local, "note": "Prep."}, format="json"
    )
    assert _field_errors(response, "held_at")[0] in page.content.decode()


def test_a_record_patch_of_a_date_time_is_held_to_the_same_rule(course, therapist):
    prep = services.preparatory_session_add(
        course=course, by=therapist, held_at=dt.datetime(2026, 3, 9, 15, tzinfo=dt.UTC), note="Prep."
    )
    url = f"/api/records/preparatory-session/{prep.pk}/"
    response = api(therapist).patch(url, {"held_at": FALL_BACK, "version": prep.version}, format="json")
    assert DST_MESSAGE in _field_errors(response, "held_at")[0]
    prep.refresh_from_db()
    assert prep.held_at == dt.datetime(2026, 3, 9, 15, tzinfo=dt.UTC)


def _date_time_inputs() -> list[tuple[str, str, list[str]]]:
    """Every API operation whose JSON body takes a date-time, from the OpenAPI schema: a new one
    is covered by the test below without being listed."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]

    def properties(node) -> dict:
        if "$ref" in node:
            return properties(components[node["$ref"].rsplit("/", 1)[-1]])
        found = {}
        for key in ("allOf", "oneOf", "anyOf"):
            for sub in node.get(key, []):
                found.update(properties(sub))
        found.update(node.get("properties", {}))
        return found

    operations = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if not body:
                continue
            fields = [
                name
                for name, prop in properties(body["schema"]).items()
                if prop.get("format") == "date-time" and not prop.get("readOnly")
            ]
            if fields:
                operations.append((method, path, sorted(fields)))
    return operations


def test_every_api_date_time_input_refuses_an_ambiguous_local_time(dose, therapist, provider, lead):
    operations = _date_time_inputs()
    # The ones there are today; the list comes from the schema, so it can only grow.
    assert len(operations) >= 9, operations
    course = dose.course
    administration = ad_hoc(course, therapist)
    ids = {
        "{course_id}": course.pk,
        "{dose_id}": dose.pk,
        "{administration_id}": administration.pk,
        "{session_id}": dose.session.pk,
    }
    unchecked = []
    for method, path, fields in operations:
        url = path
        for name, value in ids.items():
            url = url.replace(name, str(value))
        assert "{" not in url, f"no test record for {path}"
        body = dict.fromkeys(fields, FALL_BACK)
        # The first role that gets past the permission layer reaches the serializer.
        for user in (provider, therapist, lead):
            response = getattr(api(user), method)(url, body, format="json")
            if response.status_code not in (403, 404):
                break
        for field in fields:
            errors = response.json().get("errors", {}).get(field, []) if response.status_code == 400 else []
            if not any(DST_MESSAGE in m for m in errors):
                unchecked.append((method, path, field, response.status_code, response.content[:200]))
    assert unchecked == []


# --- names and identifiers: no control or text-direction characters -----------------------------

BAD_CHARACTERS = ["\u202e", "\u202d", "\u2066", "\u2069", "\u200f", "\u200e", "\x00", "\x1b", "\n", "\x85", "\x9b"]
# Invisible inside a name (found by review): zero-width space, BOM, word joiner, soft hyphen, a tag.
BAD_CHARACTERS += ["\u200b", "\ufeff", "\u2060", "\u00ad", "\U000e0041"]


@pytest.mark.parametrize("ch", BAD_CHARACTERS)
def test_the_rule_names_the_character(ch):
    message = name_character_error(f"Smi{ch}th")
    assert message and f"U+{ord(ch):04X}" in message


@pytest.mark.parametrize(
    "text", ["Smith", "O'Brien-Núñez", "李小龍", "محمد", "Zoë\u00a0Ann", "DEMO-0002", "", "می\u200cخواهم", "क्\u200dष"]
)
def test_names_in_any_script_pass(text):
    assert name_character_error(text) is None


@pytest.mark.parametrize("text", ["\u3164", "\u115f\u1160", "\u200b", "\u2800", "\ufeff\u200d"])
def test_a_name_that_prints_as_nothing_is_refused(therapist, clock, text):
    """The same characters a reason may not consist of (the Hangul filler, zero-width space, the
    braille blank): a name made of them prints as a blank header."""
    assert name_character_error(text) is not None
    body = {**PATIENT, "given_name": text}
    messages = _field_errors(api(therapist).post("/api/patients/", body, format="json"), "given_name")
    assert "Nothing here prints" in messages[0]
    assert not Patient.objects.exists()


@pytest.mark.parametrize("field", ["mrn", "given_name", "family_name", "phone"])
def test_the_service_refuses_a_patient_name_or_identifier_with_an_override(therapist, clock, field):
    fields = {
        "mrn": "BIDI-0001",
        "given_name": "Bea",
        "family_name": "Bidi",
        "date_of_birth": dt.date(1980, 1, 1),
        "sex": "female",
        "email": "bea@example.invalid",
        "phone": "555-0100",
    }
    fields[field] = "\u202e" + fields[field]
    with pytest.raises(ValidationError) as refused:
        services.patient_register(by=therapist, **fields)
    assert field in refused.value.message_dict
    assert "U+202E" in refused.value.message_dict[field][0]
    assert not Patient.objects.filter(mrn__endswith="BIDI-0001").exists()


PATIENT = {
    "mrn": "API-0099",
    "given_name": "Ann",
    "family_name": "Apipatient",
    "date_of_birth": "1985-01-01",
    "sex": "female",
    "email": "ann@example.invalid",
}


@pytest.mark.parametrize(("field", "ch"), [("family_name", "\u202e"), ("given_name", "\x1b"), ("mrn", "\u2066")])
def test_the_api_refuses_them_naming_the_field(therapist, clock, field, ch):
    body = {**PATIENT, field: PATIENT[field][:2] + ch + PATIENT[field][2:]}
    messages = _field_errors(api(therapist).post("/api/patients/", body, format="json"), field)
    assert f"U+{ord(ch):04X}" in messages[0]
    assert not Patient.objects.exists()


def test_the_web_form_refuses_them_naming_the_field(client, therapist, clock):
    client.force_login(therapist)
    data = {**PATIENT, "family_name": "Api\u202epatient", "preferred_channel": "email"}
    page = client.post(reverse("patient-register"), data)
    assert page.status_code in (200, 400)
    assert "U+202E" in page.content.decode()
    assert not Patient.objects.exists()


def test_an_update_is_refused_too(patient, therapist):
    with pytest.raises(ValidationError) as refused:
        services.patient_update(
            patient=patient, by=therapist, version=patient.version, changes={"family_name": "Test\u202dpatient"}
        )
    assert "family_name" in refused.value.message_dict
    patient.refresh_from_db()
    assert patient.family_name == "Testpatient"


@pytest.mark.parametrize("field", ["first_name", "last_name", "credentials"])
def test_staff_names_on_signed_records_refuse_them(lead, field):
    names = {"first_name": "Sam", "last_name": "Staff", "credentials": "MD"}
    names[field] = "\u202e" + names[field]
    with pytest.raises(ValidationError) as refused:
        staff_create(by=lead, username="newstaff", password=PASSWORD, role="therapist", **names)
    assert field in refused.value.message_dict and "U+202E" in refused.value.message_dict[field][0]


def test_the_clinic_name_in_every_pdf_header_refuses_them(lead):
    with pytest.raises(ValidationError) as refused:
        services.clinic_settings_update(by=lead, changes={"clinic_name": "Demo \u202eClinic"})
    assert "clinic_name" in refused.value.message_dict
    assert ClinicSettings.load().clinic_name != "Demo \u202eClinic"


def test_the_admin_refuses_them(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.invalid", PASSWORD)
    client.force_login(admin)
    staff_url = reverse("admin:accounts_user_change", args=[admin.pk])
    form = client.get(staff_url)
    assert form.status_code == 200
    response = client.post(
        staff_url,
        {
            "username": "root",
            "first_name": "Ro\u202eot",
            "last_name": "",
            "email": "root@example.invalid",
            "role": "",
            "credentials": "",
            "is_active": "on",
            "is_superuser": "on",
            "date_joined_0": "2026-03-10",
            "date_joined_1": "10:00:00",
        },
    )
    assert "U+202E" in response.content.decode()
    admin.refresh_from_db()
    assert admin.first_name == ""


# --- MRNs unique regardless of case ---------------------------------------------------------------


def _register(by, mrn):
    return services.patient_register(
        by=by,
        mrn=mrn,
        given_name="Case",
        family_name="Patient",
        date_of_birth=dt.date(1980, 1, 1),
        sex="female",
        email="case@example.invalid",
    )


@pytest.mark.parametrize("look_alike", ["ＤＥＭＯ-0002", "DEMO\u20110002", "DEMO-０００２"])
def test_an_mrn_of_look_alike_characters_is_refused_naming_the_plain_one(therapist, clock, look_alike):
    """Found by review: fullwidth letters or a non-breaking hyphen made a second chart reading as DEMO-0002."""
    _register(therapist, "DEMO-0002")
    with pytest.raises(ValidationError) as refused:
        _register(therapist, look_alike)
    (message,) = refused.value.message_dict["mrn"]
    assert "plain characters" in message
    assert Patient.objects.count() == 1


def test_the_service_refuses_an_mrn_that_differs_only_by_case(therapist, clock):
    _register(therapist, "DEMO-0002")
    with pytest.raises(ValidationError) as refused:
        _register(therapist, "demo-0002")
    assert refused.value.message_dict == {"mrn": [rules.MRN_TAKEN]}
    assert Patient.objects.count() == 1


def test_an_update_to_another_patients_mrn_in_other_case_is_refused(patient, therapist):
    other = _register(therapist, "OTHER-0001")
    with pytest.raises(ValidationError) as refused:
        services.patient_update(
            patient=other, by=therapist, version=other.version, changes={"mrn": patient.mrn.lower()}
        )
    assert refused.value.message_dict == {"mrn": [rules.MRN_TAKEN]}
    # The patient's own MRN in another case is no clash with itself.
    services.patient_update(
        patient=patient, by=therapist, version=patient.version, changes={"mrn": patient.mrn.lower()}
    )
    patient.refresh_from_db()
    assert patient.mrn == "test-0001"


def test_the_api_and_the_web_form_refuse_it_naming_the_field(client, patient, therapist):
    body = {**PATIENT, "mrn": patient.mrn.lower()}
    assert _field_errors(api(therapist).post("/api/patients/", body, format="json"), "mrn") == [rules.MRN_TAKEN]
    client.force_login(therapist)
    page = client.post(reverse("patient-register"), {**body, "preferred_channel": "email"})
    assert "Another patient already has this MRN" in page.content.decode()
    assert Patient.objects.count() == 1


def test_the_database_refuses_it_whatever_writes_it(patient, therapist):
    """The constraint, not only the services: a bulk load or a race cannot make two charts."""
    duplicate = Patient(
        mrn=patient.mrn.lower(),
        given_name="Raw",
        family_name="Insert",
        date_of_birth=dt.date(1980, 1, 1),
        sex="female",
        created_at=patient.created_at,
        created_by=therapist,
    )
    with pytest.raises(ValidationError) as refused:
        duplicate.full_clean()
    assert rules.MRN_TAKEN in str(refused.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_the_migration_stops_on_existing_mrns_equal_but_for_case(therapist):
    """Before the constraint is built, charts that already clash are named (by id) so the clinic
    corrects one; the migration does not half-apply."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "PostgreSQL only: its DDL is transactional, so these migrations roll back with the test "
            "(SQLite's schema editor cannot run inside the test's transaction); CI runs it on PostgreSQL"
        )
    executor = MigrationExecutor(connection)
    before, after = [("courses", "0013_dates_of_events")], [("courses", "0014_names_printable_mrn_any_case")]
    executor.migrate(before)
    try:
        apps = executor.loader.project_state(before).apps
        OldPatient = apps.get_model("courses", "Patient")
        common = {
            "given_name": "Old",
            "family_name": "Chart",
            "date_of_birth": dt.date(1970, 1, 1),
            "sex": "female",
            "email": "old.chart@example.invalid",
            "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            "created_by_id": therapist.pk,
        }
        first = OldPatient.objects.create(mrn="OLD-0001", **common)
        second = OldPatient.objects.create(mrn="old-0001", **common)
        with connection.cursor() as cursor:
            # Deferred foreign-key checks now, or PostgreSQL refuses to alter a table with pending ones.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        executor = MigrationExecutor(connection)
        with pytest.raises(RuntimeError) as stopped:
            executor.migrate(after)
        assert "1 MRN(s)" in str(stopped.value)
        assert str(first.pk) in str(stopped.value) and str(second.pk) in str(stopped.value)
        assert "OLD-0001" not in str(stopped.value) and "old-0001" not in str(stopped.value)
        OldPatient.objects.filter(pk=second.pk).update(mrn="OLD-0002")
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert Patient.objects.count() == 2
