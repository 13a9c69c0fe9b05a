"""List pages run a fixed number of queries whatever the number of rows."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses import services
from courses.choices import Indication, Sex


def _make_courses(n, therapist, provider, start=0):
    for i in range(start, start + n):
        patient = services.patient_register(
            by=therapist,
            mrn=f"BULK-{i:04d}",
            given_name=f"Bulk{i}",
            family_name="Listpatient-Demo",
            date_of_birth=dt.date(1980, 1, 1),
            sex=Sex.MALE,
            email=f"b{i}@example.invalid",
            weight_kg=Decimal("80"),
        )
        course = services.course_open(
            patient=patient, by=therapist, indication=Indication.PTSD, therapists=[therapist], medical_provider=provider
        )
        services.medical_evaluation_add(course=course, by=provider, evaluated_on=dt.date(2026, 3, 1))


def _queries(client, method, url, data=None):
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(url, data or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    ("user_fixture", "url_name", "method"),
    [
        ("therapist", "caseload", "get"),
        ("provider", "provider-today", "get"),
        ("lead", "lead-dashboard", "get"),
        ("therapist", "patient-list", "get"),
        ("therapist", "patient-list", "post"),
        ("lead", "caseload", "get"),
        ("provider", "dosing-session-list", "get"),
    ],
)
def test_list_pages_query_count_does_not_grow_with_rows(
    client, request, clock, therapist, provider, lead, user_fixture, url_name, method
):
    user = request.getfixturevalue(user_fixture)
    client.force_login(user)
    data = {"q": "Listpatient"} if method == "post" else None
    _make_courses(3, therapist, provider)
    _queries(client, method, reverse(url_name), data)  # warm up: first-request session and settings rows
    few = _queries(client, method, reverse(url_name), data)
    _make_courses(30, therapist, provider, start=3)
    many = _queries(client, method, reverse(url_name), data)
    assert many == few, (few, many)


def test_caseload_bounded_with_django_assert(client, clock, therapist, provider, django_assert_max_num_queries):
    _make_courses(30, therapist, provider)
    client.force_login(therapist)
    # 16: the page (and the banner's open safety alerts), and six for what every course's next dose
    # waits for (courses.bedside.course_states: settings, screens, psychiatric evaluations, doses
    # given, signed preparation, open baselines), whatever the number of courses.
    with django_assert_max_num_queries(16):
        response = client.get(reverse("caseload"))
    assert response.content.decode().count("Listpatient-Demo") == 30
    assert "a medical provider signs the medical evaluation" not in response.content.decode()  # decide first
    assert "a medical provider decides and signs the medical evaluation" in response.content.decode()
