"""A real Celery worker connected as the application's least-privilege role (docs/operations.md,
"Database roles") does its whole job: the tick opens the due questionnaires, queues their
invitations, claims and sends each, and records it sent, with no privilege beyond db_roles'."""

from collections import Counter
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection

from measures.models import MessageStatus, OutboundMessage
from tests.faults.support import Worker, database_url, due_courses, send_task, wait_for
from tests.test_least_privilege import app_role  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)


def _waiting_as(role: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND wait_event_type = 'Lock'", [role])
        return cursor.fetchone()[0] > 0


def test_a_worker_running_as_the_application_role_sends_every_invitation(
    app_role,  # noqa: F811 - the imported fixture
    redis_server,
    smtp,
    mailbox,
    therapist,
    provider,
    tmp_path,
):
    s = connection.settings_dict
    url = (
        f"postgres://{quote(app_role['role'], safe='')}:{quote(app_role['password'], safe='')}"
        f"@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    )
    courses = due_courses(therapist, provider, 2)
    worker = Worker(broker_url=redis_server.url, smtp_port=smtp.port, tmp_path=tmp_path)
    worker.env["DATABASE_URL"] = url  # the fault tests' workers otherwise connect as the test's owner
    worker.start()
    try:
        worker.wait_ready()
        # Hold the messages' table so the worker's query waits where pg_stat_activity shows its role.
        with psycopg.connect(database_url()) as gate:
            gate.execute("LOCK TABLE measures_outboundmessage IN ACCESS EXCLUSIVE MODE")
            send_task(redis_server.url, "measures.tasks.tick")
            wait_for(lambda: _waiting_as(app_role["role"]), 30, "the worker's query, as the application's role")
            gate.rollback()
        wait_for(lambda: len(mailbox.accepted) == 6, 30, "six invitations sent by the worker")
        wait_for(
            lambda: Counter(OutboundMessage.objects.values_list("status", flat=True)) == {MessageStatus.SENT: 6},
            10,
            "every invitation recorded as sent",
        )
    finally:
        worker.stop()
    emails = sorted(c.patient.email for c in courses)
    assert sorted({recipient for recipient, _ in mailbox.subjects_by_recipient()}) == emails, worker.log()
    assert "permission denied" not in worker.log()
