"""Editing a dose record and an adverse event before the dose record is signed."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from courses import services

pytestmark = pytest.mark.django_db


def _local(value):
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def test_provider_corrects_the_lot_number_before_signing(client, given_dose, provider):
    client.force_login(provider)
    url = reverse("record-edit", args=["dose", given_dose.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="dosed_at"' not in page.content.decode()  # set only by "Give dose"

    response = client.post(
        url,
        {
            "drug": "ketamine",
            "route": "iv",
            "dose_mg": "35",
            "weight_kg": "70",
            "lot_number": "LOT-CORRECTED",
            "fasting_confirmed": "on",
            "pregnancy_test": "not_applicable",
            "version": given_dose.version,
        },
    )
    assert response.status_code == 302
    given_dose.refresh_from_db()
    assert given_dose.lot_number == "LOT-CORRECTED"


def test_provider_records_an_adverse_events_resolution(client, given_dose, provider, clock):
    event = services.adverse_event_add(
        dose=given_dose,
        by=provider,
        term="nausea",
        grade=1,
        relatedness="probable",
        expectedness="expected",
    )
    clock.shift(dt.timedelta(minutes=20))
    client.force_login(provider)
    response = client.post(
        reverse("record-edit", args=["adverse-event", event.pk]),
        {
            "term": "nausea",
            "grade": "1",
            "onset_at": _local(event.onset_at),
            "resolved_at": _local(timezone.now()),
            "relatedness": "probable",
            "expectedness": "expected",
            "action_taken": "medication_given",
            "outcome": "resolved",
            "version": event.version,
            "description": "Ondansetron 4 mg given.",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    event.refresh_from_db()
    assert event.outcome == "resolved" and event.resolved_at is not None


def test_a_resolution_before_onset_is_refused_next_to_the_field(client, given_dose, provider):
    event = services.adverse_event_add(
        dose=given_dose,
        by=provider,
        term="nausea",
        grade=1,
        relatedness="probable",
        expectedness="expected",
    )
    client.force_login(provider)
    response = client.post(
        reverse("record-edit", args=["adverse-event", event.pk]),
        {
            "term": "nausea",
            "grade": "1",
            "onset_at": _local(event.onset_at),
            "resolved_at": _local(event.onset_at - dt.timedelta(hours=1)),
            "relatedness": "probable",
            "expectedness": "expected",
            "action_taken": "none",
            "outcome": "resolved",
            "version": event.version,
        },
    )
    assert response.status_code == 400
    assert "Resolution must come after onset" in response.content.decode()
    event.refresh_from_db()
    assert event.resolved_at is None
