"""Measure the outcome report at practice scale: queries and time to build it and render it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kapclinic_report \\
        python manage.py measure_report --courses 10000

Loads N synthetic courses into an empty database with bulk inserts (plainly fake names,
"Report Patient-00001", MRN REPORT-000001): patients of mixed sex, race/ethnicity and age;
courses in every stage opened over the last 20 months; six induction doses (two for a
discontinued course), maintenance doses for a third of them; PHQ-9, GAD-7 and PCL-5 scores at
baseline, end of course and the +1/+3/+6-month follow-ups, some follow-ups missing; pre-dose
vitals and a few adverse events. On PostgreSQL it then runs ANALYZE (a running clinic's tables
have statistics), and times `build_practice_report` (queries and seconds), the CSV, the PDF
(when reports.pdf exists) and the JSON of GET /api/reports/outcomes/.
"""

import datetime as dt
import random
import time
import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test import Client
from django.utils import timezone

from courses.choices import CourseStatus, Indication, RaceEthnicity, Route, SessionFormat, Sex, VitalPhase
from courses.models import AdverseEvent, ClinicSettings, Dose, Patient, VitalReading
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


@transaction.atomic
def load_synthetic(n: int, *, staff: dict | None = None, first: int = 0, now: dt.datetime | None = None) -> dict:
    """Bulk-load courses `first` to `first + n - 1` (numbered, so a second call adds more)."""
    now = now or timezone.now()
    staff = staff or bulk.staff("report")
    rng = random.Random(first * 7919 + n)
    rows = {
        k: [] for k in ("patients", "courses", "links", "sessions", "doses", "vitals", "events", "admins", "responses")
    }

    def scored(course, patient, instrument, timepoint, at, total):
        day = timezone.localdate(at)
        administration = Administration(
            id=uuid.uuid4(),
            course=course,
            instrument=instrument,
            timepoint=timepoint,
            target_date=day,
            open_from=day - dt.timedelta(days=7),
            due_by=day,
            missed_after=day + dt.timedelta(days=7),
            status=AdministrationStatus.COMPLETED,
            completed_at=at,
            created_at=at - dt.timedelta(days=7),
        )
        rows["admins"].append(administration)
        rows["responses"].append(
            Response(
                administration=administration,
                course=course,
                patient=patient,
                instrument=instrument,
                answers={},
                complete=True,
                total=max(0, min(MAXIMUM[instrument], round(total))),
                scoring_version="synthetic",
                source=ResponseSource.SELF_REPORT,
                answered_at=at,
            )
        )

    def add_dose(course, at, route, maintenance, with_vitals, with_event):
        session, dose = bulk.dose_rows(
            course,
            provider=staff["provider"],
            start=at,
            dosed_at=at + dt.timedelta(minutes=10),
            created_at=at - dt.timedelta(days=3),
            format=course.format,
            is_maintenance=maintenance,
            route=route,
        )
        rows["sessions"].append(session)
        rows["doses"].append(dose)
        if with_vitals:
            high = rng.random() < 0.05
            rows["vitals"].append(
                VitalReading(
                    dose=dose,
                    taken_at=at,
                    phase=VitalPhase.PRE_DOSE,
                    systolic_bp=172 if high else 124,
                    diastolic_bp=96 if high else 78,
                    alerts=["pre_dose_hold", "high_bp"] if high else [],
                    created_at=at,
                )
            )
        if with_event:
            serious = rng.random() < 0.05
            rows["events"].append(
                AdverseEvent(
                    course=course,
                    dose=dose,
                    term=rng.choice(["nausea", "dizziness", "dissociation", "headache"]),
                    grade=3 if serious else rng.choice([1, 1, 2]),
                    serious=serious,
                    serious_criteria=["hospitalisation"] if serious else [],
                    onset_at=at + dt.timedelta(minutes=40),
                    relatedness="possible",
                    expectedness="expected",
                    created_at=at + dt.timedelta(hours=1),
                )
            )

    for i in range(first, first + n):
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
        patient = bulk.patient_row(
            "report",
            i,
            created_at=opened,
            date_of_birth=dt.date(1945 + rng.randrange(60), 1 + rng.randrange(12), 1 + rng.randrange(28)),
            sex=Sex.INTERSEX if i % 97 == 5 else Sex.UNKNOWN if i % 53 == 7 else rng.choice([Sex.FEMALE, Sex.MALE]),
            race_ethnicity=rng.choice(RACES),
        )
        course = bulk.course_row(
            patient,
            provider=staff["provider"],
            created_by=staff["lead"],
            status=status,
            at=opened,
            indication=rng.choice(INDICATIONS),
            format=SessionFormat.GROUP if rng.random() < 0.15 else SessionFormat.INDIVIDUAL,
            discontinued_reason="Synthetic: stopped after two doses." if discontinued else "",
        )
        rows["patients"].append(patient)
        rows["courses"].append(course)
        rows["links"].append((course, staff["therapist"] if i % 2 else staff["therapist2"]))

        route = rng.choice(ROUTES)
        given = INDUCTION_DAYS[:2] if discontinued else [d for d in INDUCTION_DAYS if d < age_days]
        for k, day in enumerate(given):
            add_dose(course, opened + dt.timedelta(days=day), route, False, k == 0, rng.random() < 0.1)
        end = opened + dt.timedelta(days=end_offset)
        if not discontinued and i % 3 == 0:
            for after in MAINTENANCE_AFTER_END:
                if end_offset + after < age_days:
                    add_dose(course, end + dt.timedelta(days=after), route, True, False, False)

        ptsd = course.indication == Indication.PTSD
        baseline = {
            "phq9": rng.randint(6, 25),
            "gad7": rng.randint(5, 20),
            "pcl5": rng.randint(35, 70) if ptsd else rng.randint(5, 45),
        }
        baseline_at = opened + dt.timedelta(days=2)
        instruments = [i for i in ("phq9", "gad7", "pcl5") if i != "pcl5" or ptsd or baseline["pcl5"] >= 33]
        for instrument in ("phq9", "gad7", "pcl5"):
            scored(course, patient, instrument, "baseline", baseline_at, baseline[instrument])
        if discontinued or status == CourseStatus.DOSING:
            continue
        # How much each course improves at the end, and how much of it is lost by 6 months.
        drop = rng.uniform(0.05, 0.85)
        relapse = rng.uniform(0.0, 0.6)
        end_at = end + dt.timedelta(days=rng.randint(2, 10), hours=2)
        if end_at < now:
            for instrument in instruments:
                scored(course, patient, instrument, "end_of_course", end_at, baseline[instrument] * (1 - drop))
        for timepoint, target, spread, missing in FOLLOW_UPS:
            at = end + dt.timedelta(days=target + rng.randint(-spread, spread), hours=3)
            if at >= now or rng.random() < missing:
                continue
            kept = drop * (1 - relapse * target / 180)
            for instrument in instruments:
                scored(course, patient, instrument, timepoint, at, baseline[instrument] * (1 - kept))

    bulk.insert(
        patients=rows["patients"],
        courses=rows["courses"],
        links=rows["links"],
        sessions=rows["sessions"],
        facilitator=staff["therapist"],
        doses=rows["doses"],
        vitals=rows["vitals"],
        events=rows["events"],
    )
    Administration.objects.bulk_create(rows["admins"], batch_size=5000)
    Response.objects.bulk_create(rows["responses"], batch_size=5000)
    return staff


class Command(BaseCommand):
    help = "Load N synthetic courses with doses and scores, and time the outcome report, its CSV and PDF."

    def add_arguments(self, parser):
        parser.add_argument("--courses", type=int, default=10000)

    def handle(self, *args, courses: int, **options):
        if Patient.objects.exists():
            raise CommandError("Run this on an empty database: it loads its own synthetic practice.")
        started = time.perf_counter()
        staff = load_synthetic(courses)
        bulk.analyze()
        self.stdout.write(
            f"loaded {courses} courses, {Dose.objects.count()} doses, "
            f"{Response.objects.count()} scores in {time.perf_counter() - started:.1f} s"
        )
        self._measure(staff)

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
