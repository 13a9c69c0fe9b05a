"""bin/backup and bin/restore, run as an operator runs them, on a populated PostgreSQL database.

The demo practice is built through the services in a database of its own (a subprocess with
DATABASE_URL pointing at it, as in production: pytest-django's test database lives inside a
transaction that pg_dump could not see). It is backed up, restored into a second new database,
and the two are compared table by table and row by row. Both databases are dropped afterwards.
"""

import json
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BACKUP = ROOT / "bin" / "backup"
RESTORE = ROOT / "bin" / "restore"
# The rows these tables hold are the clinical record; a restore that loses any of them has failed.
CLINICAL_TABLES = [
    "courses_patient",
    "courses_course",
    "courses_medicalevaluation",
    "courses_psychiatricevaluation",
    "courses_preparatorysession",
    "courses_dosingsession",
    "courses_dosingparticipant",
    "courses_vitalreading",
    "courses_adverseevent",
    "courses_integrationsession",
    "courses_amendment",
    "courses_coursestatuschange",
    "courses_auditevent",
    "measures_administration",
    "measures_response",
    "measures_safetyalert",
]

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="pg_dump and pg_restore back up PostgreSQL only; run with DATABASE_URL=postgres://... (CI does)",
)


def _env(tmp: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "PG_BIN"}}
    # Eager Celery and a private var/ folder: the demo's notices neither reach a broker nor the shared var/.
    env.update(
        DEBUG="1",
        CELERY_TASK_ALWAYS_EAGER="1",
        KAPCLINIC_VAR_DIR=str(tmp / "var"),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    env.update(extra)
    return env


def _run(args: list, tmp: Path, timeout: int = 300, **env) -> subprocess.CompletedProcess:
    command = [sys.executable, *map(str, args)]
    return subprocess.run(command, cwd=ROOT, env=_env(tmp, **env), capture_output=True, text=True, timeout=timeout)


class Server:
    """The PostgreSQL server the suite runs on, reached with the suite's own credentials."""

    def __init__(self):
        db = settings.DATABASES["default"]
        self.params = {
            "host": db.get("HOST") or "localhost",
            "port": str(db.get("PORT") or 5432),
            "user": db.get("USER") or None,
            "password": db.get("PASSWORD") or None,
        }
        self.created = []

    def url(self, name: str) -> str:
        user = quote(self.params["user"] or "", safe="")
        password = f":{quote(self.params['password'], safe='')}" if self.params["password"] else ""
        return f"postgres://{user}{password}@{self.params['host']}:{self.params['port']}/{name}"

    def connect(self, name: str, **kwargs) -> psycopg.Connection:
        params = {k: v for k, v in self.params.items() if v is not None}
        return psycopg.connect(**params, dbname=name, **kwargs)

    def new_name(self, what: str) -> str:
        name = f"kc_backup_{what}_{uuid.uuid4().hex[:10]}"
        self.created.append(name)
        return name

    def exists(self, name: str) -> bool:
        with self.connect("postgres") as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None

    def drop_created(self):
        with self.connect("postgres", autocommit=True) as conn:
            for name in self.created:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def server():
    server = Server()
    yield server
    server.drop_created()


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("backup")


def _migrated_database(server: Server, what: str, work: Path) -> str:
    name = server.new_name(what)
    with server.connect("postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    result = _run([ROOT / "manage.py", "migrate", "--noinput", "-v", "0"], work, DATABASE_URL=server.url(name))
    assert result.returncode == 0, result.stderr[-3000:]
    return name


@pytest.fixture(scope="module")
def source(server, work):
    """A new database holding the demo practice, built through the services."""
    name = _migrated_database(server, "src", work)
    result = _run([ROOT / "manage.py", "demo_practice"], work, DATABASE_URL=server.url(name))
    assert result.returncode == 0, result.stderr[-3000:]
    return name


@pytest.fixture(scope="module")
def backup(source, server, work):
    result = _run([BACKUP, work / "backups"], work, DATABASE_URL=server.url(source))
    assert result.returncode == 0, result.stderr
    (dump,) = (work / "backups").glob("*.dump")
    return dump


@pytest.fixture(scope="module")
def restored(backup, server, work):
    name = server.new_name("dst")
    result = _run([RESTORE, backup, server.url(name)], work)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verified: " in result.stdout
    assert "migrate --check: every migration of this code is applied" in result.stdout
    return name


def _tables(conn) -> list[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename").fetchall()
    return [row[0] for row in rows]


def _count(conn, table: str) -> int:
    return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]


def _digest(conn, table: str) -> str:
    """The md5 of every row of a table as text, in a fixed order: equal only when the contents are."""
    query = sql.SQL("SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {} AS t")
    return conn.execute(query.format(sql.Identifier(table))).fetchone()[0]


def _row(conn, table: str, where: str, params=()) -> dict:
    query = sql.SQL("SELECT * FROM {} WHERE " + where).format(sql.Identifier(table))
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        row = cursor.execute(query, params).fetchone()
    assert row is not None, f"no {table} row where {where}"
    return row


@on_postgresql
def test_the_restored_database_has_every_table_with_the_same_rows(server, source, restored):
    with server.connect(source) as before, server.connect(restored) as after:
        assert _tables(after) == _tables(before)
        for table in CLINICAL_TABLES:
            assert _count(before, table) > 0, f"the demo practice left {table} empty: nothing to prove with it"
        for table in _tables(before):
            assert _count(after, table) == _count(before, table), table
            assert _digest(after, table) == _digest(before, table), table


@on_postgresql
def test_a_signed_dose_a_scored_response_an_amendment_and_the_audit_trail_come_back_field_by_field(
    server, source, restored
):
    with server.connect(source) as before, server.connect(restored) as after:
        dose = _row(before, "courses_dosingparticipant", "signed_at IS NOT NULL AND dosed_at IS NOT NULL ORDER BY id")
        assert dose["dose_mg"] > 0 and dose["signed_by_id"] is not None
        assert _row(after, "courses_dosingparticipant", "id = %s", [dose["id"]]) == dose

        response = _row(before, "measures_response", "complete AND total > 0 ORDER BY id")
        assert response["answers"] and response["band"]
        assert _row(after, "measures_response", "id = %s", [response["id"]]) == response

        amendment = _row(before, "courses_amendment", "true ORDER BY id")
        assert amendment["changes"] and amendment["reason"]
        assert _row(after, "courses_amendment", "id = %s", [amendment["id"]]) == amendment

        trail = "SELECT * FROM courses_auditevent ORDER BY id"
        trail_before = before.cursor(row_factory=psycopg.rows.dict_row).execute(trail).fetchall()
        trail_after = after.cursor(row_factory=psycopg.rows.dict_row).execute(trail).fetchall()
        assert len(trail_before) > 100
        assert trail_after == trail_before


@on_postgresql
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE courses_auditevent SET detail = 'rewritten' WHERE id = %s",
        "DELETE FROM courses_auditevent WHERE id = %s",
    ],
)
def test_the_restored_audit_trail_still_refuses_update_and_delete(server, restored, statement):
    with server.connect(restored) as conn:
        triggers = conn.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'courses_auditevent'::regclass AND NOT tgisinternal "
            "ORDER BY tgname"
        ).fetchall()
        # UPDATE and DELETE (courses 0002), TRUNCATE (accounts 0003).
        assert triggers == [("courses_auditevent_append_only",), ("courses_auditevent_never_truncated",)]
        first = _row(conn, "courses_auditevent", "true ORDER BY id")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute(statement, [first["id"]])
        conn.rollback()
        assert _row(conn, "courses_auditevent", "id = %s", [first["id"]]) == first


@on_postgresql
def test_the_manifest_holds_the_sources_row_counts_and_the_files_checksum(server, source, backup):
    manifest = json.loads(backup.with_name(backup.name.removesuffix(".dump") + ".manifest.json").read_text())
    with server.connect(source) as conn:
        assert manifest["tables"] == {table: _count(conn, table) for table in _tables(conn)}
    assert manifest["file"] == backup.name
    assert manifest["size_bytes"] == backup.stat().st_size
    assert "courses_auditevent.courses_auditevent_append_only" in manifest["triggers"]
    assert manifest["migrations"]["courses"].startswith("00")
    check = subprocess.run(["sha256sum", "-c", backup.name + ".sha256"], cwd=backup.parent, capture_output=True)
    assert check.returncode == 0, check.stdout
    # They hold patients' records: readable by the account that made them, no one else.
    for path in backup.parent.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


@on_postgresql
def test_restore_refuses_a_database_that_already_holds_tables_and_leaves_it_as_it_was(server, source, backup, work):
    with server.connect(source) as conn:
        counts = {table: _count(conn, table) for table in _tables(conn)}

    result = _run([RESTORE, backup, server.url(source)], work)

    assert result.returncode == 1
    assert "is not empty" in result.stderr and "never over one in use" in result.stderr
    with server.connect(source) as conn:
        assert {table: _count(conn, table) for table in _tables(conn)} == counts


@on_postgresql
def test_restore_refuses_a_damaged_file_before_it_creates_anything(server, backup, work, tmp_path):
    damaged = tmp_path / backup.name
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    manifest = backup.name.removesuffix(".dump") + ".manifest.json"
    (tmp_path / manifest).write_bytes((backup.parent / manifest).read_bytes())
    target = server.new_name("damaged")

    result = _run([RESTORE, damaged, server.url(target)], work)

    assert result.returncode == 1
    assert "does not match its manifest's sha256" in result.stderr
    assert not server.exists(target)


@on_postgresql
def test_backup_refuses_a_pg_dump_older_than_the_server(server, source, work, tmp_path):
    # No older PostgreSQL client can be installed beside the real one, so a stand-in reports an old version;
    # the server it is compared with is the real one.
    old = tmp_path / "old-client"
    old.mkdir()
    (old / "pg_dump").write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    (old / "pg_dump").chmod(0o755)

    result = _run([BACKUP, tmp_path / "out"], work, DATABASE_URL=server.url(source), PG_BIN=str(old))

    assert result.returncode == 1
    assert "pg_dump is version 9 but the server is PostgreSQL" in result.stderr.replace(str(old / "pg_dump"), "pg_dump")
    assert not (tmp_path / "out").exists()


def test_backup_refuses_a_database_that_is_not_postgresql(tmp_path):
    result = _run([BACKUP, tmp_path], tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'kapclinic.sqlite3'}")

    assert result.returncode == 1
    assert "DATABASE_URL is a sqlite database, not PostgreSQL" in result.stderr
    assert list(tmp_path.glob("*.dump")) == []


def test_backup_says_so_when_database_url_is_not_set(tmp_path):
    result = _run([BACKUP, tmp_path], tmp_path)

    assert result.returncode == 1
    assert "DATABASE_URL is not set" in result.stderr


def test_backup_says_so_when_pg_dump_is_not_installed(tmp_path):
    empty = tmp_path / "no-tools"
    empty.mkdir()

    result = _run(
        [BACKUP, tmp_path], tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/kapclinic", PG_BIN=str(empty)
    )

    assert result.returncode == 1
    assert "pg_dump is not installed" in result.stderr


def test_restore_refuses_a_dump_without_its_manifest(tmp_path):
    lonely = tmp_path / "kapclinic-kapclinic-20260310T020000Z.dump"
    lonely.write_bytes(b"PGDMP")

    result = _run([RESTORE, lonely, "postgres://postgres@127.0.0.1:5432/kc_backup_never"], tmp_path)

    assert result.returncode == 1
    assert "no manifest beside" in result.stderr


@on_postgresql
def test_restore_says_which_migrations_the_code_has_that_the_backup_lacks(server, work, tmp_path):
    # A backup made before the latest migration: the database's record of applied migrations ends one earlier.
    name = _migrated_database(server, "older", work)
    with server.connect(name) as conn:
        applied = "SELECT name FROM django_migrations WHERE app = 'reports' ORDER BY name DESC"
        latest = conn.execute(applied).fetchone()[0]
        conn.execute("DELETE FROM django_migrations WHERE app = 'reports' AND name = %s", [latest])
    assert _run([BACKUP, tmp_path], work, DATABASE_URL=server.url(name)).returncode == 0
    (dump,) = tmp_path.glob("*.dump")

    result = _run([RESTORE, dump, server.url(server.new_name("older_dst"))], work)

    assert result.returncode == 3
    assert "verified: " in result.stdout
    assert "run `manage.py migrate` against the restored database" in result.stderr
    assert f"reports.{latest}" in result.stderr


@on_postgresql
def test_restore_fails_when_a_tables_rows_differ_from_the_manifest(server, backup, work, tmp_path):
    # The manifest says one patient more than the dump holds, as if a row had been lost on the way.
    copy = tmp_path / backup.name
    copy.write_bytes(backup.read_bytes())
    manifest_name = backup.name.removesuffix(".dump") + ".manifest.json"
    manifest = json.loads((backup.parent / manifest_name).read_text())
    manifest["tables"]["courses_patient"] += 1
    (tmp_path / manifest_name).write_text(json.dumps(manifest))

    result = _run([RESTORE, copy, server.url(server.new_name("short"))], work)

    assert result.returncode == 1
    want = manifest["tables"]["courses_patient"]
    assert f"table courses_patient has {want - 1} rows, the backup had {want}" in result.stderr
