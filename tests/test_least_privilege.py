"""The application's PostgreSQL role cannot erase or rewrite the record (issue 13, finding 2).

`manage.py db_roles` makes the role in the test database; the test then connects as it with
psycopg, as the running app would, and sees every statement the finding used refused, while the
app's own work (services, a signed-in page) goes through as that role. The owner is refused
TRUNCATE and the rewriting of a signed record too: those are triggers (accounts migration 0003).
"""

import datetime as dt
import secrets
from io import StringIO

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from psycopg import errors

from accounts.db_roles import table_privileges
from courses import services
from courses.models import Amendment, AuditEvent, IntegrationSession, Patient, PsychiatricEvaluation

pytestmark = pytest.mark.django_db(transaction=True)


def _skip_unless_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("roles, grants and triggers are PostgreSQL's; run with DATABASE_URL=postgres://... (CI does)")


@pytest.fixture(autouse=True)
def _postgresql_only():
    _skip_unless_postgresql()


def _conninfo(**override) -> dict:
    settings = connection.settings_dict
    params = {
        "host": settings["HOST"] or None,
        "port": settings["PORT"] or None,
        "dbname": settings["NAME"],
        "user": settings["USER"],
        "password": settings["PASSWORD"] or None,
    }
    params.update(override)
    return {k: v for k, v in params.items() if v is not None}


@pytest.fixture
def app_role(monkeypatch):
    """The application's role, made by the command an operator runs; dropped afterwards (roles
    belong to the whole server, not to the test database)."""
    _skip_unless_postgresql()
    role = f"{connection.settings_dict['NAME']}_app"[:63]
    password = secrets.token_urlsafe(24)
    monkeypatch.setenv("DATABASE_APP_PASSWORD", password)
    out, err = StringIO(), StringIO()
    call_command("db_roles", role=role, stdout=out, stderr=err)
    output = out.getvalue() + err.getvalue()
    assert password not in output
    assert f"role {role}: created" in output
    assert f"role {role}: password set (not shown)" in output
    yield {"role": role, "password": password, "output": output}
    connection.close()
    with psycopg.connect(**_conninfo(), autocommit=True) as owner:
        owner.execute(psycopg.sql.SQL("DROP OWNED BY {}").format(psycopg.sql.Identifier(role)))
        owner.execute(psycopg.sql.SQL("DROP ROLE {}").format(psycopg.sql.Identifier(role)))


def _as(app_role) -> psycopg.Connection:
    return psycopg.connect(**_conninfo(user=app_role["role"], password=app_role["password"]), autocommit=True)


@pytest.fixture
def record(cleared_course, therapist, provider, clock):
    """A course with signed evaluations and a signed integration session (a link row to the
    course), and so audit rows: all committed, for the other connections to see."""
    from tests.support import NOW

    session = services.integration_session_add(
        courses=[cleared_course], by=therapist, held_at=NOW - dt.timedelta(hours=2), note="Synthetic integration."
    )
    services.record_sign(record=session, by=therapist)
    return {
        "course": cleared_course,
        "psych": PsychiatricEvaluation.objects.get(course=cleared_course),
        "session": session,
        "audit_id": AuditEvent.objects.order_by("id").values_list("id", flat=True).first(),
    }


def _counts(cursor) -> dict:
    tables = ["courses_auditevent", "courses_patient", "courses_psychiatricevaluation"]
    tables += ["courses_integrationsession_courses", "courses_amendment"]
    return {t: cursor.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # noqa: S608


REFUSED = [
    ("truncate the audit trail", "TRUNCATE courses_auditevent", errors.InsufficientPrivilege, "permission denied"),
    (
        "truncate a clinical table",
        "TRUNCATE courses_patient CASCADE",
        errors.InsufficientPrivilege,
        "permission denied",
    ),
    (
        "delete an audit row",
        "DELETE FROM courses_auditevent WHERE id = %(audit_id)s",
        errors.InsufficientPrivilege,
        "permission denied",
    ),
    (
        "change an audit row",
        "UPDATE courses_auditevent SET detail = 'rewritten' WHERE id = %(audit_id)s",
        errors.InsufficientPrivilege,
        "permission denied",
    ),
    (
        "delete a clinical row",
        "DELETE FROM courses_psychiatricevaluation WHERE id = %(psych)s",
        errors.InsufficientPrivilege,
        "permission denied",
    ),
    (
        "delete a link row between records",
        "DELETE FROM courses_integrationsession_courses WHERE integrationsession_id = %(session)s",
        errors.InsufficientPrivilege,
        "permission denied",
    ),
    (
        "change a signed record's clinical column",
        "UPDATE courses_psychiatricevaluation SET diagnosis = 'Rewritten', version = version + 1 WHERE id = %(psych)s",
        errors.RaiseException,
        "this psychiatricevaluation is signed: diagnosis cannot be changed",
    ),
    (
        "un-sign a signed record",
        "UPDATE courses_integrationsession SET signed_at = NULL, signed_by_id = NULL WHERE id = %(session)s",
        errors.RaiseException,
        "signed_at, signed_by_id cannot be changed",
    ),
    (
        "disable the audit trail's trigger",
        "ALTER TABLE courses_auditevent DISABLE TRIGGER courses_auditevent_append_only",
        errors.InsufficientPrivilege,
        "must be owner",
    ),
    (
        "disable a clinical table's triggers",
        "ALTER TABLE courses_patient DISABLE TRIGGER ALL",
        errors.InsufficientPrivilege,
        "must be owner",
    ),
    ("create a table of its own", "CREATE TABLE mine (id int)", errors.InsufficientPrivilege, "permission denied"),
    # A temporary table named courses_amendment would shadow the real one for the session (found
    # by review: the trigger's lookup then saw a fake amendment).
    (
        "create a temporary table",
        "CREATE TEMP TABLE courses_amendment (record_type text, record_id uuid)",
        errors.InsufficientPrivilege,
        "permission denied to create temporary tables",
    ),
]


def test_the_application_role_is_refused_every_erasure(app_role, record):
    params = {"audit_id": record["audit_id"], "psych": record["psych"].pk, "session": record["session"].pk}
    with _as(app_role) as app:
        assert app.execute("SELECT current_user").fetchone()[0] == app_role["role"]
        before = _counts(app)
        refused = []
        for what, statement, error, message in REFUSED:
            with pytest.raises(error) as caught:
                app.execute(statement, params)
            assert message in str(caught.value), (what, str(caught.value))
            refused.append(what)
        assert _counts(app) == before
        assert len(refused) == len(REFUSED)
        owner = connection.settings_dict["USER"]
        with pytest.raises(errors.InsufficientPrivilege):
            app.execute(psycopg.sql.SQL("SET ROLE {}").format(psycopg.sql.Identifier(owner)))
        owned = app.execute(
            "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
        ).fetchone()[0]
        assert owned == 0
    psych = PsychiatricEvaluation.objects.get(pk=record["psych"].pk)
    assert psych.diagnosis == record["psych"].diagnosis and psych.version == record["psych"].version


def test_the_application_role_does_the_apps_work(app_role, record, therapist, other_therapist, lead, client):
    """The app itself, connected as the role: register a patient, amend and void signed records,
    change a care team (the one link that loses rows by design), sign in and read a page."""
    settings = connection.settings_dict
    saved = {key: settings[key] for key in ("USER", "PASSWORD")}
    connection.close()
    settings.update(USER=app_role["role"], PASSWORD=app_role["password"])
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == app_role["role"]
        patient = services.patient_register(
            by=therapist,
            mrn="TEST-LP-0002",
            given_name="Bea",
            family_name="Leastprivilege",
            date_of_birth=dt.date(1979, 1, 2),
            sex="female",
            email="bea.leastprivilege@example.invalid",
            weight_kg=70,
        )
        amendment = services.record_amend(
            record=record["psych"], by=therapist, changes={"note": "Corrected, synthetic."}, reason="Typing error."
        )
        # A correction inside a caller's transaction is a savepoint: still one transaction with its row.
        with transaction.atomic():
            services.record_amend(
                record=record["psych"], by=therapist, changes={"note": "Corrected twice."}, reason="Second look."
            )
        services.record_void(record=record["session"], by=therapist, reason="Recorded on the wrong course.")
        services.course_update_team(course=record["course"], by=lead, therapists=[other_therapist])
        client.force_login(therapist)
        assert client.get("/", follow=True).status_code == 200
    finally:
        connection.close()
        settings.update(saved)
    assert Patient.objects.filter(pk=patient.pk).exists()
    psych = PsychiatricEvaluation.objects.get(pk=record["psych"].pk)
    assert psych.note == "Corrected twice."
    assert Amendment.objects.filter(record_id=psych.pk).count() == 2 and amendment.pk
    assert IntegrationSession.objects.get(pk=record["session"].pk).voided_at is not None
    assert list(record["course"].therapists.all()) == [other_therapist]


def test_a_signed_record_changes_only_beside_an_amendment_whoever_writes(record):
    """The trigger binds the owner too: the same transaction must write the Amendment, and an old
    amendment of the record does not license a new change."""
    psych = record["psych"]

    def rewrite(diagnosis):
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE courses_psychiatricevaluation SET diagnosis = %s WHERE id = %s", [diagnosis, psych.pk]
            )

    def amendment():
        return Amendment.objects.create(
            record_type="psychiatricevaluation",
            record_id=psych.pk,
            changes={"diagnosis": {"from": psych.diagnosis, "to": "Amended"}},
            reason="Synthetic correction.",
            amended_at=psych.created_at,
            amended_by=psych.signed_by,
        )

    with pytest.raises(DatabaseError, match="diagnosis cannot be changed"), transaction.atomic():
        rewrite("Rewritten")
    with transaction.atomic():
        rewrite("Amended")
        amendment()
    # That amendment is now committed: it covers its own change, not a later one.
    with pytest.raises(DatabaseError, match="diagnosis cannot be changed"), transaction.atomic():
        rewrite("Rewritten later")
    assert PsychiatricEvaluation.objects.get(pk=psych.pk).diagnosis == "Amended"
    # A temporary table of the same name does not stand in for the amendment table: the trigger
    # looks in public only (the owner may still create temporary tables; the application may not).
    with pytest.raises(DatabaseError, match="diagnosis cannot be changed"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE courses_amendment (record_type text, record_id uuid)")
            cursor.execute("INSERT INTO courses_amendment VALUES ('psychiatricevaluation', %s)", [psych.pk])
        rewrite("Shadowed")
    assert PsychiatricEvaluation.objects.get(pk=psych.pk).diagnosis == "Amended"
    # Voiding is bookkeeping, once: the void columns are set, never cleared.
    services.record_void(record=psych, by=psych.signed_by, reason="Entered on the wrong course.")
    unvoid = "UPDATE courses_psychiatricevaluation SET voided_at = NULL, voided_by_id = NULL, void_reason = ''"
    with (
        pytest.raises(DatabaseError, match="void_reason, voided_at, voided_by_id cannot be changed"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(unvoid + " WHERE id = %s", [psych.pk])


def test_the_owner_cannot_truncate_the_record_either(record):
    """A fresh connection as the tables' owner (the test database's user): TRUNCATE is refused by
    the trigger, not by a privilege."""
    with psycopg.connect(**_conninfo(), autocommit=True) as owner:
        for table in ("courses_auditevent", "courses_patient", "courses_integrationsession_courses"):
            with pytest.raises(errors.RaiseException, match=f"rows of {table} are never deleted: TRUNCATE refused"):
                owner.execute(f"TRUNCATE {table} CASCADE")
        assert owner.execute("SELECT count(*) FROM courses_auditevent").fetchone()[0] > 0


def test_grants_follow_the_policy_and_running_again_changes_nothing(app_role):
    role = app_role["role"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, string_agg(privilege_type, ', ' ORDER BY privilege_type) "
            "FROM information_schema.role_table_grants WHERE grantee = %s GROUP BY table_name",
            [role],
        )
        first = dict(cursor.fetchall())
    call_command("db_roles", role=role, stdout=StringIO(), stderr=StringIO())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, string_agg(privilege_type, ', ' ORDER BY privilege_type) "
            "FROM information_schema.role_table_grants WHERE grantee = %s GROUP BY table_name",
            [role],
        )
        assert dict(cursor.fetchall()) == first
    assert "TRUNCATE" not in " ".join(first.values())
    assert first["courses_auditevent"] == "INSERT, SELECT"
    assert first["courses_patient"] == "INSERT, SELECT, UPDATE"
    assert first["django_session"] == "DELETE, INSERT, SELECT, UPDATE"
    for table, privileges in first.items():
        assert sorted(privileges.split(", ")) == sorted(table_privileges(table)), table


def test_migrate_as_the_owner_grants_the_application_role_again(app_role, settings, monkeypatch):
    """DATABASE_OWNER_URL: migrate connects as it, then re-applies the grants, so a privilege lost
    (or a table created since) is the policy's again; a URL naming another database is refused."""
    role, db = app_role["role"], connection.settings_dict
    owner_url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
    with connection.cursor() as cursor:
        cursor.execute(f'REVOKE DELETE ON django_session FROM "{role}"')
        cursor.execute("SELECT has_table_privilege(%s, 'django_session', 'DELETE')", [role])
        assert cursor.fetchone()[0] is False
    monkeypatch.setenv("DATABASE_APP_ROLE", role)
    settings.DATABASE_OWNER_URL = owner_url + "another_database"
    with pytest.raises(CommandError, match="must be the same database"):
        call_command("migrate", verbosity=0)
    settings.DATABASE_OWNER_URL = owner_url + db["NAME"]
    out = StringIO()
    call_command("migrate", stdout=out, stderr=out)
    assert f"Granted {role}" in out.getvalue()
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege(%s, 'django_session', 'DELETE')", [role])
        assert cursor.fetchone()[0] is True
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == db["USER"]


def test_a_vital_reading_changes_only_beside_an_amendment_signed_or_not(dose, provider):
    """Found by review: a high reading under a dose could be rewritten in place (UPDATE 1, no
    trace), which would lift its hold. Readings are always corrected by amendment, so the database
    holds them to it before anything is signed."""
    from courses.choices import VitalPhase
    from courses.models import VitalReading
    from devtools.builders import normal_vitals

    reading = services.vital_reading_add(
        dose=dose, by=provider, phase=VitalPhase.PRE_DOSE, **{**normal_vitals(), "systolic_bp": 172}
    )
    with (
        pytest.raises(DatabaseError, match="vitalreading is corrected only by amendment: systolic_bp"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE courses_vitalreading SET systolic_bp = 118 WHERE id = %s", [reading.pk])
    assert VitalReading.objects.get(pk=reading.pk).systolic_bp == 172
    # The service's correction writes the Amendment in the same transaction, so it passes.
    services.record_amend(
        record=reading, by=provider, changes={"systolic_bp": 168}, reason="Synthetic: misread the cuff."
    )
    assert VitalReading.objects.get(pk=reading.pk).systolic_bp == 168
