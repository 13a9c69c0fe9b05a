"""Free text has one limit per field, kept by the model and met the same way through the services,
the web forms, the API and the admin: a note holds 20,000 characters, a reason 2,000. Longer text
is refused with a message that names the field and the limit, and nothing is written."""

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from courses import services
from courses.models import PreparatorySession, TextLimit
from kernel.text import REASON_MAX, TEXT_MAX, text_length_error
from measures import services as measure_services
from measures.models import Administration
from tests.measures.web_helpers import open_administrations

pytestmark = pytest.mark.django_db

NOTE_OVER = "n" * (TEXT_MAX + 1)
REASON_OVER = "r" * (REASON_MAX + 1)
NOTE_MESSAGE = "Keep this to 20,000 characters or fewer; it has 20,001."
REASON_MESSAGE = "Keep this to 2,000 characters or fewer; it has 2,001."


@pytest.mark.parametrize(
    ("length", "limit", "message"),
    [
        (0, 10, None),
        (10, 10, None),
        (11, 10, "Keep this to 10 characters or fewer; it has 11."),
        (20_001, 20_000, NOTE_MESSAGE),
        (2_000_000, 2_000, "Keep this to 2,000 characters or fewer; it has 2,000,000."),
    ],
)
def test_text_length_error(length, limit, message):
    assert text_length_error("x" * length, limit) == message


def test_every_text_column_a_person_types_into_has_a_limit():
    """A TextField added without models.free_text would take megabytes from the web forms."""
    unlimited = []
    for app in ("courses", "measures", "reports", "accounts"):
        for model in apps.get_app_config(app).get_models():
            for field in model._meta.get_fields():
                limited = getattr(field, "max_length", None) and TextLimit(field.max_length) in field.validators
                if isinstance(field, models.TextField) and field.editable and not limited:
                    unlimited.append(f"{model.__name__}.{field.name}")
    assert unlimited == []


def _prep(course, therapist):
    return services.preparatory_session_add(
        course=course, by=therapist, held_at=timezone.now(), duration_minutes=60, note="A short note."
    )


def test_the_services_refuse_text_over_the_limit_and_write_nothing(course, therapist):
    prep = _prep(course, therapist)
    with pytest.raises(ValidationError) as refused:
        services.record_update(record=prep, by=therapist, version=1, changes={"note": NOTE_OVER})
    assert refused.value.message_dict == {"note": [NOTE_MESSAGE]}
    with pytest.raises(ValidationError) as refused:
        services.record_void(record=prep, by=therapist, version=1, reason=REASON_OVER)
    assert refused.value.message_dict == {"reason": [REASON_MESSAGE]}
    prep.refresh_from_db()
    assert (prep.note, prep.version, prep.is_voided) == ("A short note.", 1, False)
    # At the limit is accepted.
    services.record_update(record=prep, by=therapist, version=1, changes={"note": "n" * TEXT_MAX})
    services.record_void(record=prep, by=therapist, version=2, reason="r" * REASON_MAX)


def test_a_reason_written_outside_full_clean_is_held_to_the_same_limit(course, therapist, clock):
    """Waiving a baseline questionnaire writes its reason with a single UPDATE: the service checks it."""
    administration = open_administrations(course)["phq9"]
    with pytest.raises(ValidationError) as refused:
        measure_services.administration_waive(administration=administration, by=therapist, reason=REASON_OVER)
    assert refused.value.message_dict == {"reason": [REASON_MESSAGE]}
    assert Administration.objects.get(pk=administration.pk).status == "open"


def test_the_web_form_carries_the_limit_and_refuses_more(client, course, therapist):
    prep = _prep(course, therapist)
    url = reverse("record-edit", args=["preparatory-session", prep.pk])
    client.force_login(therapist)
    page = client.get(url).content.decode()
    assert f'maxlength="{TEXT_MAX}"' in page  # the browser stops typing at the limit
    held_at = timezone.localtime(prep.held_at).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, {"held_at": held_at, "duration_minutes": "60", "note": NOTE_OVER, "version": "1"})
    assert response.status_code == 400
    assert "at most 20000 characters" in response.content.decode()
    prep.refresh_from_db()
    assert prep.note == "A short note."


def test_the_api_documents_and_applies_the_same_limits(course, therapist):
    prep = _prep(course, therapist)
    api = APIClient()
    api.force_authenticate(therapist)
    response = api.patch(
        f"/api/records/preparatory-session/{prep.pk}/", {"note": NOTE_OVER, "version": 1}, format="json"
    )
    assert response.status_code == 400 and "note" in response.json()["errors"]
    response = api.post(
        f"/api/records/preparatory-session/{prep.pk}/void/", {"reason": REASON_OVER, "version": 1}, format="json"
    )
    assert response.status_code == 400 and "reason" in response.json()["errors"]
    assert PreparatorySession.objects.get(pk=prep.pk).note == "A short note."
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["components"]["schemas"]
    assert schema["VoidInputRequest"]["properties"]["reason"]["maxLength"] == REASON_MAX
    assert schema["MedicalEvaluation"]["properties"]["history"]["maxLength"] == TEXT_MAX
