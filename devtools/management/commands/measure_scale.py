"""Measure the staff pages and API lists at practice scale: queries and time per request.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kapclinic_scale \\
        python manage.py measure_scale --courses 10000

Loads N synthetic courses (bulk inserts, plainly fake names "Scale Patient-00001") into an
empty database, then requests each page as each role through Django's test client and
prints the number of SQL queries and the wall time. A page whose query count grows with
the number of courses shows up here as a large number.
"""

import datetime as dt
import time
from decimal import Decimal
from functools import partial

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import mfa
from courses import rules
from courses.choices import COURSE_STAGES, CourseStatus, Indication, VitalPhase
from courses.models import AdverseEvent, Course, DosingSession, MedicalEvaluation, Patient, VitalReading
from devtools import bulk

INDICATIONS = [Indication.MDD_TRD, Indication.PTSD, Indication.ANXIETY, Indication.OCD]


class Command(BaseCommand):
    help = "Load N synthetic courses and measure queries and time of each page and API list."

    def add_arguments(self, parser):
        parser.add_argument("--courses", type=int, default=10000)

    def handle(self, *args, courses: int, **options):
        if Patient.objects.exists():
            raise CommandError("Run this on an empty database: it loads its own synthetic practice.")
        started = time.perf_counter()
        staff = self._load(courses)
        self.stdout.write(f"loaded {courses} courses in {time.perf_counter() - started:.1f} s")
        self._measure(staff)

    @transaction.atomic
    def _load(self, n: int) -> dict:
        now = timezone.now()
        staff = bulk.staff("scale")
        patients, course_rows, evaluations, links = [], [], [], []
        for i in range(n):
            patient = bulk.patient_row("scale", i, created_at=now)
            course = bulk.course_row(
                patient,
                provider=staff["provider"],
                created_by=staff["lead"],
                status=COURSE_STAGES[i % len(COURSE_STAGES)],
                at=now,
                indication=INDICATIONS[i % len(INDICATIONS)],
            )
            patients.append(patient)
            course_rows.append(course)
            links.append((course, staff["therapist"] if i % 2 else staff["therapist2"]))
            evaluations.append(
                MedicalEvaluation(
                    course=course,
                    evaluated_on=now.date(),
                    systolic_bp=120,
                    diastolic_bp=80,
                    heart_rate=70,
                    weight_kg=Decimal("70"),
                    **rules.SCREEN_NOTHING_FOUND,
                    decision="cleared",
                    signed_at=now,
                    signed_by=staff["provider"],
                    created_at=now,
                    created_by=staff["provider"],
                )
            )
        # One individual dosing session per dosing-stage course, today, each with vitals and an event.
        dosing = [c for c in course_rows if c.status == CourseStatus.DOSING]
        sessions, doses, vitals, events = [], [], [], []
        for k, course in enumerate(dosing):
            start = now - dt.timedelta(days=k % 30, hours=1)
            session, dose = bulk.dose_rows(
                course, provider=staff["provider"], start=start, dosed_at=start, created_at=now
            )
            sessions.append(session)
            doses.append(dose)
            vitals.append(
                VitalReading(
                    dose=dose,
                    taken_at=start,
                    phase=VitalPhase.PRE_DOSE,
                    systolic_bp=150,
                    diastolic_bp=85,
                    alerts=["pre_dose_hold"],
                    created_at=now,
                )
            )
            events.append(
                AdverseEvent(
                    course=course,
                    dose=dose,
                    term="nausea",
                    grade=1 + (k % 4 == 0) * 3,
                    serious=k % 4 == 0,
                    serious_criteria=["life_threatening"] if k % 4 == 0 else [],
                    onset_at=start,
                    relatedness="possible",
                    expectedness="expected",
                    created_at=now,
                )
            )
        bulk.insert(
            patients=patients,
            courses=course_rows,
            links=links,
            sessions=sessions,
            facilitator=staff["therapist"],
            doses=doses,
            vitals=vitals,
            events=events,
        )
        MedicalEvaluation.objects.bulk_create(evaluations, batch_size=2000)
        return staff

    def _measure(self, staff: dict) -> None:
        course = Course.objects.filter(status=CourseStatus.DOSING).first()
        session = DosingSession.objects.first()
        pages = [
            ("therapist", "caseload", reverse("caseload")),
            ("therapist", "patient list", reverse("patient-list")),
            ("therapist", "dosing sessions", reverse("dosing-session-list")),
            ("provider", "today", reverse("provider-today")),
            ("lead", "lead dashboard", reverse("lead-dashboard")),
            ("lead", "patient list", reverse("patient-list")),
            ("lead", "course timeline", reverse("course-timeline", args=[course.pk])),
            ("lead", "dosing session", reverse("dosing-session", args=[session.pk])),
            ("lead", "API courses", "/api/courses/"),
            ("lead", "API patients", "/api/patients/"),
            ("lead", "API dosing sessions", "/api/dosing-sessions/"),
            ("lead", "API timeline", f"/api/courses/{course.pk}/timeline/"),
        ]
        self.stdout.write(f"{'role':<10} {'page':<22} {'status':>6} {'queries':>8} {'ms':>8}")
        for role, label, url in pages:
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(staff[role])
            # A lead owes a second factor since sign-in got one; the measurement is of the page, so
            # the session is marked as having passed it (as the tests' force_login does).
            session = client.session
            session[mfa.SESSION_KEY] = mfa.PASSED
            session.save()
            client.get(url, secure=True)  # warm caches (templates, content types) so the second run is the steady state
            response, queries, seconds = bulk.measured(partial(client.get, url, secure=True))
            self.stdout.write(f"{role:<10} {label:<22} {response.status_code:>6} {queries:>8} {seconds * 1000:>8.0f}")
