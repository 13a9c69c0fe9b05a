"""The tick's queries do not grow with the work due (issue 15, goal 4): each piece is a fixed number
of set-based statements, and what they make is what the tick made one row at a time before —
statuses, messages (failed at once where there is no address), an audit event per escalation.
The sends go to the broker in batches."""

import datetime as dt
import uuid

import pytest
from celery.signals import task_prerun
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from courses.choices import Channel, CourseStatus, Indication
from courses.models import AuditAction, AuditEvent, Patient
from devtools import builders, bulk
from measures import services
from measures.models import (
    Administration,
    AdministrationStatus,
    MeasureSettings,
    MessageKind,
    MessageStatus,
    OutboundMessage,
    Response,
    ResponseSource,
    SafetyAlert,
    Timepoint,
)
from measures.services.messages import SEND_BATCH
from tests.support import NOW, at_once

pytestmark = pytest.mark.django_db
S = AdministrationStatus
TODAY = dt.date(2026, 3, 10)  # NOW in the clinic's time zone


def day(offset: int) -> dt.date:
    return TODAY + dt.timedelta(days=offset)


def practice(prefix: str, n: int, *, therapist, provider) -> list:
    """`n` courses, each with one of every kind of work due at NOW: a baseline to open and invite
    to, one invited four days ago to remind, one whose window closed (missed), a follow-up whose
    window closed (missed and escalated) and a PHQ-9 item 9 alert two days old (escalated to the
    leads). Every third patient takes text messages."""
    patients, courses, links, administrations, messages, responses, alerts = [], [], [], [], [], [], []
    at = NOW - dt.timedelta(days=60)
    for i in range(n):
        sms = {"phone": f"+1-202-555-{i:04d}", "preferred_channel": Channel.SMS} if i % 3 == 0 else {}
        patient = bulk.patient_row(prefix, i, created_at=at, **sms)
        course = bulk.course_row(
            patient,
            provider=provider,
            created_by=therapist,
            status=CourseStatus.FOLLOW_UP,
            at=at,
            indication=Indication.MDD_TRD,
        )
        patients.append(patient)
        courses.append(course)
        links.append((course, therapist))

        def add(instrument, timepoint, status, open_from, missed_after, course=course, **extra):
            a = Administration(
                id=uuid.uuid4(),
                course=course,
                instrument=instrument,
                timepoint=timepoint,
                target_date=open_from,
                open_from=open_from,
                due_by=open_from,
                missed_after=missed_after,
                status=status,
                created_at=at,
                **extra,
            )
            if status == S.OPEN:
                a.opened_at, a.link_nonce, a.link_issued_at = at, uuid.uuid4().hex, at
            administrations.append(a)
            return a

        add("phq9", Timepoint.BASELINE, S.SCHEDULED, day(0), day(30))  # opened and invited
        reminded = add("gad7", Timepoint.BASELINE, S.OPEN, day(-4), day(20))
        sent = NOW - dt.timedelta(days=4)
        messages.append(
            OutboundMessage(
                kind=MessageKind.INVITATION,
                channel="email",
                to_address="x@example.invalid",
                administration=reminded,
                status=MessageStatus.SENT,
                attempts=1,
                created_at=sent,
                claimed_at=sent,
                sent_at=sent,
            )
        )
        add("pcl5", Timepoint.BASELINE, S.OPEN, day(-30), day(-1))  # missed
        add("phq9", Timepoint.MONTH_1, S.OPEN, day(-14), day(-1))  # missed and escalated
        answered = add("phq9", Timepoint.END_OF_COURSE, S.COMPLETED, day(-5), day(5), completed_at=NOW)
        response = Response(
            id=uuid.uuid4(),
            administration=answered,
            course=course,
            patient=patient,
            instrument="phq9",
            answers={str(k): 1 for k in range(1, 10)},
            complete=True,
            total=9,
            safety_item_value=1,
            scoring_version="test",
            source=ResponseSource.CLINICIAN,
            entered_by=therapist,
            answered_at=NOW - dt.timedelta(days=2),
        )
        responses.append(response)
        alerts.append(
            SafetyAlert(
                id=uuid.uuid4(), response=response, course=course, item_value=1, raised_at=NOW - dt.timedelta(days=2)
            )
        )
    bulk.insert(patients=patients, courses=courses, links=links)
    Administration.objects.bulk_create(administrations)
    OutboundMessage.objects.bulk_create(messages)
    Response.objects.bulk_create(responses)
    SafetyAlert.objects.bulk_create(alerts)
    return courses


@pytest.fixture
def leads(db):
    with_mail = builders.staff("lead", Role.PRACTICE_LEAD, "Lee", "Lead-Demo")
    # A lead with no address still gets the escalation, as a message failed at once (visible to staff).
    without = builders.staff("lead2", Role.PRACTICE_LEAD, "Lou", "Nomail-Demo")
    without.email = ""
    without.save(update_fields=["email"])
    return with_mail, without


def measured_tick():
    with CaptureQueriesContext(connection) as queries:
        done = services.tick(now=NOW)
    return done, len(queries.captured_queries)


def test_the_tick_makes_as_many_queries_for_thirty_courses_due_as_for_three(therapist, provider, leads):
    MeasureSettings.load()  # the settings row a running clinic has (its first load makes it)
    practice("few", 3, therapist=therapist, provider=provider)
    few, few_queries = measured_tick()
    practice("many", 30, therapist=therapist, provider=provider)
    many, many_queries = measured_tick()
    idle, idle_queries = measured_tick()

    for done, n in ((few, 3), (many, 30)):
        assert {k: v for k, v in done.items() if k != "to_send"} == {
            "opened": n,
            "invitations": n,
            "reminders": n,
            "missed": 2 * n,
            "escalated": n,
            "alerts_escalated": n,
        }
    assert many_queries == few_queries, (few_queries, many_queries)
    assert few_queries <= 25, few_queries  # a fixed handful of statements
    idle_did = {k: v for k, v in idle.items() if k != "to_send"}
    assert idle_did == dict.fromkeys(idle_did, 0)
    assert idle_queries <= few_queries


def test_what_the_set_based_tick_makes_is_what_each_row_needs(therapist, provider, leads):
    courses = practice("rows", 6, therapist=therapist, provider=provider)
    lead, no_mail_lead = leads
    done = services.tick(now=NOW)

    opened = Administration.objects.filter(timepoint=Timepoint.BASELINE, instrument="phq9")
    assert {(a.status, a.opened_at, a.link_issued_at) for a in opened} == {(S.OPEN, NOW, NOW)}
    nonces = [a.link_nonce for a in opened]
    assert all(len(n) == 32 and int(n, 16) >= 0 for n in nonces) and len(set(nonces)) == len(nonces)

    for kind, instrument in ((MessageKind.INVITATION, "phq9"), (MessageKind.REMINDER, "gad7")):
        made = OutboundMessage.objects.filter(kind=kind, created_at=NOW).select_related(
            "administration__course__patient"
        )
        assert made.count() == 6
        for m in made:
            patient = m.administration.course.patient
            assert m.administration.instrument == instrument
            assert (m.channel, m.to_address, m.status, m.attempts) == (
                patient.preferred_channel,
                patient.phone if patient.preferred_channel == Channel.SMS else patient.email,
                MessageStatus.PENDING,
                0,
            )
            assert (m.failed_at, m.last_error, m.claimed_at, m.recipient_id, m.safety_alert_id) == (
                None,
                "",
                None,
                None,
                None,
            )

    missed = Administration.objects.filter(status=S.MISSED)
    assert {(a.timepoint, a.missed_at, a.escalated_at) for a in missed} == {
        (Timepoint.BASELINE, NOW, None),
        (Timepoint.MONTH_1, NOW, NOW),
    }

    alerts = SafetyAlert.objects.filter(course__in=courses)
    assert set(alerts.values_list("escalated_at", flat=True)) == {NOW}
    escalations = OutboundMessage.objects.filter(kind=MessageKind.SAFETY_ESCALATION)
    assert escalations.count() == 12
    assert {(m.recipient_id, m.channel, m.to_address, m.status, m.failed_at, m.last_error) for m in escalations} == {
        (lead.pk, "email", lead.email, MessageStatus.PENDING, None, ""),
        (no_mail_lead.pk, "email", "", MessageStatus.FAILED, NOW, "No email address on file for this practice lead."),
    }
    events = AuditEvent.objects.filter(detail="unacknowledged after 24 h: sent to the practice leads")
    assert sorted(
        (e.record_id, e.patient_id, e.record_type, e.action, e.actor_id, e.actor_username, e.at, e.ip_address)
        for e in events
    ) == sorted(
        (str(a.pk), a.course.patient_id, "safety alert", AuditAction.UPDATE, None, "", NOW, None) for a in alerts
    )
    # The waiting messages to queue: the new invitations, reminders and the sendable escalations.
    assert sorted(done["to_send"]) == sorted(
        OutboundMessage.objects.filter(status=MessageStatus.PENDING).values_list("pk", flat=True)
    )
    assert len(done["to_send"]) == 6 + 6 + 6


def test_a_patient_message_with_no_address_is_made_failed_by_the_set_based_insert(therapist, provider):
    # The patient table insists on an address for the preferred channel; a phone blanked under a
    # text-message patient (the check set aside for this one change) is what the tick must not drop.
    table = Patient._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # before any row is written, while no trigger is pending
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT patient_sms_channel_has_phone")
        practice("noaddr", 3, therapist=therapist, provider=provider)
        sqlite = connection.vendor == "sqlite"
        if sqlite:
            cursor.execute("PRAGMA ignore_check_constraints = ON")
        try:
            cursor.execute(f"UPDATE {table} SET phone = '' WHERE preferred_channel = 'sms'")  # noqa: S608
        finally:
            if sqlite:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")
    assert len(services.administrations_open_due(now=NOW)) == 3
    assert services.messages_create_invitations(now=NOW) == 3
    made = OutboundMessage.objects.filter(kind=MessageKind.INVITATION, created_at=NOW)
    assert {(m.channel, m.to_address, m.status, m.failed_at, m.last_error) for m in made} == {
        (Channel.SMS, "", MessageStatus.FAILED, NOW, "No phone number on file."),
        (Channel.EMAIL, "noaddr1@example.invalid", MessageStatus.PENDING, None, ""),
        (Channel.EMAIL, "noaddr2@example.invalid", MessageStatus.PENDING, None, ""),
    }


def test_the_sends_go_to_the_broker_in_batches(course, clock, mailoutbox):
    """Each batch is one task (one broker message); a real worker runs them in
    tests/measures/test_celery_worker.py."""
    from measures.tasks import tick

    more = SEND_BATCH + 20 - 3
    extra = [
        OutboundMessage(
            kind=MessageKind.NEW_LINK,
            channel="email",
            to_address=f"batch{i}@example.invalid",
            administration=course.administrations.first(),
            created_at=NOW,
        )
        for i in range(more)
    ]
    OutboundMessage.objects.bulk_create(extra)
    ran = []

    def record(sender=None, args=None, **kwargs):
        ran.append((sender.name, list(args[0]) if args else None))

    task_prerun.connect(record, weak=False)
    try:
        done = tick.delay().get()
    finally:
        task_prerun.disconnect(record)
    sends = [(name, ids) for name, ids in ran if name != "measures.tasks.tick"]
    assert [name for name, _ in sends] == ["measures.tasks.send_messages"] * 2
    assert [len(ids) for _, ids in sends] == [SEND_BATCH, 20]
    assert sorted(i for _, ids in sends for i in ids) == sorted(OutboundMessage.objects.values_list("pk", flat=True))
    assert done["queued"] == SEND_BATCH + 20
    assert len(mailoutbox) == SEND_BATCH + 20
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {MessageStatus.SENT}


@pytest.mark.django_db(transaction=True)
def test_two_ticks_at_once_do_each_piece_of_work_once(therapist, provider, leads):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so two ticks cannot race (set DATABASE_URL)")
    MeasureSettings.load()
    practice("race", 12, therapist=therapist, provider=provider)
    results = at_once(lambda: services.tick(now=NOW), lambda: services.tick(now=NOW))
    totals = {k: sum(r[k] for r in results) for k in ("opened", "invitations", "reminders", "missed", "escalated")}
    assert totals == {"opened": 12, "invitations": 12, "reminders": 12, "missed": 24, "escalated": 12}
    assert sum(r["alerts_escalated"] for r in results) == 12
    for kind in (MessageKind.INVITATION, MessageKind.REMINDER):
        made = OutboundMessage.objects.filter(kind=kind, created_at=NOW)
        assert made.count() == made.values("administration").distinct().count() == 12
    escalations = OutboundMessage.objects.filter(kind=MessageKind.SAFETY_ESCALATION)
    assert escalations.count() == escalations.values("safety_alert", "recipient").distinct().count() == 24
    events = AuditEvent.objects.filter(detail="unacknowledged after 24 h: sent to the practice leads")
    assert events.count() == events.values("record_id").distinct().count() == 12
