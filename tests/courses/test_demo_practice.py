"""The demo_practice command: a synthetic clinic built through the services, loaded once."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count

from accounts.models import Role, User
from courses.choices import CourseStatus, SessionFormat, VitalAlert
from courses.management.commands.demo_practice import ADMIN, EXPECTED_STAGES, PATIENT_COUNT, STAFF
from courses.models import (
    AdverseEvent,
    Amendment,
    AuditEvent,
    Course,
    DosingParticipant,
    DosingSession,
    Patient,
    PreparatorySession,
    VitalReading,
)


def _load() -> str:
    out = StringIO()
    call_command("demo_practice", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Build the demo once for this module's tests, inside a transaction rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _load()
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_it_refuses_when_demo_usernames_are_taken_by_real_accounts():
    # Runs before the module's demo exists: pytest keeps file order on one worker.
    User.objects.create_user(username="lead", password="a-real-password-2026")

    with pytest.raises(CommandError, match="lead"):
        _load()
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_it_puts_courses_in_every_stage(demo):
    counts = {status: Course.objects.active().filter(status=status).count() for status in CourseStatus.values}

    assert counts == EXPECTED_STAGES
    assert all(counts[stage] > 0 for stage in CourseStatus.values)
    assert "Demo practice loaded: 30 patients" in demo


@pytest.mark.django_db
def test_its_patients_are_plainly_synthetic(demo):
    patients = Patient.objects.active()

    assert patients.count() == PATIENT_COUNT
    assert all(p.mrn.startswith("DEMO-") for p in patients)
    assert all(p.family_name.startswith("Demo-") for p in patients)
    assert all(p.email.endswith("@example.invalid") for p in patients)


@pytest.mark.django_db
def test_it_holds_a_group_session_of_four_or_more(demo):
    groups = DosingSession.objects.active().filter(format=SessionFormat.GROUP)

    assert groups.exists()
    for session in groups:
        participants = session.participants.active()
        assert 4 <= participants.count() <= 12
        assert {p.course.format for p in participants} == {SessionFormat.GROUP}
    assert groups.filter(signed_at__isnull=False).exists()


@pytest.mark.django_db
def test_it_leaves_a_serious_event_for_the_lead_to_acknowledge(demo):
    assert AdverseEvent.objects.serious_unacknowledged().exists()
    assert AdverseEvent.objects.filter(serious=True, acknowledged_at__isnull=False).exists()
    assert AdverseEvent.objects.filter(serious=False).exists()


@pytest.mark.django_db
def test_it_overrides_a_pre_dose_hold_and_flags_alerts(demo):
    overridden = DosingParticipant.objects.exclude(hold_override_at=None)

    assert overridden.exists()
    for participant in overridden:
        assert participant.hold_override_reason
        assert participant.dosed_at is not None
        assert any(VitalAlert.PRE_DOSE_HOLD in r.alerts for r in participant.vitals.all())
    assert any(VitalAlert.HIGH_BP in alerts for alerts in VitalReading.objects.values_list("alerts", flat=True))


@pytest.mark.django_db
def test_it_records_maintenance_amendments_voids_and_discontinuations(demo):
    maintenance = DosingParticipant.objects.filter(is_maintenance=True, dosed_at__isnull=False)
    assert maintenance.filter(course__status=CourseStatus.FOLLOW_UP).exists()
    assert DosingParticipant.objects.filter(over_maximum_reason__gt="").exists()
    assert Amendment.objects.count() >= 2
    assert PreparatorySession.objects.exclude(voided_at=None).exclude(void_reason="").exists()
    discontinued = Course.objects.filter(status=CourseStatus.DISCONTINUED)
    assert all(c.discontinued_reason for c in discontinued)
    returning = Patient.objects.annotate(n=Count("courses")).filter(n=2)
    assert returning.count() == 1
    assert returning.get().courses.filter(status=CourseStatus.EVALUATION).exists()


@pytest.mark.django_db
def test_its_printed_logins_work_for_every_role(demo, settings):
    # The demo was built before the test settings swapped in a fast hasher: check with Argon2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    for login in [ADMIN, *STAFF]:
        assert login.username in demo and login.password in demo
        user = User.objects.get(username=login.username)
        assert user.check_password(login.password)
        if login is ADMIN:
            assert user.is_superuser
        else:
            assert user.role == login.role
    assert {s.role for s in STAFF} == set(Role.values)


@pytest.mark.django_db
def test_it_changes_nothing_when_run_again(demo):
    before = [m.objects.count() for m in (Patient, Course, DosingParticipant, AdverseEvent, AuditEvent, User)]

    output = _load()

    assert "already loaded" in output
    assert "demo-lead-2026" in output
    assert [m.objects.count() for m in (Patient, Course, DosingParticipant, AdverseEvent, AuditEvent, User)] == before
