"""Time one measures tick over N synthetic courses and count its SQL queries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kapclinic_tick \\
        python manage.py measure_tick --courses 10000

Loads N synthetic courses (plainly fake names "Tick Patient-00001") with administrations in every
state into an EMPTY database, then runs services.tick() twice and prints the wall time and the
number of SQL queries of each run. The first run has work: one course in fifty each is due to
open and be invited, to be reminded, to be marked missed, and to have a missed follow-up and a
PHQ-9 item 9 alert escalated. The second finds nothing to do. Both make the same fixed number of
set-based statements however many courses are due (devtools/bench/tick.py measures it at scale).

The load is written with COPY on PostgreSQL (devtools.bulk.copy_rows), a transaction per
LOAD_CHUNK courses, so 100,000 courses (about a million administrations) load in minutes.
"""

import datetime as dt
import time
import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from courses.choices import CourseStatus, Indication
from courses.models import Course, Patient
from devtools import bulk
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

INSTRUMENTS = ("phq9", "gad7")
S = AdministrationStatus
LOAD_CHUNK = 10_000  # courses per transaction: keeps the queue of deferred foreign-key checks small

ADMINISTRATION_FIELDS = [
    "id",
    "course_id",
    "instrument",
    "timepoint",
    "target_date",
    "open_from",
    "due_by",
    "missed_after",
    "status",
    "created_at",
    "opened_at",
    "link_nonce",
    "link_issued_at",
    "completed_at",
    "missed_at",
    "escalated_at",
    "cancelled_at",
    "cancelled_reason",
]
MESSAGE_FIELDS = [
    "kind",
    "channel",
    "to_address",
    "administration_id",
    "status",
    "attempts",
    "created_at",
    "claimed_at",
    "sent_at",
]
PHQ9_ITEM_9 = {str(k): 1 for k in range(1, 10)}  # total 9, item 9 answered 1: an alert


class Command(BaseCommand):
    help = "Load N synthetic courses with administrations in every state and time one measures tick."

    def add_arguments(self, parser):
        parser.add_argument("--courses", type=int, default=10000)

    def handle(self, *args, courses: int, **options):
        if not practice_is_empty():
            raise CommandError("Run this on an empty database: it loads its own synthetic practice.")
        started = time.perf_counter()
        now = timezone.now()
        rows = load_practice(courses, now=now)
        self.stdout.write(f"loaded {courses} courses, {rows} administrations in {time.perf_counter() - started:.1f} s")
        bulk.analyze()  # as autovacuum would after a load this size
        for label in ("first tick (with work)", "second tick (nothing due)"):
            done, queries, took = bulk.measured(lambda: services.tick(now=now))
            summary = {k: (len(v) if k == "to_send" else v) for k, v in done.items()}
            self.stdout.write(f"{label}: {took * 1000:.0f} ms, {queries} queries, {summary}")


def practice_is_empty() -> bool:
    return not (Patient.objects.exists() or Course.objects.exists() or Administration.objects.exists())


def load_practice(n: int, *, now: dt.datetime) -> int:
    """Load `n` synthetic courses with their questionnaires, as of `now`, into an empty database;
    returns the number of administrations. One course in fifty each (courses 0-3 of every 50):

    0. a baseline due today: the tick opens it and invites;
    1. a baseline invited four days ago: a reminder;
    2. a baseline whose window closed yesterday: missed;
    3. a +1 month follow-up whose window closed yesterday (missed and escalated to the therapist),
       and a PHQ-9 item 9 alert two days old nobody acknowledged (escalated to the practice lead).

    The rest have their history done and their follow-ups ahead: the bulk a tick must pass over."""
    staff = bulk.staff("tick", keys=("therapist", "provider", "lead"))
    MeasureSettings.load()  # the clinic's settings row, which a running clinic has
    total = 0
    for start in range(0, n, LOAD_CHUNK):
        with transaction.atomic():
            total += _load_chunk(range(start, min(n, start + LOAD_CHUNK)), staff=staff, now=now)
    return total


def _load_chunk(numbers: range, *, staff: dict, now: dt.datetime) -> int:
    today = timezone.localdate(now)
    therapist, provider = staff["therapist"], staff["provider"]
    patients, courses, administrations, messages, responses, alerts = [], [], [], [], [], []

    def day(offset: int) -> dt.date:
        return today + dt.timedelta(days=offset)

    def add(course, timepoint, status, open_from, missed_after, *, completed=None, missed=None, escalated=None):
        ids = []
        for instrument in INSTRUMENTS:
            pk = uuid.uuid4()
            is_open = status == S.OPEN
            administrations.append(
                (
                    pk,
                    course.pk,
                    instrument,
                    timepoint,
                    open_from,
                    open_from,
                    open_from,
                    missed_after,
                    status,
                    now,
                    now if is_open else None,
                    uuid.uuid4().hex if is_open else "",
                    now if is_open else None,
                    completed,
                    missed,
                    escalated,
                    now if status == S.CANCELLED else None,
                    "synthetic" if status == S.CANCELLED else "",
                )
            )
            ids.append(pk)
        return ids

    for i in numbers:
        patient = bulk.patient_row("tick", i, created_at=now)
        course = bulk.course_row(
            patient,
            provider=provider,
            created_by=therapist,
            status=CourseStatus.FOLLOW_UP if i % 50 > 3 else CourseStatus.EVALUATION,
            at=now,
            indication=Indication.MDD_TRD,
        )
        patients.append(patient)
        courses.append(course)
        bucket = i % 50
        if bucket == 0:  # due today: the tick opens and invites
            add(course, Timepoint.BASELINE, S.SCHEDULED, day(0), day(30))
        elif bucket == 1:  # invited four days ago: a reminder
            for pk in add(course, Timepoint.BASELINE, S.OPEN, day(-4), day(20)):
                messages.append(_sent(pk, now - dt.timedelta(days=4)))
        elif bucket == 2:  # the window closed yesterday: missed
            for pk in add(course, Timepoint.BASELINE, S.OPEN, day(-30), day(-1)):
                messages.append(_sent(pk, now - dt.timedelta(days=30)))
        elif bucket == 3:  # a follow-up whose window closed: missed and escalated; an alert to escalate
            phq9, _ = add(course, Timepoint.BASELINE, S.COMPLETED, day(-150), day(-120), completed=now)
            add(course, Timepoint.MONTH_1, S.OPEN, day(-14), day(-1))
            response = uuid.uuid4()
            responses.append((response, phq9, course.pk, patient.pk, now - dt.timedelta(days=2)))
            alerts.append((uuid.uuid4(), response, course.pk, 1, now - dt.timedelta(days=2)))
        else:  # the bulk: history done, follow-ups ahead
            add(course, Timepoint.BASELINE, S.COMPLETED, day(-120), day(-90), completed=now)
            if i % 7 == 0:
                add(course, Timepoint.END_OF_COURSE, S.MISSED, day(-60), day(-50), missed=now)
            else:
                add(course, Timepoint.END_OF_COURSE, S.COMPLETED, day(-60), day(-50), completed=now)
            if i % 5 == 0:
                add(course, Timepoint.MONTH_1, S.MISSED, day(-30), day(-16), missed=now, escalated=now)
            else:
                add(course, Timepoint.MONTH_1, S.COMPLETED, day(-30), day(-16), completed=now)
            add(course, Timepoint.MONTH_3, S.CANCELLED if i % 11 == 0 else S.SCHEDULED, day(10), day(50))
            add(course, Timepoint.MONTH_6, S.SCHEDULED, day(100), day(160))
    bulk.copy_insert(Patient, patients)
    bulk.copy_insert(Course, courses)
    bulk.copy_rows(Course.therapists.through, ["course_id", "user_id"], ((c.pk, therapist.pk) for c in courses))
    bulk.copy_rows(Administration, ADMINISTRATION_FIELDS, administrations)
    bulk.copy_rows(OutboundMessage, MESSAGE_FIELDS, messages)
    bulk.copy_rows(
        Response,
        ["id", "administration_id", "course_id", "patient_id", "answered_at", "instrument", "answers", "complete"]
        + ["total", "safety_item_value", "scoring_version", "source", "entered_by_id"],
        (r + ("phq9", PHQ9_ITEM_9, True, 9, 1, "synthetic", ResponseSource.CLINICIAN, therapist.pk) for r in responses),
    )
    bulk.copy_rows(SafetyAlert, ["id", "response_id", "course_id", "item_value", "raised_at"], alerts)
    return len(administrations)


def _sent(administration_id, at) -> tuple:
    return (
        MessageKind.INVITATION,
        "email",
        "tick@example.invalid",
        administration_id,
        MessageStatus.SENT,
        1,
        at,
        at,
        at,
    )
