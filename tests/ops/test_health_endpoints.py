"""GET /livez and /readyz: liveness needs nothing; readiness is 503, naming the check, when the
database or the broker is down or the worker or beat heartbeat is stale. No patient data."""

import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse

from ops import heartbeats
from ops.models import Component, Heartbeat
from tests.faults.support import free_port

ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
DEAD_REDIS = "redis://:s3cret-pass@127.0.0.1:1/0"


@pytest.fixture
def filesystem_broker(settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}


@pytest.fixture
def thresholds(settings):
    settings.OPS_BEAT_STALE_SECONDS = 600
    settings.OPS_WORKER_STALE_SECONDS = 600


def _beats(at):
    heartbeats.record(Component.BEAT, at=at)
    heartbeats.record(Component.WORKER, at=at)


def test_livez_answers_without_touching_the_database(client):
    # No `db` mark: pytest-django refuses any query, so a dependency would fail this test.
    response = client.get(reverse("livez"))

    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_readyz_is_200_with_fresh_heartbeats(client, filesystem_broker, thresholds):
    with time_machine.travel(T0, tick=False):
        _beats(T0 - dt.timedelta(seconds=30))
        response = client.get(reverse("readyz"))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["failing"] == []
    assert body["beat"] == {"ok": True, "last": "2026-03-10T14:59:30+00:00", "stale_after_seconds": 600}
    assert body["worker"]["ok"] is True
    assert body["broker"] == {"ok": True, "transport": "filesystem"}


@pytest.mark.django_db
def test_readyz_is_503_naming_a_stale_beat_and_worker(client, filesystem_broker, thresholds):
    _beats(T0)

    with time_machine.travel(T0 + dt.timedelta(seconds=600), tick=False):
        assert client.get(reverse("readyz")).status_code == 200  # exactly at the threshold: still fresh
    with time_machine.travel(T0 + dt.timedelta(seconds=601), tick=False):
        response = client.get(reverse("readyz"))

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["beat", "worker"]
    assert body["database"]["ok"] is True


@pytest.mark.django_db
def test_readyz_names_only_the_worker_when_beat_still_ticks(client, filesystem_broker, thresholds):
    heartbeats.record(Component.WORKER, at=T0)
    heartbeats.record(Component.BEAT, at=T0 + dt.timedelta(minutes=20))

    with time_machine.travel(T0 + dt.timedelta(minutes=21), tick=False):
        response = client.get(reverse("readyz"))

    assert response.status_code == 503
    assert response.json()["failing"] == ["worker"]


@pytest.mark.django_db
def test_a_new_install_gets_one_threshold_before_a_missing_heartbeat_counts(filesystem_broker, thresholds):
    installed = heartbeats._installed_at()
    assert installed is not None
    assert not Heartbeat.objects.exists()

    with time_machine.travel(installed + dt.timedelta(seconds=599), tick=False):
        assert heartbeats.states()["beat"] == {"ok": True, "last": None, "stale_after_seconds": 600}
    with time_machine.travel(installed + dt.timedelta(seconds=601), tick=False):
        assert heartbeats.states()["beat"]["ok"] is False
        assert heartbeats.banner() == "Questionnaires are not being sent: the scheduler (Celery beat) has never run."


@pytest.mark.django_db
def test_readyz_is_503_naming_a_dead_broker_without_its_credentials(client, settings, thresholds):
    settings.CELERY_BROKER_URL = DEAD_REDIS
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    _beats(dt.datetime.now(dt.UTC))

    started = time.monotonic()
    response = client.get(reverse("readyz"))

    assert time.monotonic() - started < 3.5
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert "s3cret" not in response.content.decode()
    assert "127.0.0.1" not in response.content.decode()


@pytest.mark.django_db
def test_readyz_refuses_other_methods(client):
    assert client.post(reverse("readyz")).status_code == 405
    assert client.post(reverse("livez")).status_code == 405


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_real_server_with_its_database_down_is_alive_but_not_ready(tmp_path):
    """gunicorn with production settings and a PostgreSQL that refuses connections (port 1)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL", "DEBUG", "TESTING"}}
    env.update(
        DEBUG="0",
        TESTING="1",
        SECRET_KEY="readyz-test-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        DATABASE_URL="postgres://kapclinic:db-pass-123@127.0.0.1:1/kapclinic",
        KAPCLINIC_VAR_DIR=str(tmp_path),
        LOG_LEVEL="CRITICAL",
    )
    server = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "gunicorn", "kapclinic.wsgi:application", "--bind", f"127.0.0.1:{port}", "-w", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, live = _get(f"http://127.0.0.1:{port}/livez")
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        status_ready, ready = _get(f"http://127.0.0.1:{port}/readyz")
        status_health, health = _get(f"http://127.0.0.1:{port}/healthz")
        # An API call in the outage: 503 in the JSON shape with Retry-After, not a 500.
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/patients/", headers={"Authorization": "Token " + "0" * 64}
        )
        try:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310 - loopback
        except urllib.error.HTTPError as error:
            api_status, api_retry, api_body = error.code, error.headers.get("Retry-After"), json.loads(error.read())
    finally:
        server.terminate()
        server.wait(timeout=10)

    assert (status, live) == (200, {"status": "alive"})
    assert status_ready == 503
    assert ready["failing"] == ["database"]
    assert ready["database"] == {"ok": False, "vendor": "postgresql"}
    assert ready["beat"]["ok"] is None and ready["worker"]["ok"] is None
    assert "db-pass" not in json.dumps(ready)
    # /healthz keeps its contract: always 200, "degraded" in the body.
    assert status_health == 200
    assert health["status"] == "degraded"
    assert (api_status, api_retry) == (503, "30")
    assert api_body["detail"].startswith("The database is not answering") and api_body["errors"] == {}
