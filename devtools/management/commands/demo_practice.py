"""Build a synthetic demo clinic through the services, so the demo data obeys every rule.

Staff of each role with printed demo passwords, 30 plainly fictional patients (MRN DEMO-0001…,
emails @example.invalid) with courses in every stage, an individual and a group dosing
practice with vitals, holds, alerts and adverse events, amendments and a voided record, and
the measures: PHQ-9, GAD-7 and PCL-5 answered on the schedule with scores falling for most
patients, some follow-ups missed, one acknowledged item-9 safety alert, and baselines of new
courses left open so that the first tick of `make run` sends their invitations.
History is placed in the past by passing each service the time the action happened (`now=`).

Idempotent: when the demo is already there it prints the logins and changes nothing.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from courses.choices import CourseStatus
from courses.models import Course, Patient
from devtools.demo.clinic import ADMIN, MRN_PREFIX, STAFF, build_staff
from devtools.demo.measures import build_measures
from devtools.demo.practice import build_practice

# The demo creates staff accounts whose passwords are printed in the README: with DEBUG off the
# database may be a real clinic's, so the operator has to say in so many words that it is not.
NOT_PRODUCTION_FLAG = "--i-know-this-is-not-production"


class Command(BaseCommand):
    help = "Load a synthetic demo practice (staff, 30 fictional patients, courses in every stage). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            NOT_PRODUCTION_FLAG,
            action="store_true",
            dest="not_production",
            help="Load the demo even with DEBUG off (a test or fuzz database, never a clinic's).",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["not_production"]:
            raise CommandError(
                "demo_practice refused: DEBUG is off, so this may be a production database, and the demo "
                "creates staff accounts (admin, lead, ...) whose passwords are published in the README. "
                f"Run it with DEBUG=1, or add {NOT_PRODUCTION_FLAG} if this database is a test or demo one."
            )
        if Patient.objects.filter(mrn__startswith=MRN_PREFIX).exists():
            self.stdout.write("The demo practice is already loaded; nothing changed.")
            self.print_logins()
            return
        taken = User.objects.filter(username__in=[ADMIN.username, *(s.username for s in STAFF)])
        if taken.exists():
            names = ", ".join(taken.values_list("username", flat=True))
            raise CommandError(f"Staff accounts with the demo usernames already exist ({names}); not loading the demo.")
        with transaction.atomic():
            clinic = build_staff(timezone.now())
            build_practice(clinic)
            build_measures(clinic)
        counts = {s: Course.objects.active().filter(status=s).count() for s in CourseStatus.values}
        self.stdout.write(
            self.style.SUCCESS(f"Demo practice loaded: {Patient.objects.count()} patients, courses {counts}.")
        )
        self.print_logins()

    def print_logins(self) -> None:
        self.stdout.write("Demo logins (synthetic data only; change or remove before real use):")
        for login in [ADMIN, *STAFF]:
            role = "superuser" if login is ADMIN else Role(login.role).label.lower()
            self.stdout.write(f"  {login.username:<11} {login.password:<20} {role}")
