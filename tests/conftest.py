"""The fixed cast of users, and a few ready-made course states, shared by every test.

Cast: two therapists with different caseloads, a medical provider, a second medical provider,
a practice lead and an outsider (a staff account with no clinical role).
"""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.db.backends.signals import connection_created
from django.utils import timezone

from accounts.models import Role, User
from courses import rules, services
from courses.choices import Indication, Sex, VitalPhase

# Tests run at a fixed instant in the clinic's day: 11:00 in America/New_York (daylight time from 8 March).
NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture(autouse=True)
def _celery_eager():
    from kapclinic.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _test_client_logins_pass_second_factor():
    """client.force_login() stands for a whole sign-in, second factor included: tests of pages
    need not type codes. Only the test client's stand-in request (no path) is marked; a sign-in
    through the login page, as in tests/accounts/test_second_factor.py and the browser tests,
    still owes its code."""
    from django.contrib.auth.signals import user_logged_in

    from accounts import mfa

    def passed(sender, request, user, **kwargs):
        if request is not None and not request.path and hasattr(request, "session"):
            request.session[mfa.SESSION_KEY] = mfa.PASSED

    user_logged_in.connect(passed, dispatch_uid="tests.second_factor_passed")
    yield
    user_logged_in.disconnect(dispatch_uid="tests.second_factor_passed")


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    # Each test counts rate limits from zero under its own key prefix: nothing is flushed, so parallel
    # workers and a shared Redis never lose each other's keys (or the broker's queue).
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}


def _allow_test_flush(sender, connection, **kwargs):
    # A transactional test ends with a flush, which TRUNCATEs every table; on PostgreSQL the record's
    # tables refuse TRUNCATE (accounts migration 0003) unless the owner's connection says this.
    # tests/test_least_privilege.py proves the refusal on connections of its own.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET kapclinic.allow_truncate = 'on'")


connection_created.connect(_allow_test_flush, dispatch_uid="kapclinic-tests-allow-flush")


@pytest.fixture
def postgresql():
    """For tests with another process (a Celery worker) reading the test database."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "the worker is another process and cannot see SQLite's in-memory test database; "
            "run with DATABASE_URL=postgres://... (CI does)"
        )


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _user(username, role, first, last, credentials="", **extra):
    return User.objects.create_user(
        username=username,
        password=PASSWORD,
        role=role,
        first_name=first,
        last_name=last,
        email=f"{username}@kapclinic.invalid",
        credentials=credentials,
        **extra,
    )


@pytest.fixture
def therapist(db):
    return _user("therapist", Role.THERAPIST, "Tess", "Therapist-Demo", "LCSW")


@pytest.fixture
def other_therapist(db):
    return _user("therapist2", Role.THERAPIST, "Theo", "Othercaseload-Demo", "PsyD")


@pytest.fixture
def provider(db):
    return _user("provider", Role.MEDICAL_PROVIDER, "Mona", "Medic-Demo", "MD")


@pytest.fixture
def other_provider(db):
    return _user("provider2", Role.MEDICAL_PROVIDER, "Milo", "Medic-Other-Demo", "NP")


@pytest.fixture
def lead(db):
    return _user("lead", Role.PRACTICE_LEAD, "Lee", "Lead-Demo", "MD")


@pytest.fixture
def outsider(db):
    return _user("outsider", "", "Otto", "Outsider-Demo")


@pytest.fixture
def patient(db, therapist, clock):
    return services.patient_register(
        by=therapist,
        mrn="TEST-0001",
        given_name="Alice",
        family_name="Testpatient",
        date_of_birth=dt.date(1980, 5, 17),
        sex=Sex.FEMALE,
        email="alice.testpatient@example.invalid",
        weight_kg=Decimal("70.0"),
    )


@pytest.fixture
def course(patient, therapist, provider, clock):
    return services.course_open(
        patient=patient,
        by=therapist,
        indication=Indication.MDD_TRD,
        therapists=[therapist],
        medical_provider=provider,
    )


SIGNABLE_EVALUATION = {
    "evaluated_on": dt.date(2026, 3, 1),
    "systolic_bp": 124,
    "diastolic_bp": 78,
    "heart_rate": 72,
    "spo2": 98,
    "respiratory_rate": 14,
    "weight_kg": Decimal("70.0"),
    # Every item answered on purpose: nothing found, no childbearing potential.
    **rules.SCREEN_NOTHING_FOUND,
}


def clear_course(course, provider, therapist, *, evaluated_on=dt.date(2026, 3, 1), **screen):
    """A signed, cleared screen and a signed psychiatric evaluation on `course`."""
    evaluation = services.medical_evaluation_record(
        course=course,
        by=provider,
        decision="cleared",
        **{**SIGNABLE_EVALUATION, "evaluated_on": evaluated_on, **screen},
    )
    services.record_sign(record=evaluation, by=provider)
    psych = services.psychiatric_evaluation_record(
        course=course,
        by=therapist,
        evaluated_on=evaluated_on + dt.timedelta(days=1),
        diagnosis="Major depressive disorder, recurrent",
        suicide_risk="low",
    )
    services.record_sign(record=psych, by=therapist)
    course.refresh_from_db()
    return course


def prepare_course(course, therapist, *, now=None, baseline: str = "waive"):
    """What the first dose waits for besides the screen: a signed preparatory session, and the
    baseline questionnaires answered ("answer", all zeros) or waived ("waive", the default here:
    the baseline is not what these tests are about)."""
    from measures import services as measures
    from measures.models import Administration, AdministrationStatus, Timepoint

    now = now or timezone.now()
    note = services.preparatory_session_record(
        course=course, by=therapist, held_at=now - dt.timedelta(hours=1), note="Synthetic preparation.", now=now
    )
    services.record_sign(record=note, by=therapist, now=now)
    open_baselines = Administration.objects.filter(
        course=course,
        timepoint=Timepoint.BASELINE,
        status__in=[AdministrationStatus.SCHEDULED, AdministrationStatus.OPEN, AdministrationStatus.MISSED],
    )
    for administration in open_baselines:
        if baseline == "answer":
            items = {"phq9": 9, "gad7": 7, "pcl5": 20}[administration.instrument]
            measures.response_enter(
                administration=administration, by=therapist, answers=dict.fromkeys(range(1, items + 1), 0), now=now
            )
        else:
            measures.administration_waive(
                administration=administration, by=therapist, reason="Baseline not under test here.", now=now
            )
    course.refresh_from_db()
    return course


@pytest.fixture
def cleared_course(course, provider, therapist):
    """A course with a signed, cleared screen and a signed psychiatric evaluation."""
    return clear_course(course, provider, therapist)


@pytest.fixture
def ready_course(cleared_course, therapist):
    """A cleared course with what its first dose waits for: preparation, and the baseline (waived)."""
    return prepare_course(cleared_course, therapist)


@pytest.fixture
def dosing_session(therapist, provider, clock):
    return services.dosing_session_schedule(
        by=provider,
        starts_at=timezone.now() - dt.timedelta(minutes=30),
        ends_at=timezone.now() + dt.timedelta(hours=2),
        medical_provider=provider,
        facilitators=[therapist],
    )


@pytest.fixture
def participant(dosing_session, ready_course, provider):
    return services.dosing_participant_add(
        session=dosing_session,
        course=ready_course,
        by=provider,
        route="iv",
        dose_mg=Decimal("35"),
        weight_kg=Decimal("70"),
        lot_number="LOT-TEST-1",
        fasting_confirmed=True,
    )


# A serious adverse event as a provider records it: grade 4 is serious by definition (21 CFR 312.32).
SERIOUS_EVENT = {
    "term": "hypertensive_crisis",
    "grade": 4,
    "serious": True,
    "serious_criteria": ["life_threatening"],
    "relatedness": "probable",
    "expectedness": "expected",
    "action_taken": "transferred",
}


def normal_vitals(**overrides):
    values = {"systolic_bp": 128, "diastolic_bp": 80, "heart_rate": 76, "spo2": 98, "respiratory_rate": 14}
    values.update(overrides)
    return values


def monitor(participant, provider, *, final=None):
    """What discharge needs in readings: the one at about 40 minutes after the dose, and a full set
    before discharge, taken now (`final` changes its values)."""
    participant.refresh_from_db()
    services.vital_reading_record(
        participant=participant,
        by=provider,
        phase=VitalPhase.DURING,
        taken_at=participant.dosed_at + dt.timedelta(minutes=40),
        **normal_vitals(),
    )
    return services.vital_reading_record(
        participant=participant, by=provider, phase=VitalPhase.PRE_DISCHARGE, **normal_vitals(**(final or {}))
    )


DISCHARGE_CHECKLIST = {"alert_oriented": True, "escort_present": True, "no_driving_advised": True}


@pytest.fixture
def dosed_participant(participant, provider):
    services.vital_reading_record(participant=participant, by=provider, phase=VitalPhase.PRE_DOSE, **normal_vitals())
    return services.dose_administer(participant=participant, by=provider)
