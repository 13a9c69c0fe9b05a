"""A patient's dose in a session was a `DosingParticipant` until issue 14 ("one name per thing").
The database keeps the old names (table, columns, constraints), and the rows of the trail written
before keep their record types; the kind lists those (courses/kinds.py `former_*`) and the readers
match them, so a dose's trail reads as one."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from courses import kinds, services
from courses.models import (
    AdverseEvent,
    Amendment,
    AuditAction,
    AuditEvent,
    Dose,
    HoldOverride,
    InSessionAlert,
    VitalReading,
)
from measures.models import Administration

pytestmark = pytest.mark.django_db


def test_the_database_keeps_the_old_table_and_column_names():
    assert Dose._meta.db_table == "courses_dosingparticipant"
    for model in (VitalReading, HoldOverride, InSessionAlert, AdverseEvent, Administration):
        assert model._meta.get_field("dose").column == "participant_id", model
    names = {c.name for c in Dose._meta.constraints}
    assert {"courses_dosingparticipant_void_has_reason", "courses_dosingparticipant_signature_complete"} <= names


def test_the_kind_is_called_dose_and_remembers_its_former_names():
    kind = kinds.of(Dose)
    assert kind.slug == "dose" and kind.label == "dose"
    assert kind.labels == ("dose", "dosing participant")
    assert kind.model_names == ("dose", "dosingparticipant")


def test_who_changed_a_dose_last_is_found_under_its_former_label(dose, other_provider):
    AuditEvent.objects.create(
        at=timezone.now() + dt.timedelta(minutes=1),
        actor=other_provider,
        actor_username=other_provider.username,
        action=AuditAction.UPDATE,
        patient=dose.course.patient,
        record_type="dosing participant",
        record_id=str(dose.pk),
    )
    changed = services.RecordChanged(dose, read_version=0)
    assert changed.changed_by == other_provider.get_full_name()
    assert "This dose was changed by" in str(changed)


def test_the_amendments_of_a_dose_include_those_written_under_its_former_name(given_dose, provider):
    Amendment.objects.create(
        record_type="dosingparticipant",
        record_id=given_dose.pk,
        patient=given_dose.course.patient,
        changes={"lot_number": {"from": "", "to": "A1"}},
        reason="Lot number added.",
        amended_at=timezone.now(),
        amended_by=provider,
    )
    client = APIClient()
    client.force_authenticate(provider)
    response = client.get(f"/api/records/dose/{given_dose.pk}/amendments/")
    assert response.status_code == 200
    assert [a["reason"] for a in response.json()] == ["Lot number added."]
