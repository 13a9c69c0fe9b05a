"""Create or update the application's PostgreSQL role and grant it exactly what kapclinic needs
(accounts/db_roles.py; docs/operations.md "Database roles"). Safe to run again at any time."""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from accounts.db_roles import Report, apply_grants, as_owner, ensure_role


class Command(BaseCommand):
    help = (
        "Create or update the application's PostgreSQL role (no superuser, owns nothing) and its grants: "
        "read, add and change rows; delete only where kapclinic deletes by design; never TRUNCATE. Runs as "
        "DATABASE_OWNER_URL's role when it is set. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--role",
            help="the application's role (default: $DATABASE_APP_ROLE, else the user of DATABASE_URL when "
            "DATABASE_OWNER_URL is set)",
        )
        parser.add_argument(
            "--password-env",
            default="DATABASE_APP_PASSWORD",
            metavar="VAR",
            help="environment variable holding the role's password (default DATABASE_APP_PASSWORD; when it is "
            "unset and the role is DATABASE_URL's user, DATABASE_URL's password). Never given on the command line.",
        )
        parser.add_argument(
            "--grants-only", action="store_true", help="leave the role and its password alone: only grant"
        )
        parser.add_argument("--database", default="default", help="the database alias (default: default)")

    def handle(self, *args, **options):
        alias = options["database"]
        if connections[alias].vendor != "postgresql":
            raise CommandError("db_roles is for PostgreSQL: DATABASE_URL is not a PostgreSQL database.")
        with as_owner(alias) as app_login:
            connection = connections[alias]
            app_user = app_login["USER"] if app_login else None
            role = options["role"] or os.environ.get("DATABASE_APP_ROLE") or app_user
            if not role:
                raise CommandError(
                    "Name the application's role: --role NAME or DATABASE_APP_ROLE, or set DATABASE_OWNER_URL to the "
                    "owner so that DATABASE_URL's user is the application's role."
                )
            password = os.environ.get(options["password_env"]) or None
            if password is None and app_login and role == app_user:
                password = app_login["PASSWORD"] or None
            report = Report()
            connection.ensure_connection()
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_user")
                report(f"connected as {cursor.fetchone()[0]}")
            if not options["grants_only"]:
                ensure_role(connection, role, password, report)
            apply_grants(connection, role, report)
        for line in report.lines:
            self.stdout.write(line)
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
