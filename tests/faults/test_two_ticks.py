"""Two beat ticks at once, on two worker processes against PostgreSQL and Redis: no questionnaire
opened twice, no invitation made or sent twice.

The ticks are made to overlap for real: the test holds an exclusive lock on the administrations
table until both workers are blocked on it inside their tick, then lets them go together."""

import re

import psycopg
import pytest
from django.db import connection

from measures.models import Administration, AdministrationStatus, MessageStatus, OutboundMessage
from tests.faults.support import database_url, due_courses, send_task, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

COURSES = 5


def ticks_done(worker) -> list[dict[str, int]]:
    return [
        {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)} for line in worker.lines if "tick: opened=" in line
    ]


def test_two_ticks_at_once_on_two_workers_open_and_send_everything_once(
    workers, redis_server, mailbox, therapist, provider
):
    courses = due_courses(therapist, provider, COURSES)
    due = COURSES * 3
    assert Administration.objects.filter(status=AdministrationStatus.SCHEDULED).count() == due
    pair = [workers(), workers()]
    for worker in pair:
        worker.wait_ready()

    # pg_stat_activity is a snapshot per transaction: it is watched from a second connection.
    with psycopg.connect(database_url()) as gate, psycopg.connect(database_url(), autocommit=True) as watch:
        gate.execute(f"LOCK TABLE {Administration._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        send_task(redis_server.url, "measures.tasks.tick", times=2)

        def both_blocked():
            row = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                [connection.settings_dict["NAME"]],
            ).fetchone()
            return row[0] == 2

        wait_for(both_blocked, 20, "both workers' ticks to wait on the administrations table")
        gate.commit()  # both ticks go at once

    wait_for(lambda: all(ticks_done(w) for w in pair), 30, "both ticks to finish")
    client = redis_server.client()
    wait_for(
        lambda: (
            OutboundMessage.objects.filter(status=MessageStatus.SENT).count() == due
            and not client.llen("celery")
            and not client.zcard("unacked_index")
        ),
        60,
        "every queued send to run",
    )

    runs = [run for worker in pair for run in ticks_done(worker)]
    assert len(runs) == 2 and all(len(ticks_done(w)) == 1 for w in pair)  # one tick each, overlapping
    assert sum(r["opened"] for r in runs) == due
    assert sum(r["invitations"] for r in runs) == due  # each counts only the rows it inserted
    assert Administration.objects.count() == due
    assert Administration.objects.filter(status=AdministrationStatus.OPEN).count() == due
    messages = OutboundMessage.objects.all()
    assert messages.count() == due and messages.values("administration").distinct().count() == due
    assert set(messages.values_list("status", "attempts")) == {(MessageStatus.SENT, 1)}
    emails = [c.patient.email for c in courses]
    expected = sorted((email, name) for email in emails for name in ("GAD-7", "PCL-5", "PHQ-9"))
    assert mailbox.subjects_by_recipient() == expected
