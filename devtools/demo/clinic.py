"""The demo's staff and logins, the clinic every step is placed against, and each course's plan
of scores."""

import datetime as dt
import random
from dataclasses import dataclass, field

from django.utils import timezone

from accounts.models import Role, User
from courses import services
from courses.choices import CourseStatus, Indication
from courses.models import Course

MRN_PREFIX = "DEMO-"


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    role: str
    first_name: str
    last_name: str
    credentials: str = ""


ADMIN = Login("admin", "demo-admin-2026", "superuser", "Ada", "Administrator")
STAFF = [
    Login("lead", "demo-lead-2026", Role.PRACTICE_LEAD, "Lane", "Leadwell", "MD"),
    Login("therapist1", "demo-therapist-2026", Role.THERAPIST, "Tamsin", "Talkwell", "LCSW"),
    Login("therapist2", "demo-therapist-2026", Role.THERAPIST, "Rowan", "Listenby", "PsyD"),
    Login("provider1", "demo-provider-2026", Role.MEDICAL_PROVIDER, "Marlo", "Medica", "MD"),
    Login("provider2", "demo-provider-2026", Role.MEDICAL_PROVIDER, "Nico", "Nursewell", "NP"),
]

# Courses per stage once the demo is built (one patient has a completed course and a new one).
EXPECTED_STAGES = {
    CourseStatus.EVALUATION: 5,
    CourseStatus.PREPARATION: 4,
    CourseStatus.DOSING: 10,
    CourseStatus.INTEGRATION: 3,
    CourseStatus.FOLLOW_UP: 4,
    CourseStatus.COMPLETED: 3,
    CourseStatus.DISCONTINUED: 3,
}
PATIENT_COUNT = 31
GROUP_SIZE = 5

GIVEN_NAMES = [
    "Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Gray", "Harper", "Indigo", "Jules",
    "Kai", "Logan", "Morgan", "Noel", "Oakley", "Parker", "Quinn", "Reese", "Sage", "Tatum",
    "Umber", "Val", "Wren", "Xen", "Yael", "Zion", "Ari", "Bellamy", "Cove", "Dell", "Ellis",
]  # fmt: skip


@dataclass
class Clinic:
    """The staff and the fixed 'now' the whole demo is placed against."""

    now: dt.datetime
    admin: User
    lead: User
    therapists: list[User]
    providers: list[User]
    rng: random.Random = field(default_factory=lambda: random.Random(2026))
    lot: int = 0
    plans: dict = field(default_factory=dict)

    def plan(self, course: Course) -> "Trajectory":
        """How this course's scores move, decided once (baseline answered before the first dose)."""
        if course.pk not in self.plans:
            self.plans[course.pk] = trajectory(self, course)
        return self.plans[course.pk]

    def at(self, days_ago: int, hour: int = 9, minute: int = 0) -> dt.datetime:
        """A time in the clinic's zone, `days_ago` days before today."""
        day = timezone.localdate(self.now) - dt.timedelta(days=days_ago)
        return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))

    def next_lot(self) -> str:
        self.lot += 1
        return f"DEMO-LOT-{self.lot:04d}"

    def vitals(self, rise: int = 0) -> dict:
        r = self.rng
        return {
            "systolic_bp": r.randint(112, 132) + rise,
            "diastolic_bp": r.randint(68, 82) + rise // 2,
            "heart_rate": r.randint(62, 86),
            "spo2": r.randint(96, 99),
            "respiratory_rate": r.randint(12, 16),
        }


def build_staff(now: dt.datetime) -> Clinic:
    from django.contrib.auth.password_validation import validate_password

    # The one account no service can create: the first administrator, who then creates the rest.
    admin = User(
        username=ADMIN.username,
        first_name=ADMIN.first_name,
        last_name=ADMIN.last_name,
        email="admin@kapclinic.invalid",
        is_staff=True,
        is_superuser=True,
    )
    validate_password(ADMIN.password, admin)
    admin.set_password(ADMIN.password)
    admin.save()
    users = {}
    for login in STAFF:
        by = users.get("lead", admin)
        users[login.username] = services.staff_create(
            by=by,
            username=login.username,
            password=login.password,
            role=login.role,
            first_name=login.first_name,
            last_name=login.last_name,
            email=f"{login.username}@kapclinic.invalid",
            credentials=login.credentials,
            now=now - dt.timedelta(days=400),
        )
    clinic = Clinic(
        now=now,
        admin=admin,
        lead=users["lead"],
        therapists=[users["therapist1"], users["therapist2"]],
        providers=[users["provider1"], users["provider2"]],
    )
    services.clinic_settings_update(
        by=clinic.lead, changes={"clinic_name": "Demo KAP Practice (synthetic data)"}, now=now - dt.timedelta(days=400)
    )
    return clinic


@dataclass
class Trajectory:
    """How one patient's scores move: a baseline per instrument and the share kept at the end."""

    baseline: dict[str, int]
    kept_at_end: float
    answers_follow_ups: float


def trajectory(c: Clinic, course: Course) -> Trajectory:
    r = c.rng
    ptsd = course.indication == Indication.PTSD
    return Trajectory(
        baseline={
            "phq9": r.randint(12, 22),
            "gad7": r.randint(9, 18),
            "pcl5": r.randint(36, 58) if ptsd else r.randint(8, 28),
        },
        # Most respond (down to 25-50 %); about one in five barely moves.
        kept_at_end=r.uniform(0.25, 0.5) if r.random() < 0.8 else r.uniform(0.8, 1.0),
        answers_follow_ups=r.uniform(0.5, 0.95),
    )
