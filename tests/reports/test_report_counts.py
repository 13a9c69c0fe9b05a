"""The outcome report counted once per change of the record (reports/services.py `report_counted`,
reports/data_version.py): any committed write the report reads makes the kept count old, nothing
else does, a rolled-back write changes nothing, and the page and the API say when the figures they
show were counted and whether the record has changed since."""

import json
import pickle
import re
import uuid

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import db_roles
from courses.audit import audit
from courses.models import AuditAction, ClinicSettings, Course
from kapclinic.celery import app
from measures.models import MeasureSettings
from reports import data_version, services
from reports.api.serializers.practice_report import PracticeReportSerializer
from reports.api.serializers.practice_report_data import practice_report_data
from reports.cohort import ReportFilters
from reports.data_version import IGNORED_TABLES, moves_version
from reports.models import DataVersion, OutcomeSettings, ReportCount
from reports.report import build_practice_report
from tests.reports.api_support import COHORT, build_cohort, build_course

URL = "/api/reports/outcomes/"


@pytest.fixture
def practice(therapist, provider, lead, clock):
    """A practice whose settings rows exist (each is created on first read, and creating it is a
    write that moves the version, once in a practice's life)."""
    ClinicSettings.load()
    MeasureSettings.load()
    OutcomeSettings.load()
    return {"therapist": therapist, "provider": provider}


@pytest.mark.parametrize(
    "sql, moves",
    [
        ('SELECT "courses_course"."id" FROM "courses_course"', False),
        ('  select 1 FROM "measures_response" FOR UPDATE SKIP LOCKED', False),
        ("SET LOCAL work_mem = '256MB'", False),
        ('SAVEPOINT "s1_x1"', False),
        ('INSERT INTO "courses_auditevent" ("at") VALUES (%s)', False),
        ('DELETE FROM "django_session" WHERE "session_key" = %s', False),
        ('UPDATE "measures_outboundmessage" SET "status" = %s', False),
        ('INSERT INTO "measures_response" ("total") VALUES (%s)', True),
        ('UPDATE "courses_dosingparticipant" SET "voided_at" = %s', True),
        ("UPDATE measures_administration SET status = 'open' WHERE id = ANY(%s)", True),
        # The tick's set-based statements: a write in a CTE counts.
        ("WITH due AS (UPDATE measures_administration SET status = 'open' RETURNING id) "
         "INSERT INTO measures_outboundmessage (id) SELECT id FROM due", True),
        ('WITH x AS (SELECT 1) INSERT INTO "measures_outboundmessage" ("id") SELECT 1 FROM x', False),
        ("WITH c AS (SELECT * FROM unnest(%s)) SELECT course_id FROM c", False),  # the report's own
        ("WITH gone AS (DELETE FROM measures_response RETURNING id) SELECT count(*) FROM gone", True),
        ("MERGE INTO courses_course c USING x ON x.id = c.id WHEN MATCHED THEN DO NOTHING", True),
        # An upsert reads as a write of a table called SET: a wrong guess errs towards counting.
        ('INSERT INTO "courses_auditevent" ("id") VALUES (1) ON CONFLICT ("id") DO UPDATE SET "id" = 1', True),
        ("EXPLAIN ANALYZE UPDATE courses_course SET status = 'x'", True),
        ("CREATE TABLE t (id int)", True),
        ("SELECT setval('x', 1)", False),
        # Found by review: several statements in one string, comments, a quote straight after the
        # keyword, an ignored table hiding a counted one.
        ("SELECT 1; UPDATE courses_patient SET sex = 'male'", True),
        ("SET x = 1; SELECT 1", False),
        ("WITH x AS (UPDATE/**/courses_patient SET sex = 'male' RETURNING 1) SELECT 1", True),
        ('WITH x AS (UPDATE"courses_patient" SET sex = \'male\' RETURNING 1) SELECT 1', True),
        ("UPDATE courses_auditevent SET id = 1 WHERE false; UPDATE/**/courses_patient SET sex = 'x'", True),
        ("/* a note */ UPDATE courses_course SET status = 'x'", True),
        ("-- a note\nSELECT 1", False),
        ("SELECT ';' FROM courses_course", True),  # a split literal counts: erring towards counting
    ],
)  # fmt: skip
def test_which_statements_move_the_version(sql, moves):
    assert moves_version(sql) is moves


def test_every_ignored_table_is_a_table(db):
    assert set(IGNORED_TABLES) - set(connection.introspection.table_names()) == set()


@pytest.mark.parametrize("with_rows", [False, True])
def test_the_report_reads_none_of_the_ignored_tables_and_writes_nothing(practice, with_rows):
    build_cohort(**practice, specs=COHORT[:4])
    with CaptureQueriesContext(connection) as queries:
        build_practice_report(ReportFilters(), with_rows=with_rows)
    assert [q["sql"] for q in queries.captured_queries if moves_version(q["sql"])] == []
    read = {t.lower() for q in queries.captured_queries for t in re.findall(r'(?:FROM|JOIN)\s+"?(\w+)', q["sql"], re.I)}
    assert {"courses_course", "measures_response", "courses_adverseevent"} <= read  # the capture sees the reads
    assert read & set(IGNORED_TABLES) == set()


@pytest.mark.django_db(transaction=True)
def test_a_committed_write_moves_the_version_once_and_a_rollback_or_an_audit_row_not_at_all(
    therapist, provider, lead, clock
):
    [course] = build_cohort(therapist=therapist, provider=provider, specs=COHORT[:1])
    start = data_version.current()
    with transaction.atomic():  # three writes, one transaction: one bump
        Course.objects.filter(pk=course.pk).update(planned_dosing_sessions=7)
        Course.objects.filter(pk=course.pk).update(planned_dosing_sessions=8)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE courses_course SET planned_dosing_sessions = 6 WHERE planned_dosing_sessions < 0")
    assert data_version.current() == start + 1
    with pytest.raises(RuntimeError), transaction.atomic():
        Course.objects.filter(pk=course.pk).update(planned_dosing_sessions=9)
        raise RuntimeError("the save failed")
    assert data_version.current() == start + 1
    audit(actor=lead, action=AuditAction.VIEW, record_type="practice report")
    assert data_version.current() == start + 1
    Course.objects.filter(pk=course.pk).update(planned_dosing_sessions=6)  # outside a transaction: at once
    assert data_version.current() == start + 2


@pytest.mark.django_db(transaction=True)
def test_the_count_is_kept_until_the_record_changes(practice):
    build_cohort(**practice, specs=COHORT[:2])
    first = services.report_counted(ReportFilters())  # the worker (eager here) counts it at once
    assert first.current and not first.counting and first.report.n_courses == 2

    with CaptureQueriesContext(connection) as queries:
        again = services.report_counted(ReportFilters())
    assert again.current and again.report.generated_at == first.report.generated_at
    assert len(queries.captured_queries) == 2  # the version and the kept count: nothing is counted

    build_course(COHORT[2], n=2, **practice)
    third = services.report_counted(ReportFilters())
    assert third.current and third.report.n_courses == 3


@pytest.fixture
def no_worker_yet(settings):
    """The broker takes the count's task, but no worker has run it: the request waits no time."""
    settings.REPORT_WAIT_SECONDS = 0
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def worker_counts() -> list[str]:
    """What a worker does with each count it was asked for."""
    return [services.report_count_run(key=key) for key in ReportCount.objects.values_list("key", flat=True)]


@pytest.mark.django_db(transaction=True)
def test_while_counting_the_page_and_the_api_say_so_and_show_the_last_count(practice, lead, client, no_worker_yet):
    build_cohort(**practice, specs=COHORT[:2])
    client.force_login(lead)
    api = APIClient()
    api.force_authenticate(lead)

    # Nothing counted yet today: the page refreshes itself; the API answers 202 and when to ask again.
    page = client.get("/reports/outcomes/")
    assert page.status_code == 200
    assert "Counting the practice's figures" in page.content.decode()
    assert '<meta http-equiv="refresh" content="3">' in page.content.decode()
    answer = api.get(URL)
    assert answer.status_code == 202 and answer["Retry-After"] == "3" and answer.json()["counting"] is True
    assert ReportCount.objects.count() == 1  # the page and the API asked for the same count, once
    assert ReportCount.objects.get().counting_version is not None

    assert worker_counts() == ["counted"]
    answer = api.get(URL)
    assert answer.status_code == 200
    assert (answer.json()["current"], answer.json()["counting"], answer.json()["n_courses"]) == (True, False, 2)
    assert "Counting" not in client.get("/reports/outcomes/").content.decode()

    # The record changes: the last count is shown, saying when it was made, while a worker counts.
    build_course(COHORT[2], n=2, **practice)
    answer = api.get(URL)
    assert (answer.json()["current"], answer.json()["counting"], answer.json()["n_courses"]) == (False, True, 2)
    text = client.get("/reports/outcomes/").content.decode()
    assert "the record has changed since" in text and "refresh" not in text.split("</head>")[0]
    assert worker_counts() == ["counted"]
    answer = api.get(URL)
    assert (answer.json()["current"], answer.json()["n_courses"]) == (True, 3)
    assert worker_counts() == ["current"]  # a task delivered twice counts once
    # What a current count answers is what counting now would: every figure (the API keeps the
    # JSON of a count per process; asked twice, the same answer).
    fresh = PracticeReportSerializer(
        practice_report_data(build_practice_report(ReportFilters(), with_rows=False))
        | {"current": True, "counting": False}
    ).data
    again = api.get(URL).json()
    assert again == answer.json()
    assert {k: v for k, v in again.items() if k != "generated_at"} == json.loads(
        json.dumps({k: v for k, v in fresh.items() if k != "generated_at"}, cls=DjangoJSONEncoder)
    )


@pytest.mark.django_db(transaction=True)
def test_a_count_asked_while_one_is_under_way_is_not_asked_twice(practice, no_worker_yet):
    build_cohort(**practice, specs=COHORT[:1])
    for _ in range(3):
        assert services.report_counted(ReportFilters()).counting
    row = ReportCount.objects.get()
    asked_at = row.counting_since
    assert services.report_counted(ReportFilters()).counting
    row.refresh_from_db()
    assert row.counting_since == asked_at  # not claimed again while under way


def test_inside_a_transaction_that_wrote_the_report_is_counted_there(therapist, provider, lead, clock):
    """A test's own transaction (or any open one) that wrote what the report reads: no kept count
    and no worker can see that, so it is counted in place, and nothing is kept."""
    build_cohort(therapist=therapist, provider=provider, specs=COHORT[:2])
    assert data_version.uncommitted_here()
    counted = services.report_counted(ReportFilters())
    assert counted.current and counted.report.n_courses == 2
    assert not ReportCount.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_writes_the_classifier_could_miss_still_move_the_version(practice):
    [course] = build_cohort(**practice, specs=COHORT[:1])
    start = data_version.current()
    Course.objects.filter(pk=course.pk, planned_dosing_sessions=-1).update(planned_dosing_sessions=3)
    assert data_version.current() == start  # a plain statement that touched no row changed nothing
    if connection.vendor == "postgresql":
        from psycopg import sql

        with connection.cursor() as cursor:  # composed SQL, not text
            statement = sql.SQL("UPDATE {} SET planned_dosing_sessions = 7 WHERE id = %s")
            cursor.execute(statement.format(sql.Identifier("courses_course")), [course.pk])
        assert data_version.current() == start + 1
        start += 1
        with connection.cursor() as cursor:  # no row at the top level, one in the CTE: counts
            cursor.execute(
                "WITH c AS (UPDATE courses_course SET planned_dosing_sessions = 6 WHERE id = %s RETURNING id) "
                "SELECT id FROM c WHERE false",
                [course.pk],
            )
        assert data_version.current() == start + 1


@pytest.mark.django_db(transaction=True)
def test_a_version_lost_and_begun_again_still_recounts(practice):
    [course] = build_cohort(**practice, specs=COHORT[:1])
    assert services.report_counted(ReportFilters()).report.n_courses == 1
    before = data_version.current()
    DataVersion.objects.all().delete()  # a partial restore, a hand delete
    data_version.bump()
    assert data_version.current() != before
    build_course(COHORT[1], n=1, **practice)
    again = services.report_counted(ReportFilters())
    assert again.current and again.report.n_courses == 2


@pytest.mark.django_db(transaction=True)
def test_a_count_past_its_age_is_not_current(practice, settings):
    build_cohort(**practice, specs=COHORT[:1])
    first = services.report_counted(ReportFilters())
    assert first.current
    settings.REPORT_COUNT_MAX_AGE_SECONDS = 0  # as if a version move were lost 15 minutes ago
    again = services.report_counted(ReportFilters())  # counted again (eagerly), the same version
    assert again.current is False or again.report.generated_at >= first.report.generated_at
    assert ReportCount.objects.get().counted_at >= first.report.generated_at


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bad", [b"garbage", pickle.dumps({"not": "a report"})])
def test_an_unreadable_kept_count_is_counted_again_not_a_500(practice, lead, bad):
    build_cohort(**practice, specs=COHORT[:1])
    assert services.report_counted(ReportFilters()).current
    ReportCount.objects.update(payload=bad, payload_id=uuid.uuid4())  # as a new process reads it
    api = APIClient()
    api.force_authenticate(lead)
    answer = api.get(URL)
    assert answer.status_code == 200 and answer.json()["current"] is True and answer.json()["n_courses"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_count_asked_by_other_code_is_left_to_that_codes_workers(practice):
    build_cohort(**practice, specs=COHORT[:1])
    row = ReportCount.objects.create(key="0" * 64, filters={}, as_of=timezone.localdate())
    assert services.report_count_run(key=row.key) == "other code"
    row.refresh_from_db()
    assert row.payload is None


def test_the_application_role_may_prune_the_kept_counts():
    assert "DELETE" in db_roles.table_privileges("reports_reportcount")
    assert "DELETE" not in db_roles.table_privileges("reports_dataversion")


@pytest.mark.django_db(transaction=True)
def test_an_inside_pdf_reads_the_pages_count_while_it_is_current_and_counts_afresh_after_a_change(
    practice, lead, clock, tmp_path
):
    from reports.models import Audience, ExportKind, ReportExport
    from tests.reports.web_support import pdf_text

    def export_text() -> str:
        export = services.export_request(by=lead, kind=ExportKind.PRACTICE_PDF, audience=Audience.INSIDE)
        export.refresh_from_db()  # made by the task after the commit (eager here)
        assert export.status == "done", export.error
        return " ".join(pdf_text(bytes(export.content), tmp_path).split())

    build_cohort(**practice, specs=COHORT[:2])
    counted = services.report_counted(ReportFilters())
    assert counted.current
    clock.shift(timezone.timedelta(seconds=100))
    made = timezone.localtime()
    # The file says when it was made and that its figures are the page's count, unchanged.
    text = export_text()
    assert f"Generated {made:%Y-%m-%d %H:%M %Z} from a count 1 min older" in text
    assert services.report_if_current(ReportFilters()) is counted.report  # an export moves no version

    # A file outlives the page: a count older than EXPORT_REUSE_MAX_AGE is counted again, even
    # unchanged (a version move lost in a crash would otherwise print the record before it).
    clock.shift(timezone.timedelta(minutes=2))
    assert services.report_counted(ReportFilters()).current  # still the page's current count
    assert services.report_if_current(ReportFilters()) is None
    made = timezone.localtime()
    text = export_text()
    assert f"Generated {made:%Y-%m-%d %H:%M %Z}" in text and "from a count" not in text

    # A dose, a score, any write the report reads: the next file counts for itself, as of now.
    build_course(COHORT[2], n=2, **practice)
    assert services.report_if_current(ReportFilters()) is None
    text = export_text()
    assert f"Generated {made:%Y-%m-%d %H:%M}" in text and "from a count" not in text
    assert "3 selected" in text

    # A file asked before the small-cell threshold changed keeps the threshold it was asked with:
    # the count made since (at the new threshold) is not its figures, so it counts for itself.
    kept = services.report_counted(ReportFilters()).report
    clock.shift(timezone.timedelta(seconds=70))  # old enough to say so, young enough to be read
    asked = ReportExport.objects.create(
        kind=ExportKind.PRACTICE_PDF,
        audience=Audience.INSIDE,
        filters={},
        suppression_threshold=kept.suppression_threshold + 1,
        requested_by=lead,
        requested_at=timezone.now(),
    )
    assert services.export_run(export_id=asked.pk) == "done"
    asked.refresh_from_db()
    assert "from a count" not in pdf_text(bytes(asked.content), tmp_path)
