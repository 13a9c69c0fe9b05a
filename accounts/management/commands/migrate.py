"""`manage.py migrate`, as the tables' owner when DATABASE_OWNER_URL is set (docs/operations.md
"Database roles"): the application's role (DATABASE_URL) owns nothing, so it could not run a
migration. After migrating, the application's role is granted what accounts.db_roles names on
the tables the migrations created. Without DATABASE_OWNER_URL this is Django's migrate."""

import os

from django.core.management.base import CommandError
from django.core.management.commands import migrate
from django.db import connections

from accounts.db_roles import Report, apply_grants, as_owner, owner_url_set


class Command(migrate.Command):
    help = migrate.Command.help + (
        " With DATABASE_OWNER_URL set, runs as that role, then grants DATABASE_URL's role (accounts/db_roles.py)."
    )

    def handle(self, *args, **options):
        # --check and --plan change nothing: they read as whoever DATABASE_URL is.
        if not owner_url_set() or options["check_unapplied"] or options["plan"]:
            return super().handle(*args, **options)
        alias = options["database"]
        with as_owner(alias) as app_login:
            super().handle(*args, **options)
            role = os.environ.get("DATABASE_APP_ROLE") or app_login["USER"]
            report = Report()
            try:
                apply_grants(connections[alias], role, report)
            except CommandError as exc:
                # Migrated all the same; the first deployment creates the role after its first migrate.
                self.stderr.write(f"migrate: granted nothing to {role!r}: {exc}")
                return
        if options["verbosity"] >= 1:
            self.stdout.write(f"Granted {role} (accounts/db_roles.py): " + "; ".join(report.lines[:1]))
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
