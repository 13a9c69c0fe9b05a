"""Worker and beat heartbeats: recorded by a real beat and a real worker, stale after the
threshold, named by /readyz and on the lead's dashboard ("Questionnaires are not being sent")."""

import datetime as dt
import subprocess
import sys

import pytest
import time_machine
from django.urls import reverse

from ops import heartbeats
from ops.models import Component, Heartbeat
from tests.faults.support import BASE_DIR, RedisServer, Worker, free_port, wait_for

T0 = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def thresholds(settings):
    settings.OPS_BEAT_STALE_SECONDS = 600
    settings.OPS_WORKER_STALE_SECONDS = 600


@pytest.mark.django_db
def test_the_lead_sees_when_the_scheduler_stopped(client, lead, thresholds):
    heartbeats.record(Component.BEAT, at=T0)
    heartbeats.record(Component.WORKER, at=T0)
    client.force_login(lead)

    with time_machine.travel(T0 + dt.timedelta(minutes=9), tick=False):
        assert "Questionnaires are not being sent" not in client.get(reverse("lead-dashboard")).content.decode()
    with time_machine.travel(T0 + dt.timedelta(minutes=11), tick=False):
        page = client.get(reverse("lead-dashboard")).content.decode()

    # 15:00 UTC is 11:00 in the clinic's zone (America/New_York, daylight time).
    assert (
        "Questionnaires are not being sent: the scheduler (Celery beat) has not run since 2026-03-10 11:00 (EDT)."
        in page
    )
    assert 'id="heartbeat-banner"' in page


@pytest.mark.django_db
def test_the_lead_sees_when_no_worker_runs(client, lead, thresholds):
    heartbeats.record(Component.WORKER, at=T0)
    heartbeats.record(Component.BEAT, at=T0 + dt.timedelta(minutes=30))
    client.force_login(lead)

    with time_machine.travel(T0 + dt.timedelta(minutes=31), tick=False):
        page = client.get(reverse("lead-dashboard")).content.decode()

    assert "Questionnaires are not being sent: no Celery worker has run a task since 2026-03-10 11:00 (EDT)." in page


@pytest.mark.django_db
def test_queueing_the_task_by_hand_does_not_pass_for_a_running_beat(thresholds):
    # Outside the beat process the publish signal records nothing (eager here: the task runs inline).
    from ops.tasks import heartbeat

    heartbeat.delay()

    assert set(Heartbeat.objects.values_list("component", flat=True)) == {"worker"}


class Beat:
    """A real `celery beat` process, with the worker's environment."""

    def __init__(self, env: dict, schedule):
        self.env, self.schedule, self.proc = env, schedule, None

    def start(self):
        argv = [sys.executable, "-m", "celery", "-A", "kapclinic", "beat", "-l", "info", "-s", str(self.schedule)]
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv
            argv, cwd=BASE_DIR, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return self

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_real_beat_and_worker_keep_readiness_and_the_dashboard_honest(
    postgresql, client, lead, settings, tmp_path
):  # fmt: skip
    redis = RedisServer(tmp_path)
    redis.start()
    settings.CELERY_BROKER_URL = redis.url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    # The web side (this process) calls a heartbeat stale after 4 s; beat sends one every second.
    settings.OPS_BEAT_STALE_SECONDS = settings.OPS_WORKER_STALE_SECONDS = 4
    worker = Worker(
        broker_url=redis.url, smtp_port=free_port(), tmp_path=tmp_path, extra_env={"OPS_HEARTBEAT_SECONDS": "1"}
    )
    beat = Beat(worker.env, tmp_path / "celerybeat-schedule")
    client.force_login(lead)

    def readiness():
        response = client.get(reverse("readyz"))
        return response.status_code, response.json()["failing"]

    def banner():
        page = client.get(reverse("lead-dashboard")).content.decode()
        return next((line for line in page.splitlines() if "heartbeat-banner" in line), "")

    try:
        worker.start().wait_ready()
        beat.start()
        # Both rows, not the new install's grace period.
        wait_for(lambda: Heartbeat.objects.count() == 2, 30, "beat and the worker to record their heartbeats")
        assert readiness() == (200, [])
        assert banner() == ""

        beat.kill()
        wait_for(lambda: readiness()[0] == 503, 15, "readiness to notice the dead beat")
        assert "beat" in readiness()[1]
        assert "the scheduler (Celery beat) has not run since" in banner()

        worker.kill()
        beat = Beat(worker.env, tmp_path / "celerybeat-schedule").start()
        wait_for(lambda: readiness() == (503, ["worker"]), 30, "beat to tick again with no worker running")
        assert "no Celery worker has run a task since" in banner()

        worker = Worker(
            broker_url=redis.url, smtp_port=free_port(), tmp_path=tmp_path, extra_env={"OPS_HEARTBEAT_SECONDS": "1"}
        )
        worker.start().wait_ready()
        wait_for(lambda: readiness() == (200, []), 30, "a new worker to run the waiting heartbeats")
        assert banner() == ""
    finally:
        beat.kill()
        worker.stop()
        redis.kill()
