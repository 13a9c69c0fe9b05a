"""The measures admin: every model listed, read-only where the services own the writes, no delete."""

import pytest
from django.contrib import admin
from django.urls import reverse

from measures import services
from measures.models import (
    Administration,
    MeasureSettings,
    MessageStatus,
    OutboundMessage,
    Response,
    SafetyAlert,
)
from tests.measures.support import PHQ9_ZERO, rows

MODELS = [MeasureSettings, Administration, Response, SafetyAlert, OutboundMessage]


@pytest.fixture
def superuser(db):
    from accounts.models import Role, User

    # The schedule is a clinical setting: the administrator here is also the practice lead.
    return User.objects.create_superuser(
        "root", "root@kapclinic.invalid", "x-very-secret-2026", role=Role.PRACTICE_LEAD
    )


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def history(course, therapist, clock):
    services.tick()
    phq9 = rows(course, instrument="phq9")[0]
    services.response_enter(administration=phq9, by=therapist, answers={**PHQ9_ZERO, 9: 1})
    return course


def url(model, view, *args):
    return reverse(f"admin:measures_{model._meta.model_name}_{view}", args=args)


def test_every_measures_model_is_registered():
    from django.apps import apps

    assert set(apps.get_app_config("measures").get_models()) <= set(admin.site._registry)


@pytest.mark.parametrize("model", MODELS)
def test_changelist_and_change_pages(admin_client, history, model):
    if model is MeasureSettings:
        MeasureSettings.load()
    assert admin_client.get(url(model, "changelist")).status_code == 200
    obj = model.objects.first()
    response = admin_client.get(url(model, "change", obj.pk))
    assert response.status_code == 200
    assert b"link_nonce" not in response.content


@pytest.mark.parametrize("model", MODELS)
def test_nothing_can_be_deleted_or_added(admin_client, superuser, history, model, rf):
    MeasureSettings.load()
    model_admin = admin.site._registry[model]
    request = rf.get("/")
    request.user = superuser
    assert not model_admin.has_delete_permission(request, model.objects.first())
    assert not model_admin.has_add_permission(request)
    obj = model.objects.first()
    assert admin_client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()
    assert "delete_selected" not in model_admin.get_actions(request)


@pytest.mark.parametrize("model", [Administration, Response, SafetyAlert, OutboundMessage])
def test_records_owned_by_the_services_are_read_only(superuser, model, rf):
    request = rf.get("/")
    request.user = superuser
    assert not admin.site._registry[model].has_change_permission(request)


def test_settings_are_saved_through_the_service(admin_client, superuser):
    row = MeasureSettings.load()
    data = {f: getattr(row, f) for f in services.MEASURE_SETTINGS_FIELDS if f != "instruments_by_timepoint"}
    data["instruments_by_timepoint"] = '{"baseline": ["phq9", "gad7"]}'
    data["reminder_after_days"] = 2
    response = admin_client.post(url(MeasureSettings, "change", row.pk), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    row.refresh_from_db()
    # The mapping given changes the timepoints it names; the others keep theirs.
    assert (row.reminder_after_days, row.updated_by, row.instruments_by_timepoint["baseline"]) == (
        2,
        superuser,
        ["phq9", "gad7"],
    )


def test_a_bad_setting_is_a_form_error_naming_the_field(admin_client):
    row = MeasureSettings.load()
    data = {f: getattr(row, f) for f in services.MEASURE_SETTINGS_FIELDS if f != "instruments_by_timepoint"}
    data["instruments_by_timepoint"] = '{"baseline": ["bdi"]}'
    response = admin_client.post(url(MeasureSettings, "change", row.pk), data)
    assert response.status_code == 200
    assert "choose instruments from" in response.content.decode()
    row.refresh_from_db()
    assert row.updated_at is None


def test_retry_failed_messages_action(admin_client, history):
    failed, sent = OutboundMessage.objects.filter(kind="invitation")[:2]
    OutboundMessage.objects.filter(pk=failed.pk).update(status=MessageStatus.FAILED, last_error="x")
    assert services.message_send(message_id=sent.pk) == "sent"
    response = admin_client.post(
        url(OutboundMessage, "changelist"),
        {"action": "retry_failed", "index": 0, "_selected_action": [failed.pk, sent.pk]},
        follow=True,
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "1 message(s) queued again." in text and "1 selected message(s) had not failed" in text
    failed.refresh_from_db()
    # Queued again and, with Celery eager in tests, sent at once.
    assert failed.status in (MessageStatus.PENDING, MessageStatus.SENT) and failed.attempts <= 1
