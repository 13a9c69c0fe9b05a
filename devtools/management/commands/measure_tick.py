"""Time one measures tick over N synthetic courses and count its SQL queries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kapclinic_tick \\
        python manage.py measure_tick --courses 10000

Loads N synthetic courses (bulk inserts, plainly fake names "Tick Patient-00001") with
administrations in every state into an EMPTY database, then runs services.tick() twice and
prints the wall time and the number of SQL queries of each run. The first run has work: a
few courses are due (opened one claim at a time, by design), reminded, missed, escalated.
The second finds nothing to do; its query count must not grow with the number of courses.
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
    MessageKind,
    MessageStatus,
    OutboundMessage,
    Timepoint,
)

INSTRUMENTS = ("phq9", "gad7")
S = AdministrationStatus


class Command(BaseCommand):
    help = "Load N synthetic courses with administrations in every state and time one measures tick."

    def add_arguments(self, parser):
        parser.add_argument("--courses", type=int, default=10000)

    def handle(self, *args, courses: int, **options):
        if Patient.objects.exists() or Course.objects.exists() or Administration.objects.exists():
            raise CommandError("Run this on an empty database: it loads its own synthetic practice.")
        started = time.perf_counter()
        rows = self._load(courses)
        self.stdout.write(f"loaded {courses} courses, {rows} administrations in {time.perf_counter() - started:.1f} s")
        bulk.analyze()  # as autovacuum would after a load this size
        now = timezone.now()
        for label in ("first tick (with work)", "second tick (nothing due)"):
            done, queries, took = bulk.measured(lambda: services.tick(now=now))
            summary = {k: (len(v) if k == "to_send" else v) for k, v in done.items()}
            self.stdout.write(f"{label}: {took * 1000:.0f} ms, {queries} queries, {summary}")

    @transaction.atomic
    def _load(self, n: int) -> int:
        now = timezone.now()
        today = timezone.localdate(now)
        staff = bulk.staff("tick", keys=("therapist", "provider"))
        therapist, provider = staff["therapist"], staff["provider"]
        patients, courses, links, administrations, messages = [], [], [], [], []

        def add(course, timepoint, status, open_from, missed_after, **extra):
            for instrument in INSTRUMENTS:
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
                    created_at=now,
                    **extra,
                )
                if status == S.CANCELLED:
                    a.cancelled_reason, a.cancelled_at = "synthetic", now
                if status == S.OPEN:
                    a.opened_at, a.link_nonce, a.link_issued_at = now, uuid.uuid4().hex, now
                administrations.append(a)
                yield a

        def day(offset: int) -> dt.date:
            return today + dt.timedelta(days=offset)

        for i in range(n):
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
            links.append((course, therapist))
            bucket = i % 50
            if bucket == 0:  # due today: the tick opens and invites
                list(add(course, Timepoint.BASELINE, S.SCHEDULED, day(0), day(30)))
            elif bucket == 1:  # invited four days ago: a reminder
                for a in add(course, Timepoint.BASELINE, S.OPEN, day(-4), day(20)):
                    messages.append(_sent(a, now - dt.timedelta(days=4)))
            elif bucket == 2:  # the window closed yesterday: missed
                for a in add(course, Timepoint.BASELINE, S.OPEN, day(-30), day(-1)):
                    messages.append(_sent(a, now - dt.timedelta(days=30)))
            elif bucket == 3:  # a follow-up whose window closed: missed and escalated
                list(add(course, Timepoint.BASELINE, S.COMPLETED, day(-150), day(-120), completed_at=now))
                list(add(course, Timepoint.MONTH_1, S.OPEN, day(-14), day(-1)))
            else:  # the bulk: history done, follow-ups ahead
                list(add(course, Timepoint.BASELINE, S.COMPLETED, day(-120), day(-90), completed_at=now))
                end_status = S.MISSED if i % 7 == 0 else S.COMPLETED
                extra = {"missed_at": now} if end_status == S.MISSED else {"completed_at": now}
                list(add(course, Timepoint.END_OF_COURSE, end_status, day(-60), day(-50), **extra))
                m1 = S.MISSED if i % 5 == 0 else S.COMPLETED
                extra = {"missed_at": now, "escalated_at": now} if m1 == S.MISSED else {"completed_at": now}
                list(add(course, Timepoint.MONTH_1, m1, day(-30), day(-16), **extra))
                list(add(course, Timepoint.MONTH_3, S.CANCELLED if i % 11 == 0 else S.SCHEDULED, day(10), day(50)))
                list(add(course, Timepoint.MONTH_6, S.SCHEDULED, day(100), day(160)))
        bulk.insert(patients=patients, courses=courses, links=links)
        Administration.objects.bulk_create(administrations, batch_size=5000)
        OutboundMessage.objects.bulk_create(messages, batch_size=5000)
        return len(administrations)


def _sent(administration, at) -> OutboundMessage:
    return OutboundMessage(
        kind=MessageKind.INVITATION,
        channel="email",
        to_address="tick@example.invalid",
        administration=administration,
        status=MessageStatus.SENT,
        attempts=1,
        created_at=at,
        claimed_at=at,
        sent_at=at,
    )
