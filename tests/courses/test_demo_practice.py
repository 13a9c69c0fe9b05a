"""The demo_practice command: a synthetic clinic built through the services, loaded once."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count

from accounts.models import Role, User
from courses.choices import CourseStatus, SessionFormat, VitalAlert
from courses.models import (
    AdverseEvent,
    Amendment,
    AuditEvent,
    Course,
    Dose,
    DosingSession,
    HoldOverride,
    InSessionAlert,
    Patient,
    PreparatorySession,
    VitalReading,
)
from devtools.demo.clinic import ADMIN, EXPECTED_STAGES, PATIENT_COUNT, STAFF


def _load() -> str:
    out = StringIO()
    call_command("demo_practice", "--i-know-this-is-not-production", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Build the demo once for this module's tests, inside a transaction rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _load()
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_with_debug_off_it_refuses_without_the_not_production_flag(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="--i-know-this-is-not-production") as refused:
        call_command("demo_practice", stdout=StringIO())

    assert "DEBUG is off" in str(refused.value)
    assert not User.objects.exists()
    assert not Patient.objects.exists()


def test_with_debug_off_the_command_line_exits_with_the_message(tmp_path):
    # The real entry point with production settings (DEBUG=0), on a throwaway SQLite file: had the
    # guard let it through, it would fail on the empty database instead of naming the flag.
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "TESTING", "DATABASE_URL", "REDIS_URL"}}
    env.update(
        DEBUG="0", SECRET_KEY="x" * 60, ALLOWED_HOSTS="kapclinic.example.invalid", KAPCLINIC_VAR_DIR=str(tmp_path)
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "demo_practice"],
        cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 1
    assert "DEBUG is off" in result.stderr
    assert "--i-know-this-is-not-production" in result.stderr
    assert "Traceback" not in result.stderr


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
    assert f"Demo practice loaded: {PATIENT_COUNT} patients" in demo


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
        doses = session.doses.active()
        assert 4 <= doses.count() <= 12
        assert {p.course.format for p in doses} == {SessionFormat.GROUP}
    assert groups.filter(signed_at__isnull=False).exists()


@pytest.mark.django_db
def test_it_leaves_a_serious_event_for_the_lead_to_acknowledge(demo):
    assert AdverseEvent.objects.serious_unacknowledged().exists()
    assert AdverseEvent.objects.filter(serious=True, acknowledged_at__isnull=False).exists()
    assert AdverseEvent.objects.filter(serious=False).exists()


@pytest.mark.django_db
def test_it_overrides_a_pre_dose_hold_and_flags_alerts(demo):
    overrides = HoldOverride.objects.select_related("dose", "reading")
    assert overrides.exists()
    for override in overrides:
        assert override.reason and VitalAlert.PRE_DOSE_HOLD in override.reading.alerts
        assert override.dose.dosed_at is not None
    assert any(VitalAlert.HIGH_BP in alerts for alerts in VitalReading.objects.values_list("alerts", flat=True))


@pytest.mark.django_db
def test_it_closes_an_in_session_alert_with_an_action_and_documents_a_discharge_exception(demo):
    closed = InSessionAlert.objects.filter(action="recheck")
    assert closed.exists() and all(a.note and a.closed_by for a in closed)
    # The group session under way now still has one open: the group card and the today page show it.
    assert InSessionAlert.objects.open().filter(dose__discharged_at=None).exists()
    excepted = Dose.objects.exclude(discharge_exception_reason="")
    assert excepted.count() == 1 and not excepted.get().discharge_vitals_acceptable


@pytest.mark.django_db
def test_every_dosed_course_had_its_preparation_and_a_baseline_answered_or_waived(demo):
    from measures.models import Administration

    dosed = Course.objects.filter(doses__dosed_at__isnull=False).distinct()
    for course in dosed:
        assert course.preparatory_sessions.filter(signed_at__isnull=False, voided_at=None).exists()
        statuses = set(
            Administration.objects.filter(course=course, timepoint="baseline").values_list("status", flat=True)
        )
        assert statuses <= {"completed", "waived"}, (course.pk, statuses)
    waived = Administration.objects.filter(status="waived")
    assert waived.count() == 1 and waived.get().waived_reason


@pytest.mark.django_db
def test_it_records_maintenance_amendments_voids_and_discontinuations(demo):
    maintenance = Dose.objects.filter(is_maintenance=True, dosed_at__isnull=False)
    assert maintenance.filter(course__status=CourseStatus.FOLLOW_UP).exists()
    assert Dose.objects.filter(over_maximum_reason__gt="").exists()
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
    before = [m.objects.count() for m in (Patient, Course, Dose, AdverseEvent, AuditEvent, User)]

    output = _load()

    assert "already loaded" in output
    assert "demo-lead-2026" in output
    assert [m.objects.count() for m in (Patient, Course, Dose, AdverseEvent, AuditEvent, User)] == before


@pytest.mark.django_db
def test_it_shows_the_measures_answered_over_the_courses(demo):
    from measures.models import Administration, AdministrationStatus, Response, ResponseSource

    answered = Response.objects.filter(course__status__in=[CourseStatus.FOLLOW_UP, CourseStatus.COMPLETED])
    timepoints = set(answered.values_list("administration__timepoint", flat=True))
    assert {"baseline", "pre_dose", "end_of_course", "month_1", "month_3", "month_6"} <= timepoints
    assert set(Response.objects.values_list("source", flat=True)) == {ResponseSource.CLINICIAN}
    assert not Response.objects.filter(answered_at__gt=timezone_now()).exists()
    # Scores fall over the course for most patients with more than one PHQ-9.
    falling = total = 0
    for course in Course.objects.filter(responses__isnull=False).distinct():
        scores = list(
            course.responses.filter(instrument="phq9", complete=True)
            .order_by("answered_at")
            .values_list("total", flat=True)
        )
        if len(scores) > 1:
            total += 1
            falling += scores[-1] < scores[0]
    assert total >= 10 and falling > total / 2
    # Some follow-ups were missed, and the missed ones are on the worklist.
    missed = Administration.objects.filter(status=AdministrationStatus.MISSED, timepoint__startswith="month_")
    assert missed.exists() and not missed.filter(escalated_at__isnull=True).exists()


@pytest.mark.django_db
def test_it_has_one_acknowledged_safety_alert_and_none_open(demo):
    from measures.models import SafetyAlert

    alert = SafetyAlert.objects.get()
    assert alert.acknowledged_at is not None and alert.action_note
    assert set(alert.messages.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_its_first_tick_sends_invitations_for_today(demo):
    from measures import services as measures
    from measures.models import MessageKind, OutboundMessage

    assert not OutboundMessage.objects.filter(kind=MessageKind.INVITATION).exists()
    done = measures.tick()
    assert done["opened"] >= 3 and done["invitations"] == done["opened"]
    assert done["missed"] == 0  # the demo already closed what had passed


def timezone_now():
    from django.utils import timezone

    return timezone.now()


@pytest.mark.django_db
def test_it_has_a_stalled_course_on_the_worklist_and_in_the_report(demo):
    from accounts.models import Role, User
    from measures.selectors import worklist_for
    from reports.cohort import ReportFilters
    from reports.report import build_practice_report

    lead = User.objects.filter(role=Role.PRACTICE_LEAD).first()
    stalled = worklist_for(user=lead).stalled
    assert len(stalled) == 1 and stalled[0].days_without_dose == 49
    # Planned from its last dose, 49 days ago: +1 month (day 23–37) had closed when the demo was made.
    assert {a.timepoint for a in stalled[0].administrations.exclude(status="cancelled")} >= {"month_3", "month_6"}
    flow = build_practice_report(ReportFilters()).course_flow
    assert flow.stalled == 1 and flow.discontinued == 1 and flow.discontinued_with_follow_up >= 0
