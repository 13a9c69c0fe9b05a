"""The fixed cast of users, and a few ready-made course states, shared by every test.

Cast: two therapists with different caseloads, a medical provider, a second medical provider,
a practice lead and an outsider (a staff account with no clinical role).
"""

import uuid

import pytest
import time_machine
from django.db import connection
from django.db.backends.signals import connection_created

from accounts.models import Role
from courses import services
from devtools import builders
from tests.support import NOW


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


@pytest.fixture
def therapist(db):
    return builders.staff("therapist", Role.THERAPIST, "Tess", "Therapist-Demo", "LCSW")


@pytest.fixture
def other_therapist(db):
    return builders.staff("therapist2", Role.THERAPIST, "Theo", "Othercaseload-Demo", "PsyD")


@pytest.fixture
def provider(db):
    return builders.staff("provider", Role.MEDICAL_PROVIDER, "Mona", "Medic-Demo", "MD")


@pytest.fixture
def other_provider(db):
    return builders.staff("provider2", Role.MEDICAL_PROVIDER, "Milo", "Medic-Other-Demo", "NP")


@pytest.fixture
def lead(db):
    return builders.staff("lead", Role.PRACTICE_LEAD, "Lee", "Lead-Demo", "MD")


@pytest.fixture
def outsider(db):
    return builders.staff("outsider", "", "Otto", "Outsider-Demo")


@pytest.fixture
def patient(db, therapist, clock):
    return builders.patient(
        by=therapist,
        mrn="TEST-0001",
        given_name="Alice",
        family_name="Testpatient",
        email="alice.testpatient@example.invalid",
    )


@pytest.fixture
def course(patient, therapist, provider, clock):
    return builders.course(patient, by=therapist, medical_provider=provider)


@pytest.fixture
def cleared_course(course, provider, therapist):
    """A course with a signed, cleared screen and a signed psychiatric evaluation."""
    return builders.clear_course(course, provider, therapist)


@pytest.fixture
def ready_course(cleared_course, therapist):
    """A cleared course with what its first dose waits for: preparation, and the baseline (waived)."""
    return builders.prepare_course(cleared_course, therapist)


@pytest.fixture
def dosing_session(therapist, provider, clock):
    return builders.dosing_session(provider=provider, facilitators=[therapist], hours=2.5)


@pytest.fixture
def dose(dosing_session, ready_course, provider):
    return builders.dose_planned(
        session=dosing_session, course=ready_course, provider=provider, lot_number="LOT-TEST-1"
    )


@pytest.fixture
def given_dose(dose, provider):
    builders.pre_dose_vitals(dose, provider)
    return services.dose_administer(dose=dose, by=provider)
