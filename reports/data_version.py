"""The record's data version: a number that moves after every committed write the practice report
could read, so that a counted report can be kept until the record changes (reports/services.py,
`report_counted`).

How it stays honest: one execute wrapper on every database connection (installed by
ReportsConfig.ready) reads the head of each statement Django sends. A statement that writes a table
not in IGNORED_TABLES schedules one bump of the version for when its transaction commits. So every
path that goes through Django's connection moves the version: the ORM's saves, `.update()`, bulk
inserts, the tick's hand-written SQL. A statement it cannot read (DDL, a function call, COPY) counts
as a write. Only COPY through psycopg's own cursor (devtools' load generators) passes by it, and
devtools.bulk bumps by hand.

Why after the commit: a count reads the version first and the data after. A version that moves
only once the write is visible can make a count look older than its data (one wasted recount),
never newer (old figures shown as current). A transaction that rolled back bumps nothing.
"""

import re
import time

from django.db import connections, transaction
from django.db.models import F

from reports.models import DataVersion

# Tables whose writes no figure of the report depends on, and why. Everything else moves the
# version, a new table included: counting too often costs a recount; too rarely would show old
# figures. tests/reports/test_report_counts.py proves the report reads none of these.
IGNORED_TABLES = {
    "courses_auditevent": "the audit trail: every page view writes it, and no figure reads it",
    "django_session": "sign-in sessions",
    "django_admin_log": "the admin's own history (the records it changes are counted)",
    "authtoken_token": "API tokens",
    "accounts_apitoken": "API tokens",
    "axes_accessattempt": "sign-in lockout",
    "axes_accessfailurelog": "sign-in lockout",
    "axes_accessattemptexpiration": "sign-in lockout",
    "axes_accesslog": "sign-in lockout",
    "otp_totp_totpdevice": "second factor",
    "otp_static_staticdevice": "second factor",
    "otp_static_statictoken": "second factor",
    "measures_outboundmessage": "mails and texts to patients and staff, and their sending state",
    "reports_reportexport": "export files and their progress",
    "reports_reportcount": "the counted reports themselves",
    "reports_dataversion": "this version",
    "ops_heartbeat": "the worker's and beat's heartbeats",
}

# Statements that write nothing. EXPLAIN is not here: EXPLAIN ANALYZE runs its statement.
_READS = re.compile(
    r"\s*(?:SELECT|SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT|SET|SHOW|PRAGMA|DECLARE|FETCH|CLOSE)\b", re.IGNORECASE
)
# A written table's name follows its keyword after a space or straight after a quote ('UPDATE"t"').
_TARGETS = re.compile(
    r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|MERGE\s+INTO)(?:\s+\"?|\")([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE
)
_WITH = re.compile(r"\s*WITH\b", re.IGNORECASE)
_PLAIN_DML = re.compile(r"\s*(?:INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
_COMMENTS = re.compile(r"/\*.*?\*/|--[^\n]*", re.DOTALL)


def moves_version(sql: str) -> bool:
    """Whether a statement may change what the report counts. A statement that is neither a read
    nor a write of named tables (DDL, COPY, a procedure) counts. `ON CONFLICT DO UPDATE SET` reads
    as a write of a table called SET, which counts too: a wrong guess must err towards counting.
    Comments are read as spaces, and a string holding several statements counts if any part does
    (a semicolon inside a literal only splits it into parts that count)."""
    return any(_part_moves(part) for part in _COMMENTS.sub(" ", sql).split(";") if part.strip())


def _part_moves(sql: str) -> bool:
    if _READS.match(sql):
        return False
    targets = _TARGETS.findall(sql)
    if not targets:  # a query with common table expressions that writes nothing reads
        return not _WITH.match(sql)
    return any(t.lower() not in IGNORED_TABLES for t in targets)


def _text(sql, connection) -> str | None:
    """The statement as text: psycopg's composed SQL and bytes too (None: unreadable, so it counts)."""
    if isinstance(sql, str):
        return sql
    try:
        if isinstance(sql, bytes | bytearray):
            return bytes(sql).decode()
        return sql.as_string(connection.connection)
    except Exception:
        return None


def current() -> int:
    """The version now (0 on a database that never recorded a write)."""
    return DataVersion.objects.values_list("n", flat=True).filter(pk=1).first() or 0


def bump(using: str = "default") -> None:
    """Move the version on (the callback `_watch` leaves for the commit). A missing row (a new
    database, a partial restore, a hand delete) starts again from the clock in microseconds: a number
    it is unlikely ever to have had. Counts compare versions for equality only, never order."""
    versions = DataVersion.objects.using(using)
    if not versions.filter(pk=1).update(n=F("n") + 1):
        versions.get_or_create(pk=1, defaults={"n": time.time_ns() // 1000})


def uncommitted_here(using: str = "default") -> bool:
    """Whether this connection's open transaction wrote something the report reads. Such writes are
    visible only to this connection: a count kept for everyone cannot hold them, nor can a worker's
    count see them. In production no page writes before it reports; in the test suite, whose tests
    each run inside one transaction, every report after a write is such a case."""
    return any(callback is bump for _, callback, _ in connections[using].run_on_commit)


_migrating = False


def _watch(execute, sql, params, many, context):
    connection = context["connection"]
    # Read before the statement runs: in autocommit it is committed when execute returns.
    text = _text(sql, connection)
    moves = not _migrating and (text is None or moves_version(text))
    result = execute(sql, params, many, context)
    if not moves:
        return result  # during migrate the version's own table may not exist yet; migrate_ended bumps
    # A plain INSERT, UPDATE or DELETE that touched no row changed nothing (the tick's idle
    # statements); with common table expressions the count is the last statement's only.
    # (executemany's row count need not be the sum of its runs: not trusted.)
    if (
        not many
        and _PLAIN_DML.match(text or "")
        and ";" not in text
        and getattr(context["cursor"], "rowcount", -1) == 0
    ):
        return result
    if not (connection.in_atomic_block and uncommitted_here(connection.alias)):
        transaction.on_commit(bump, using=connection.alias, robust=True)
    return result


def watch(sender, connection, **kwargs) -> None:
    """connection_created: watch this connection's statements (once, however often it reconnects)."""
    if connection.alias not in connections.settings:
        return  # the test runner's or a command's side connection to the server (CREATE DATABASE)
    if _watch not in connection.execute_wrappers:
        connection.execute_wrappers.append(_watch)


def migrate_started(sender, **kwargs) -> None:
    """pre_migrate: a migration's writes are not watched one by one (the version's table may not
    exist yet); the version moves once at the end instead."""
    global _migrating
    _migrating = True


def migrate_ended(sender, using="default", **kwargs) -> None:
    """post_migrate (sent once per app; this one is the reports app's): a migration may change what
    the report reads, so the version moves."""
    global _migrating
    _migrating = False
    bump(using)
