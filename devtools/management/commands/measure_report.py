"""Measure the outcome report at practice scale: queries and time to build it and render it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kapclinic_report \\
        python manage.py measure_report --courses 10000
    DATABASE_URL=… python manage.py measure_report --courses 100000 --load-only

Loads N synthetic courses into an empty database (plainly fake names, "Report Patient-00001",
MRN REPORT-000001): patients of mixed sex, race/ethnicity and age; courses in every stage opened
over the last 20 months; six induction doses (two for a discontinued course), maintenance doses
for a third of them; PHQ-9, GAD-7 and PCL-5 scores at baseline, end of course and the +1/+3/+6-month
follow-ups, some follow-ups missing; pre-dose vitals and a few adverse events. Rows are built as
tuples and written with COPY (devtools.bulk.copy_rows), 5,000 courses to a transaction. On
PostgreSQL it then runs ANALYZE (a running clinic's tables have statistics), and times
`build_practice_report` (queries and seconds), the CSV, the PDF (when reports.pdf exists) and the
JSON of GET /api/reports/outcomes/. With --load-only it prints the rows and seconds of each table
instead of timing the report.
"""

import datetime as dt
import os
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test import Client
from django.utils import timezone

from courses.choices import CourseStatus, Indication, RaceEthnicity, Route, SessionFormat, Sex, VitalPhase
from courses.models import AdverseEvent, ClinicSettings, Course, Dose, DosingSession, Patient, VitalReading
from devtools import bulk
from measures.models import Administration, AdministrationStatus, Response, ResponseSource

INDICATIONS = [Indication.MDD_TRD] * 5 + [Indication.PTSD] * 3 + [Indication.ANXIETY, Indication.OCD]
ROUTES = [Route.IV, Route.IV, Route.IM, Route.SUBLINGUAL]
# Roughly a US outpatient mix, so the equity split has large and small groups.
RACES = (
    [RaceEthnicity.WHITE] * 12
    + [RaceEthnicity.BLACK] * 3
    + [RaceEthnicity.HISPANIC_LATINO] * 3
    + [RaceEthnicity.ASIAN] * 2
    + [RaceEthnicity.MULTIRACIAL, RaceEthnicity.PREFER_NOT_TO_SAY, ""]
)
INDUCTION_DAYS = (7, 10, 13, 16, 19, 22)  # days after the course opened
MAINTENANCE_AFTER_END = (45, 120)
FOLLOW_UPS = (("month_1", 30, 5, 0.2), ("month_3", 90, 15, 0.3), ("month_6", 180, 20, 0.4))
MAXIMUM = {"phq9": 27, "gad7": 21, "pcl5": 80}
# Courses per transaction: bounds the rows held in Python and PostgreSQL's queue of deferred
# foreign-key checks (about 270,000 rows a chunk), and a large load shows its progress.
CHUNK = 5000

# Each table the loader writes, in insert order, with the attnames of its tuples' values. The
# tuples are built in _Practice below, each next to its table's name; copy_rows gives every
# other field its model default (uuid4 ids for the leaf rows, "" and False and the like).
PATIENTS = (
    Patient,
    ("id", "mrn", "given_name", "family_name", "email", "date_of_birth", "sex", "race_ethnicity", "created_at"),
)
COURSES = (
    Course,
    (
        "id",
        "patient_id",
        "medical_provider_id",
        "status",
        "status_changed_at",
        "started_on",
        "created_at",
        "created_by_id",
        "indication",
        "format",
        "discontinued_reason",
    ),
)
THERAPISTS = (Course.therapists.through, ("course_id", "user_id"))
SESSIONS = (DosingSession, ("id", "format", "starts_at", "ends_at", "medical_provider_id", "created_at"))
FACILITATORS = (DosingSession.facilitators.through, ("dosingsession_id", "user_id"))
DOSES = (
    Dose,
    ("id", "session_id", "course_id", "dosed_at", "created_at", "is_maintenance", *bulk.DOSE),
)
VITALS = (
    VitalReading,
    ("dose_id", "taken_at", "phase", "systolic_bp", "diastolic_bp", "alerts", "created_at"),
)
EVENTS = (
    AdverseEvent,
    (
        "course_id",
        "dose_id",
        "term",
        "grade",
        "serious",
        "serious_criteria",
        "onset_at",
        "relatedness",
        "expectedness",
        "created_at",
    ),
)
ADMINISTRATIONS = (
    Administration,
    (
        "id",
        "course_id",
        "instrument",
        "timepoint",
        "target_date",
        "open_from",
        "due_by",
        "missed_after",
        "status",
        "completed_at",
        "created_at",
    ),
)
RESPONSES = (
    Response,
    (
        "administration_id",
        "course_id",
        "patient_id",
        "instrument",
        "answers",
        "complete",
        "total",
        "scoring_version",
        "source",
        "answered_at",
    ),
)
TABLES = (PATIENTS, COURSES, THERAPISTS, SESSIONS, FACILITATORS, DOSES, VITALS, EVENTS, ADMINISTRATIONS, RESPONSES)
WEEK = dt.timedelta(days=7)


class _Practice:
    """Builds the tuples of one chunk of courses, one list per table of TABLES."""

    def __init__(self, staff: dict, rng: random.Random, now: dt.datetime):
        self.rng = rng
        self.now = now
        self.provider = staff["provider"].pk
        self.lead = staff["lead"].pk
        self.facilitator = staff["therapist"].pk
        self.therapists = (staff["therapist2"].pk, staff["therapist"].pk)  # by i % 2
        self.rows = {table: [] for table in TABLES}
        # timezone.localdate() looks the zone up again on every call; a chunk's dates need it once.
        self.zone = timezone.get_current_timezone()

    def scored(self, course_id, patient_id, instrument, timepoint, at, total):
        day = at.astimezone(self.zone).date()
        administration_id = uuid.uuid4()
        self.rows[ADMINISTRATIONS].append(
            (
                administration_id,
                course_id,
                instrument,
                timepoint,
                day,
                day - WEEK,
                day,
                day + WEEK,
                AdministrationStatus.COMPLETED,
                at,
                at - WEEK,
            )
        )
        self.rows[RESPONSES].append(
            (
                administration_id,
                course_id,
                patient_id,
                instrument,
                {},
                True,
                max(0, min(MAXIMUM[instrument], round(total))),
                "synthetic",
                ResponseSource.SELF_REPORT,
                at,
            )
        )

    def add_dose(self, course_id, format, at, route, maintenance, with_vitals, with_event):
        rng = self.rng
        session_id, dose_id = uuid.uuid4(), uuid.uuid4()
        created_at = at - dt.timedelta(days=3)
        self.rows[SESSIONS].append((session_id, format, at, at + bulk.SESSION_LENGTH, self.provider, created_at))
        self.rows[FACILITATORS].append((session_id, self.facilitator))
        dose = {**bulk.DOSE, "route": route}
        self.rows[DOSES].append(
            (dose_id, session_id, course_id, at + dt.timedelta(minutes=10), created_at, maintenance, *dose.values())
        )
        if with_vitals:
            high = rng.random() < 0.05
            self.rows[VITALS].append(
                (
                    dose_id,
                    at,
                    VitalPhase.PRE_DOSE,
                    172 if high else 124,
                    96 if high else 78,
                    ["pre_dose_hold", "high_bp"] if high else [],
                    at,
                )
            )
        if with_event:
            serious = rng.random() < 0.05
            term = rng.choice(["nausea", "dizziness", "dissociation", "headache"])
            self.rows[EVENTS].append(
                (
                    course_id,
                    dose_id,
                    term,
                    3 if serious else rng.choice([1, 1, 2]),
                    serious,
                    ["hospitalisation"] if serious else [],
                    at + dt.timedelta(minutes=40),
                    "possible",
                    "expected",
                    at + dt.timedelta(hours=1),
                )
            )

    def course(self, i: int) -> None:
        """Course number `i`: its patient, therapist, doses, vitals, events and scores. The random
        draws come in a fixed order, so a seed gives the same practice every time."""
        rng, now = self.rng, self.now
        age_days = 20 + rng.randrange(600)
        opened = now - dt.timedelta(days=age_days, hours=rng.randrange(8))
        discontinued = i % 10 == 9
        end_offset = INDUCTION_DAYS[-1]
        if discontinued:
            status = CourseStatus.DISCONTINUED
        elif age_days <= end_offset:
            status = CourseStatus.DOSING
        elif age_days < end_offset + 210:
            status = CourseStatus.FOLLOW_UP
        else:
            status = CourseStatus.COMPLETED
        patient_id, course_id = uuid.uuid4(), uuid.uuid4()
        names = bulk.patient_names("report", i)
        date_of_birth = dt.date(1945 + rng.randrange(60), 1 + rng.randrange(12), 1 + rng.randrange(28))
        sex = Sex.INTERSEX if i % 97 == 5 else Sex.UNKNOWN if i % 53 == 7 else rng.choice([Sex.FEMALE, Sex.MALE])
        race = rng.choice(RACES)
        self.rows[PATIENTS].append((patient_id, *names.values(), date_of_birth, sex, race, opened))
        indication = rng.choice(INDICATIONS)
        format = SessionFormat.GROUP if rng.random() < 0.15 else SessionFormat.INDIVIDUAL
        self.rows[COURSES].append(
            (
                course_id,
                patient_id,
                self.provider,
                status,
                opened,
                opened.astimezone(self.zone).date(),
                opened,
                self.lead,
                indication,
                format,
                "Synthetic: stopped after two doses." if discontinued else "",
            )
        )
        self.rows[THERAPISTS].append((course_id, self.therapists[i % 2]))

        route = rng.choice(ROUTES)
        given = INDUCTION_DAYS[:2] if discontinued else [d for d in INDUCTION_DAYS if d < age_days]
        for k, day in enumerate(given):
            with_event = rng.random() < 0.1
            self.add_dose(course_id, format, opened + dt.timedelta(days=day), route, False, k == 0, with_event)
        end = opened + dt.timedelta(days=end_offset)
        if not discontinued and i % 3 == 0:
            for after in MAINTENANCE_AFTER_END:
                if end_offset + after < age_days:
                    self.add_dose(course_id, format, end + dt.timedelta(days=after), route, True, False, False)

        ptsd = indication == Indication.PTSD
        baseline = {
            "phq9": rng.randint(6, 25),
            "gad7": rng.randint(5, 20),
            "pcl5": rng.randint(35, 70) if ptsd else rng.randint(5, 45),
        }
        baseline_at = opened + dt.timedelta(days=2)
        instruments = [m for m in ("phq9", "gad7", "pcl5") if m != "pcl5" or ptsd or baseline["pcl5"] >= 33]
        scored = self.scored
        for instrument in ("phq9", "gad7", "pcl5"):
            scored(course_id, patient_id, instrument, "baseline", baseline_at, baseline[instrument])
        if discontinued or status == CourseStatus.DOSING:
            return
        # How much each course improves at the end, and how much of it is lost by 6 months.
        drop = rng.uniform(0.05, 0.85)
        relapse = rng.uniform(0.0, 0.6)
        end_at = end + dt.timedelta(days=rng.randint(2, 10), hours=2)
        if end_at < now:
            for instrument in instruments:
                scored(course_id, patient_id, instrument, "end_of_course", end_at, baseline[instrument] * (1 - drop))
        for timepoint, target, spread, missing in FOLLOW_UPS:
            at = end + dt.timedelta(days=target + rng.randint(-spread, spread), hours=3)
            if at >= now or rng.random() < missing:
                continue
            kept = drop * (1 - relapse * target / 180)
            for instrument in instruments:
                scored(course_id, patient_id, instrument, timepoint, at, baseline[instrument] * (1 - kept))


@dataclass
class Loaded:
    """What load_practice did: the staff, and each table's rows and COPY seconds by db_table;
    building the tuples and committing (PostgreSQL checks the deferred foreign keys then) are
    timed apart."""

    staff: dict
    rows: Counter = field(default_factory=Counter)
    copy_seconds: Counter = field(default_factory=Counter)
    build_seconds: float = 0.0
    commit_seconds: float = 0.0
    # This process's CPU time for the whole load: on a shared machine the wall-clock seconds
    # above include waiting for a core; PostgreSQL's own work is not in it.
    python_cpu_seconds: float = 0.0


def load_practice(
    n: int,
    *,
    staff: dict | None = None,
    first: int = 0,
    now: dt.datetime | None = None,
    chunk: int = CHUNK,
    progress=None,
) -> Loaded:
    """Load courses `first` to `first + n - 1` (numbered, so a second call adds more), `chunk`
    courses to a transaction (a savepoint inside the caller's). `progress(courses_done, seconds)`
    after each chunk.

    Chunks, not one transaction: memory stays bounded at any N, in Python and in PostgreSQL's
    queue of deferred foreign-key checks; in return a failed load leaves the chunks before it,
    which is one reason the command wants an empty database."""
    now = now or timezone.now()
    loaded = Loaded(staff=staff or bulk.staff("report"))
    rng = random.Random(first * 7919 + n)
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(first, first + n, chunk):
        began = time.perf_counter()
        practice = _Practice(loaded.staff, rng, now)
        for i in range(start, min(start + chunk, first + n)):
            practice.course(i)
        loaded.build_seconds += time.perf_counter() - began
        with transaction.atomic():
            for (model, fields), table_rows in practice.rows.items():
                began = time.perf_counter()
                loaded.rows[model._meta.db_table] += bulk.copy_rows(model, fields, table_rows)
                loaded.copy_seconds[model._meta.db_table] += time.perf_counter() - began
            began = time.perf_counter()
        loaded.commit_seconds += time.perf_counter() - began
        if progress:
            progress(min(start + chunk, first + n) - first, time.perf_counter() - started)
    loaded.python_cpu_seconds = time.process_time() - cpu
    return loaded


def load_synthetic(n: int, *, staff: dict | None = None, first: int = 0, now: dt.datetime | None = None) -> dict:
    """Bulk-load courses `first` to `first + n - 1` (numbered, so a second call adds more); returns
    the staff (therapist, therapist2, provider, lead)."""
    return load_practice(n, staff=staff, first=first, now=now).staff


class Command(BaseCommand):
    help = "Load N synthetic courses with doses and scores, and time the outcome report, its CSV and PDF."

    def add_arguments(self, parser):
        parser.add_argument("--courses", type=int, default=10000)
        parser.add_argument("--chunk", type=int, default=CHUNK, help="courses per transaction")
        parser.add_argument(
            "--load-only", action="store_true", help="print each table's rows and seconds; do not time the report"
        )

    def handle(self, *args, courses: int, chunk: int, load_only: bool, **options):
        if Patient.objects.exists():
            raise CommandError("Run this on an empty database: it loads its own synthetic practice.")
        started = time.perf_counter()
        loaded = load_practice(courses, chunk=chunk, progress=self._progress if load_only else None)
        load_seconds = time.perf_counter() - started
        bulk.analyze()
        analyze_seconds = time.perf_counter() - started - load_seconds
        self.stdout.write(
            f"loaded {courses} courses, {Dose.objects.count()} doses, "
            f"{Response.objects.count()} scores in {time.perf_counter() - started:.1f} s"
        )
        if load_only:
            self._print_load(loaded, load_seconds, analyze_seconds)
            return
        self._measure(loaded.staff)

    def _progress(self, done: int, seconds: float) -> None:
        self.stdout.write(f"  {done} courses, {seconds:.0f} s")

    def _print_load(self, loaded: Loaded, load_seconds: float, analyze_seconds: float) -> None:
        self.stdout.write(f"{'table':<36} {'rows':>10} {'COPY s':>8}")
        for table, n in loaded.rows.items():
            self.stdout.write(f"{table:<36} {n:>10} {loaded.copy_seconds[table]:>8.1f}")
        self.stdout.write(f"{'all':<36} {loaded.rows.total():>10} {loaded.copy_seconds.total():>8.1f}")
        self.stdout.write(
            f"load {load_seconds:.1f} s: building tuples {loaded.build_seconds:.1f} s, "
            f"COPY {loaded.copy_seconds.total():.1f} s, commits (deferred foreign-key checks) "
            f"{loaded.commit_seconds:.1f} s; then ANALYZE {analyze_seconds:.1f} s"
        )
        self.stdout.write(
            f"this process used {loaded.python_cpu_seconds:.1f} s of CPU for the load; {os.getloadavg()[0]:.1f} load "
            f"average on {os.cpu_count()} cores"
        )

    def _timed(self, label: str, action):
        result, queries, elapsed = bulk.measured(action)
        self.stdout.write(f"{label:<34} {queries:>8} {elapsed:>9.2f}")
        return result

    def _measure(self, staff: dict) -> None:
        from reports.cohort import ReportFilters
        from reports.csv_export import render_practice_csv
        from reports.models import OutcomeSettings
        from reports.report import build_practice_report

        OutcomeSettings.load()  # both settings rows are created once, outside the timings
        ClinicSettings.load()
        self.stdout.write(f"{'step':<34} {'queries':>8} {'seconds':>9}")
        report = self._timed("build_practice_report (all)", lambda: build_practice_report(ReportFilters()))
        self._timed(
            "build_practice_report (PTSD only)", lambda: build_practice_report(ReportFilters(indication="ptsd"))
        )
        content = self._timed("render_practice_csv", lambda: render_practice_csv(report))
        lines = content.count(b"\n") - 1
        self.stdout.write(f"  CSV: {len(content) / 1e6:.1f} MB, {lines} rows")
        try:
            from reports.pdf import render_practice_pdf
        except ImportError:
            self.stdout.write("render_practice_pdf: reports.pdf is not there yet")
        else:
            pdf = self._timed("render_practice_pdf", lambda: render_practice_pdf(report))
            self.stdout.write(f"  PDF: {len(pdf) / 1e6:.2f} MB")
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(staff["lead"])
        response = self._timed("GET /api/reports/outcomes/", lambda: client.get("/api/reports/outcomes/", secure=True))
        self.stdout.write(f"  status {response.status_code}, {len(response.content) / 1e3:.0f} kB of JSON")
