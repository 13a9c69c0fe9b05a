import datetime as dt

import pytest

from courses import services as course_services
from courses.choices import Indication, Sex
from tests.faults.support import Mailbox, RedisServer, SmtpServer, Worker


@pytest.fixture
def redis_server(postgresql, tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.proc is not None:
        server.resume()  # a paused server ignores SIGTERM until continued; SIGKILL does not care
    server.kill()


@pytest.fixture
def mailbox():
    return Mailbox()


@pytest.fixture
def smtp(mailbox):
    server = SmtpServer(mailbox)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def workers(redis_server, smtp, tmp_path):
    """Start workers with `workers(**env)`; every one is stopped at teardown, killed if need be."""
    started: list[Worker] = []

    def start(**extra_env) -> Worker:
        worker = Worker(broker_url=redis_server.url, smtp_port=smtp.port, tmp_path=tmp_path, extra_env=extra_env)
        started.append(worker.start())
        return worker

    yield start
    for worker in started:
        worker.stop()


def due_courses(therapist, provider, count: int, first: int = 1):
    """PTSD courses opened now (real time: the workers do not share the test's frozen clock);
    each has three baseline questionnaires due today."""
    opened = []
    for n in range(first, first + count):
        patient = course_services.patient_register(
            by=therapist,
            mrn=f"FAULT-{n:04d}",
            given_name=f"Faye{n}",
            family_name="Faulttest",
            date_of_birth=dt.date(1984, 1, n),
            sex=Sex.FEMALE,
            email=f"faye{n}.faulttest@example.invalid",
        )
        opened.append(
            course_services.course_open(
                patient=patient,
                by=therapist,
                indication=Indication.PTSD,
                therapists=[therapist],
                medical_provider=provider,
            )
        )
    return opened


@pytest.fixture(autouse=True)
def _fresh_broker_pools():
    """Leave no closed connection pool behind for the rest of the process.

    Killing a broker under the project's Celery app closes kombu's process-wide pools, and those
    are shared by every later .delay() in this pytest worker (eager tasks still take a producer
    from them): a browser test run after the Redis-down test once lost its serious-event mail
    to 'Acquire on closed pool'."""
    yield
    from kombu import pools

    from kapclinic.celery import app

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
