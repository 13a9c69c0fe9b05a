"""Two PostgreSQL roles (docs/operations.md "Database roles"): the tables' owner, which migrations
run as (DATABASE_OWNER_URL), and the application's role (DATABASE_URL), which owns nothing.

The application's role may read, add and change rows; it may delete only where kapclinic deletes
by design (sign-in bookkeeping, sessions, second-factor devices, a course's care team), never in
the record's tables; it may never TRUNCATE; and as it owns no table it can neither ALTER one nor
disable a trigger. The triggers that back this up are accounts migration 0003's.

Used by `manage.py db_roles` (create or update the role and its grants) and by `manage.py
migrate`, which runs as the owner and grants the tables it creates.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field

import dj_database_url
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connections, transaction
from psycopg import sql

# Rows are only ever added: the audit trail, the amendments beside signed records, and the link
# rows between records (accounts migration 0003 refuses their DELETE and TRUNCATE).
APPEND_ONLY = frozenset(
    {
        "courses_auditevent",
        "courses_amendment",
        "courses_integrationsession_courses",
        "courses_dosingsession_facilitators",
    }
)
# Written only by `migrate`, as the owner.
READ_ONLY = frozenset({"django_migrations"})
# The record's apps: no row of theirs is deleted by kapclinic ...
RECORD_PREFIXES = ("courses_", "measures_", "reports_")
# ... except a course's therapists, whose rows a change of care team removes, and the outcome
# report's kept counts (derived figures, no record of their own), pruned after their day.
DELETED_BY_DESIGN = frozenset({"courses_course_therapists", "reports_reportcount"})
# Outside those apps, kept for good as well: staff accounts are deactivated, API tokens revoked
# (accounts/tokens.py), and the admin's own change log is never pruned by the app.
NEVER_DELETED = frozenset({"accounts_user", "accounts_apitoken", "django_admin_log"})

READ_WRITE = ("SELECT", "INSERT", "UPDATE")


def table_privileges(table: str) -> tuple[str, ...]:
    """What the application's role may do to `table`. Anything not named here (sessions, django-axes,
    django-otp, knox's own table...) is framework bookkeeping that the app deletes from."""
    if table in READ_ONLY:
        return ("SELECT",)
    if table in APPEND_ONLY:
        return ("SELECT", "INSERT")
    if table in DELETED_BY_DESIGN:
        return (*READ_WRITE, "DELETE")
    if table.startswith(RECORD_PREFIXES) or table in NEVER_DELETED:
        return READ_WRITE
    return (*READ_WRITE, "DELETE")


def _parse(url: str, what: str) -> dict:
    try:
        return dj_database_url.parse(url)
    except ValueError as exc:
        raise CommandError(f"{what} is not a database URL ({exc}).") from None


def owner_url_set() -> bool:
    return bool(getattr(settings, "DATABASE_OWNER_URL", ""))


@contextmanager
def as_owner(alias: str = "default"):
    """Run the block on `alias` as DATABASE_OWNER_URL's role, if it is set. Yields the login the
    application connects as (DATABASE_URL's USER and PASSWORD), or None when there is no separate
    owner (then the block runs as DATABASE_URL's role)."""
    if not owner_url_set():
        yield None
        return
    connection = connections[alias]
    if connection.vendor != "postgresql":
        raise CommandError("DATABASE_OWNER_URL is for PostgreSQL: DATABASE_URL is not a PostgreSQL database.")
    owner = _parse(settings.DATABASE_OWNER_URL, "DATABASE_OWNER_URL")
    if not owner["ENGINE"].endswith("postgresql"):
        raise CommandError("DATABASE_OWNER_URL is not a PostgreSQL URL.")
    app = connection.settings_dict
    # The same database through another role: a mistyped name would migrate the wrong database.
    if owner["NAME"] != app["NAME"]:
        raise CommandError(
            f"DATABASE_OWNER_URL names the database {owner['NAME']!r} but DATABASE_URL names {app['NAME']!r}: "
            "they must be the same database, reached as two roles."
        )
    keys = ("USER", "PASSWORD", "HOST", "PORT")
    saved = {key: app.get(key) for key in keys}
    saved_options = dict(app.get("OPTIONS") or {})
    connection.close()
    app.update({key: owner.get(key) or "" for key in keys})
    app["OPTIONS"] = {**saved_options, **(owner.get("OPTIONS") or {})}
    try:
        yield saved
    finally:
        connection.close()
        app.update(saved)
        app["OPTIONS"] = saved_options


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __call__(self, line: str) -> None:
        self.lines.append(line)


def _compose(connection, query: sql.Composable) -> str:
    connection.ensure_connection()
    return query.as_string(connection.connection)


def _one(cursor, query: str, params=()):
    cursor.execute(query, params)
    return cursor.fetchone()


def ensure_role(connection, role: str, password: str | None, report: Report) -> None:
    """Create the application's role, or bring an existing one back to a plain login role. The
    password goes to the server as a SCRAM verifier made here, so it never appears in a statement,
    a log or this command's output."""
    ident = sql.Identifier(role)
    with connection.cursor() as cursor:
        row = _one(
            cursor,
            "SELECT rolsuper, rolreplication, rolbypassrls, rolcreatedb, rolcreaterole, rolcanlogin "
            "FROM pg_roles WHERE rolname = %s",
            [role],
        )
        verifier = None
        if password:
            raw = connection.connection.pgconn
            verifier = raw.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
        if row is None:
            statement = sql.SQL(
                "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT"
            ).format(ident)
            if verifier:
                statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(verifier))
            try:
                cursor.execute(_compose(connection, statement))
            except Exception as exc:
                raise CommandError(
                    f"Could not create the role {role} ({str(exc).strip()}). The owner needs CREATEROLE; or have a "
                    f"superuser run: CREATE ROLE {role} LOGIN PASSWORD '…'; then run db_roles again."
                ) from None
            report(f"role {role}: created (LOGIN; not superuser, createdb, createrole, replication or bypassrls)")
        else:
            superuser, replication, bypassrls, createdb, createrole, canlogin = row
            if superuser or replication or bypassrls:
                raise CommandError(
                    f"The role {role} is a superuser or may replicate or bypass row security: that is not a least-"
                    f"privilege role. Have a superuser run ALTER ROLE {role} NOSUPERUSER NOREPLICATION NOBYPASSRLS."
                )
            fixes = [a for a, wrong in (("NOCREATEDB", createdb), ("NOCREATEROLE", createrole)) if wrong]
            if not canlogin:
                fixes.append("LOGIN")
            if fixes:
                cursor.execute(_compose(connection, sql.SQL("ALTER ROLE {} " + " ".join(fixes)).format(ident)))
            report(f"role {role}: exists" + (f" (set {' '.join(fixes)})" if fixes else ""))
            if verifier:
                cursor.execute(
                    _compose(connection, sql.SQL("ALTER ROLE {} PASSWORD {}").format(ident, sql.Literal(verifier)))
                )
        if verifier:
            report(f"role {role}: password set (not shown)")


def _check_role_is_plain(cursor, role: str, owner: str) -> None:
    if _one(cursor, "SELECT pg_has_role(%s, %s, 'MEMBER')", [role, owner])[0]:
        raise CommandError(
            f"The role {role} is a member of {owner}, the tables' owner, so it could act as the owner. "
            f"Run REVOKE {owner} FROM {role}; then run db_roles again."
        )
    owned = _one(
        cursor,
        "SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c "
        "WHERE c.relowner = (SELECT oid FROM pg_roles WHERE rolname = %s) "
        "AND c.relnamespace = 'public'::regnamespace",
        [role],
    )[0]
    if owned:
        raise CommandError(
            f"The role {role} owns {owned}: the application's role must own nothing (an owner can ALTER a table and "
            f"disable its triggers). Give them to the tables' owner: ALTER TABLE … OWNER TO {owner}."
        )


def apply_grants(connection, role: str, report: Report) -> None:
    """Exactly the privileges table_privileges names, on every table and sequence in public, and
    for tables later migrations create. Idempotent: everything is revoked and granted again in one
    transaction, so a privilege given by hand or by an older policy does not linger."""
    ident = sql.Identifier(role)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if _one(cursor, "SELECT 1 FROM pg_roles WHERE rolname = %s", [role]) is None:
            raise CommandError(f"The role {role} does not exist: run `manage.py db_roles` to create it.")
        owner = _one(
            cursor,
            "SELECT pg_get_userbyid(relowner) FROM pg_class "
            "WHERE relname = 'django_migrations' AND relnamespace = 'public'::regnamespace",
        )
        if owner is None:
            raise CommandError("The database has no tables yet: run `manage.py migrate` first.")
        owner = owner[0]
        if owner == role:
            raise CommandError(
                f"{role} owns the tables: the application's role must be another role. Name one with --role "
                "(or the user of DATABASE_URL, with DATABASE_OWNER_URL for the owner)."
            )
        _check_role_is_plain(cursor, role, owner)
        database = _one(cursor, "SELECT current_database()")[0]
        run = lambda query: cursor.execute(_compose(connection, query))  # noqa: E731
        if not _one(cursor, "SELECT has_database_privilege(%s, current_database(), 'CONNECT')", [role])[0]:
            run(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), ident))
        run(sql.SQL("REVOKE CREATE ON SCHEMA public FROM {}").format(ident))
        # No temporary tables: one named like a real table shadows it for the session (a trigger
        # function's lookup included), and the application never needs one. PUBLIC holds TEMP on
        # every new database, so it is taken from PUBLIC as well as from the role.
        run(sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
        run(sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM {}").format(sql.Identifier(database), ident))
        run(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident))
        run(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(ident))
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        by_privileges: dict[tuple[str, ...], list[str]] = {}
        for (table,) in cursor.fetchall():
            privileges = table_privileges(table)
            by_privileges.setdefault(privileges, []).append(table)
            run(
                sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                    sql.SQL(", ").join(map(sql.SQL, privileges)), sql.Identifier("public", table), ident
                )
            )
        run(sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {}").format(ident))
        run(sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(ident))
        sequences = _one(cursor, "SELECT count(*) FROM pg_sequences WHERE schemaname = 'public'")[0]
        # Tables a later migration creates are readable and writable at once (never deletable: the
        # next `migrate` or `db_roles` grants DELETE where table_privileges says so).
        run(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public GRANT SELECT, INSERT, UPDATE ON TABLES TO {}"
            ).format(sql.Identifier(owner), ident)
        )
        run(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}"
            ).format(sql.Identifier(owner), ident)
        )
        report(
            f"database {database}: CONNECT and USAGE on schema public to {role}, no TEMPORARY; tables owned by {owner}"
        )
        for privileges, tables in sorted(by_privileges.items(), key=lambda item: -len(item[0])):
            report(f"{', '.join(privileges)} on {len(tables)} table(s): {', '.join(tables)}")
        report(f"USAGE, SELECT on {sequences} sequence(s); no TRUNCATE, REFERENCES or TRIGGER anywhere")
        report(
            f"default privileges of {owner} in public: SELECT, INSERT, UPDATE on new tables; "
            "USAGE, SELECT on new sequences"
        )
        if _one(cursor, "SELECT has_schema_privilege(%s, 'public', 'CREATE')", [role])[0]:
            report.warnings.append(
                f"{role} can still create tables in schema public through PUBLIC (PostgreSQL 14 and older allow "
                "it by default): as the schema's owner run REVOKE CREATE ON SCHEMA public FROM PUBLIC."
            )
