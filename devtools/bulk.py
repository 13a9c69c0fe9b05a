"""Bulk rows for the load generators (measure_scale, measure_tick, measure_report).

The generators load thousands of synthetic courses in seconds, so unlike `devtools.builders` they
do not go through the services: they build model rows here and insert them with bulk_create into
an empty database. Names are plainly fake: "Scale Patient-00001", MRN SCALE-000001,
scale1@example.invalid.
"""

import datetime as dt
import time
import uuid
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role, User
from courses.choices import Route, SessionFormat, Sex
from courses.models import AdverseEvent, Course, Dose, DosingSession, Patient, VitalReading

STAFF_ROLES = {
    "therapist": Role.THERAPIST,
    "therapist2": Role.THERAPIST,
    "provider": Role.MEDICAL_PROVIDER,
    "lead": Role.PRACTICE_LEAD,
}


def staff(prefix: str, keys=tuple(STAFF_ROLES)) -> dict[str, User]:
    """Staff accounts "<prefix>-therapist", … (no password), by key: therapist, therapist2, provider, lead."""
    return {
        key: User.objects.create_user(f"{prefix}-{key}", role=STAFF_ROLES[key], first_name=prefix.title())
        for key in keys
    }


def patient_row(prefix: str, i: int, *, created_at: dt.datetime, **fields) -> Patient:
    """Patient number `i`: MRN PREFIX-00000i, "Prefix Patient-0000i"; a birth date and a sex from
    `i` unless `fields` give them."""
    values = {
        "date_of_birth": dt.date(1950 + i % 50, 1 + i % 12, 1 + i % 28),
        "sex": Sex.FEMALE if i % 2 else Sex.MALE,
        **fields,
    }
    return Patient(
        id=uuid.uuid4(),
        mrn=f"{prefix.upper()}-{i:06d}",
        given_name=prefix.title(),
        family_name=f"Patient-{i:05d}",
        email=f"{prefix}{i}@example.invalid",
        created_at=created_at,
        **values,
    )


def course_row(patient: Patient, *, provider: User, created_by: User, status: str, at: dt.datetime, **fields) -> Course:
    """A course of `patient` opened (and last moved to `status`) at `at`."""
    return Course(
        id=uuid.uuid4(),
        patient=patient,
        medical_provider=provider,
        status=status,
        status_changed_at=at,
        started_on=timezone.localdate(at),
        created_at=at,
        created_by=created_by,
        **fields,
    )


def dose_rows(
    course: Course,
    *,
    provider: User,
    start: dt.datetime,
    dosed_at: dt.datetime,
    created_at: dt.datetime,
    format: str = SessionFormat.INDIVIDUAL,
    **overrides,
) -> tuple[DosingSession, Dose]:
    """A three-hour session from `start` and the course's dose in it, given at `dosed_at`: 35 mg IV
    on 70 kg (0.5 mg/kg) unless `overrides` say otherwise."""
    session = DosingSession(
        id=uuid.uuid4(),
        format=format,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=3),
        medical_provider=provider,
        created_at=created_at,
    )
    values = {
        "route": Route.IV,
        "dose_mg": Decimal("35"),
        "weight_kg": Decimal("70"),
        "dose_mg_per_kg": Decimal("0.5"),
        "protocol_maximum": Decimal("1.0"),
        "protocol_maximum_unit": "mg/kg",
        "fasting_confirmed": True,
        **overrides,
    }
    dose = Dose(id=uuid.uuid4(), session=session, course=course, dosed_at=dosed_at, created_at=created_at, **values)
    return session, dose


def insert(
    *,
    patients,
    courses,
    links,
    sessions=(),
    facilitator: User | None = None,
    doses=(),
    vitals=(),
    events=(),
) -> None:
    """Bulk-insert the rows in dependency order; `links` are (course, therapist) pairs, and every
    session gets `facilitator`."""
    Patient.objects.bulk_create(patients, batch_size=2000)
    Course.objects.bulk_create(courses, batch_size=2000)
    Course.therapists.through.objects.bulk_create(
        [Course.therapists.through(course_id=c.pk, user_id=t.pk) for c, t in links], batch_size=5000
    )
    if sessions:
        DosingSession.objects.bulk_create(sessions, batch_size=2000)
        DosingSession.facilitators.through.objects.bulk_create(
            [DosingSession.facilitators.through(dosingsession_id=s.pk, user_id=facilitator.pk) for s in sessions],
            batch_size=5000,
        )
    Dose.objects.bulk_create(doses, batch_size=2000)
    VitalReading.objects.bulk_create(vitals, batch_size=2000)
    AdverseEvent.objects.bulk_create(events, batch_size=2000)


def analyze() -> None:
    """On PostgreSQL, ANALYZE: a running clinic's tables have planner statistics; freshly
    bulk-loaded ones do not until autovacuum gets to them, and without them PostgreSQL picks
    nested loops."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def measured(action):
    """Run `action()`; returns its result, the number of SQL queries and the seconds it took."""
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - started
    return result, len(queries.captured_queries), elapsed
