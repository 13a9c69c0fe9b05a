"""GET /healthz: the database and broker state, always 200, fast when the broker is down."""

import json
import time

import pytest
from django.db import DatabaseError
from django.test import RequestFactory
from django.urls import reverse

from kapclinic import health

LIVE_REDIS = "redis://127.0.0.1:6379/0"
DEAD_REDIS = "redis://127.0.0.1:1/0"


def _get():
    response = health.healthz(RequestFactory().get("/healthz"))
    return response.status_code, json.loads(response.content)


def _redis_running() -> bool:
    return health.broker_state(LIVE_REDIS, {})["ok"]


@pytest.mark.django_db
def test_it_is_healthy_with_the_default_filesystem_broker(client, settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}

    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": {"ok": True, "vendor": health.database_state()["vendor"]},
        "broker": {"ok": True, "transport": "filesystem"},
    }
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_it_reports_a_missing_broker_folder(settings, tmp_path):
    missing = str(tmp_path / "gone")
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": missing, "data_folder_out": missing}

    status, body = _get()

    assert status == 200
    assert body["status"] == "degraded"
    assert body["broker"] == {"ok": False, "transport": "filesystem"}


@pytest.mark.django_db
def test_it_reaches_a_running_redis(settings):
    if not _redis_running():
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.CELERY_BROKER_URL = LIVE_REDIS
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    status, body = _get()

    assert status == 200
    assert body["status"] == "ok"
    assert body["broker"] == {"ok": True, "transport": "redis"}


@pytest.mark.django_db
def test_it_reports_a_dead_redis_quickly_and_still_answers_200(settings):
    settings.CELERY_BROKER_URL = DEAD_REDIS
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    started = time.monotonic()
    status, body = _get()
    elapsed = time.monotonic() - started

    assert status == 200
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True
    assert body["broker"] == {"ok": False, "transport": "redis"}
    assert elapsed < 3.5


def test_it_never_shows_the_broker_credentials(settings, db):
    settings.CELERY_BROKER_URL = "redis://:s3cret-pass@127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    _, body = _get()

    assert "s3cret" not in str(body)
    assert "127.0.0.1" not in str(body)


def test_it_reports_a_broken_database(settings, monkeypatch, db, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}

    class DownDatabase:
        vendor = "postgresql"

        def cursor(self):
            raise DatabaseError("connection refused")

    monkeypatch.setattr(health, "connection", DownDatabase())

    status, body = _get()

    assert status == 200
    assert body["status"] == "degraded"
    assert body["database"] == {"ok": False, "vendor": "postgresql"}
    assert body["broker"]["ok"] is True


def test_it_refuses_other_methods(rf):
    assert health.healthz(rf.post("/healthz")).status_code == 405
