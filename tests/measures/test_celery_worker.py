"""The real round trip: a Celery worker process on Redis runs the tick against the test database,
and a due administration becomes exactly one invitation email, even when the tick runs twice."""

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.conf import settings

from courses import services as course_services
from courses.choices import Indication, Sex
from measures.models import Administration, AdministrationStatus, MessageKind, MessageStatus, OutboundMessage
from tests.faults.support import database_url

REDIS_URL = os.environ.get("MEASURES_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
READY_TIMEOUT = 30
MAIL_TIMEOUT = 45

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_db():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis is not answering at {REDIS_URL}: start it (the issue requires the real worker test)")
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def worker(postgresql, redis_db, tmp_path):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = dict(
        os.environ,
        DATABASE_URL=database_url(),
        REDIS_URL=REDIS_URL,
        CELERY_BROKER_URL=REDIS_URL,
        DEBUG="1",
        TESTING="1",
        CELERY_TASK_ALWAYS_EAGER="false",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
        KAPCLINIC_VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
    )
    argv = [
        sys.executable, "-m", "celery", "-A", "kapclinic", "worker",
        "--pool=solo", "--concurrency=1", "-l", "info", "--without-heartbeat", "--without-gossip",
        "--without-mingle", "-n", f"measures-test-{os.getpid()}@%h",
    ]  # fmt: skip
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        argv, cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    ready = threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line.rstrip())
            if " ready." in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(READY_TIMEOUT):
            pytest.fail("the Celery worker did not report ready:\n" + "\n".join(lines[-40:]))
        yield {"mail_dir": mail_dir, "log": lines}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# Django's file backend ends each message with this line; one file can hold several messages (a
# file per backend instance, named by the second and the instance's id, which a batch of sends in
# one second can share).
MAIL_SEPARATOR = "\n" + "-" * 79 + "\n"


def mails(folder: Path) -> list[str]:
    return [m for p in sorted(folder.iterdir()) for m in p.read_text().split(MAIL_SEPARATOR) if m.strip()]


def test_a_due_baseline_becomes_exactly_one_invitation_email_each(worker, therapist, provider):
    patient = course_services.patient_register(
        by=therapist,
        mrn="WORKER-0001",
        given_name="Wendy",
        family_name="Workertest",
        date_of_birth=dt.date(1985, 4, 2),
        sex=Sex.FEMALE,
        email="wendy.workertest@example.invalid",
    )
    course = course_services.course_open(
        patient=patient, by=therapist, indication=Indication.PTSD, therapists=[therapist], medical_provider=provider
    )
    assert Administration.objects.filter(course=course, status=AdministrationStatus.SCHEDULED).count() == 3

    sender = Celery("measures-test-sender", broker=REDIS_URL, set_as_current=False)  # see tests/faults/support.py
    sender.conf.task_always_eager = False
    try:
        sender.send_task("measures.tasks.tick")
        sender.send_task("measures.tasks.tick")
    finally:
        sender.close()

    deadline = time.monotonic() + MAIL_TIMEOUT
    while time.monotonic() < deadline and len(mails(worker["mail_dir"])) < 3:
        time.sleep(0.5)
    time.sleep(4)  # anything sent twice would arrive now
    received = mails(worker["mail_dir"])
    log = "\n".join(worker["log"][-60:])
    assert len(received) == 3, log
    subjects = sorted(line for text in received for line in text.splitlines() if line.startswith("Subject:"))
    assert [s.rsplit("(", 1)[1] for s in subjects] == ["GAD-7)", "PCL-5)", "PHQ-9)"]
    for text in received:
        assert "To: wendy.workertest@example.invalid" in text
        assert "Hello Wendy," in text and "WORKER-0001" not in text

    messages = OutboundMessage.objects.filter(administration__course=course)
    assert messages.count() == 3
    assert set(messages.values_list("kind", "status", "attempts")) == {(MessageKind.INVITATION, MessageStatus.SENT, 1)}
    assert messages.values("administration").distinct().count() == 3
    assert set(Administration.objects.filter(course=course).values_list("status", flat=True)) == {
        AdministrationStatus.OPEN
    }
    assert "tick: opened=3 invitations=3" in log
    assert "tick: opened=0 invitations=0" in log
