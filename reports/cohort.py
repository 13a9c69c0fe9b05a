"""Load the cohort of a report: filtered courses as plain rows, in a fixed number of queries.

Four queries whatever the number of courses (courses with their patients, care teams, doses,
scores); everything after that is plain Python over plain data (reports/outcomes.py).
"""

import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from courses.choices import CourseStatus
from courses.models import Course, DosingParticipant
from measures.models import Response
from measures.schedule import CourseFacts, DoseFact, acute_series_end
from reports.outcomes import CourseSeries, ScorePoint

INSTRUMENTS = ("phq9", "gad7", "pcl5")
NOT_RECORDED = "not_recorded"
AGE_BANDS = ((18, 29, "18–29"), (30, 44, "30–44"), (45, 64, "45–64"), (65, 200, "65+"))


def age_band(date_of_birth: date, on: date) -> str:
    age = on.year - date_of_birth.year - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    for low, high, label in AGE_BANDS:
        if low <= age <= high:
            return label
    return "under 18"


def course_key(course_id) -> str:
    """A de-identified, stable key for a course: an HMAC of its id under the site's secret, so
    exported rows can be followed across exports but not traced back without the secret."""
    digest = hmac.new(settings.SECRET_KEY.encode(), str(course_id).encode(), hashlib.sha256).hexdigest()
    return f"K-{digest[:12]}"


@dataclass(frozen=True)
class ReportFilters:
    start_from: date | None = None
    start_to: date | None = None
    indication: str = ""
    route: str = ""
    format: str = ""
    therapist_id: int | None = None
    sex: str = ""
    race_ethnicity: str = ""
    age_band: str = ""

    def as_dict(self) -> dict:
        return {
            k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.__dict__.items() if v not in ("", None)
        }

    @classmethod
    def from_dict(cls, data: dict) -> "ReportFilters":
        values = dict(data)
        for key in ("start_from", "start_to"):
            if values.get(key):
                values[key] = date.fromisoformat(str(values[key]))
        if values.get("therapist_id"):
            values["therapist_id"] = int(values["therapist_id"])
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


@dataclass
class CourseRow:
    course_id: object
    key: str
    start_day: date
    indication: str
    format: str
    status: str
    sex: str
    race_ethnicity: str
    age_band: str
    planned_dosing_sessions: int = 6
    status_changed_day: date | None = None
    therapist_ids: tuple[int, ...] = ()
    route: str = ""
    first_dose_at: datetime | None = None
    end_day: date | None = None
    maintenance_days: tuple[date, ...] = ()
    doses_given: int = 0
    series: dict = field(default_factory=dict)  # instrument -> CourseSeries
    patient_id: object = None  # counts patients (a patient can have several courses); never exported

    @property
    def discontinued(self) -> bool:
        return self.status == CourseStatus.DISCONTINUED


def filtered_courses(filters: ReportFilters):
    qs = Course.objects.filter(voided_at__isnull=True, patient__voided_at__isnull=True)
    if filters.indication:
        qs = qs.filter(indication=filters.indication)
    if filters.format:
        qs = qs.filter(format=filters.format)
    if filters.sex:
        qs = qs.filter(patient__sex=filters.sex)
    if filters.race_ethnicity:
        # Rows say "not_recorded" where the patient was not asked (a blank field).
        value = "" if filters.race_ethnicity == NOT_RECORDED else filters.race_ethnicity
        qs = qs.filter(patient__race_ethnicity=value)
    if filters.therapist_id:
        qs = qs.filter(therapists__id=filters.therapist_id)
    tz = timezone.get_current_timezone()
    if filters.start_from:
        qs = qs.filter(created_at__gte=datetime.combine(filters.start_from, time.min, tzinfo=tz))
    if filters.start_to:
        qs = qs.filter(created_at__lt=datetime.combine(filters.start_to + timedelta(days=1), time.min, tzinfo=tz))
    return qs


def load_cohort(filters: ReportFilters) -> list[CourseRow]:
    """The report's courses with their doses and scores (route and age band are filtered here,
    since they are known only once the doses and the start day are)."""
    courses = filtered_courses(filters)
    # The zone is read once: looking it up on every localdate() was a third of the load time
    # at 10,000 courses.
    tz = timezone.get_current_timezone()

    def day(moment):
        return moment.astimezone(tz).date()

    rows: dict = {}
    for c in courses.values(
        "id",
        "patient_id",
        "created_at",
        "indication",
        "format",
        "status",
        "status_changed_at",
        "planned_dosing_sessions",
        "patient__date_of_birth",
        "patient__sex",
        "patient__race_ethnicity",
    ):
        start = day(c["created_at"])
        rows[c["id"]] = CourseRow(
            course_id=c["id"],
            key=course_key(c["id"]),
            start_day=start,
            indication=c["indication"],
            format=c["format"],
            status=c["status"],
            status_changed_day=day(c["status_changed_at"]),
            sex=c["patient__sex"],
            race_ethnicity=c["patient__race_ethnicity"] or NOT_RECORDED,
            age_band=age_band(c["patient__date_of_birth"], start),
            planned_dosing_sessions=c["planned_dosing_sessions"],
            patient_id=c["patient_id"],
        )

    teams = defaultdict(list)
    for link in Course.therapists.through.objects.filter(course__in=courses).values("course_id", "user_id"):
        teams[link["course_id"]].append(link["user_id"])

    doses = defaultdict(list)
    for d in (
        DosingParticipant.objects.active()
        .filter(course__in=courses, session__voided_at__isnull=True)
        .values("course_id", "dosed_at", "session__starts_at", "is_maintenance", "route")
        .order_by("session__starts_at")
    ):
        doses[d["course_id"]].append(d)

    scores = defaultdict(list)
    for r in (
        Response.objects.filter(course__in=courses, complete=True)
        .values("course_id", "instrument", "answered_at", "total")
        .order_by("answered_at")
    ):
        scores[(r["course_id"], r["instrument"])].append(
            ScorePoint(r["answered_at"], day(r["answered_at"]), r["total"])
        )

    result = []
    for course_id, row in rows.items():
        row.therapist_ids = tuple(teams.get(course_id, ()))
        course_doses = doses.get(course_id, [])
        given = [d for d in course_doses if d["dosed_at"] is not None]
        induction = [d for d in given if not d["is_maintenance"]]
        row.route = induction[0]["route"] if induction else (course_doses[0]["route"] if course_doses else "")
        row.first_dose_at = induction[0]["dosed_at"] if induction else None
        row.doses_given = len(given)
        row.maintenance_days = tuple(day(d["dosed_at"]) for d in given if d["is_maintenance"])
        # The end of the acute series has one definition, the schedule's.
        row.end_day = acute_series_end(
            CourseFacts(
                opened_on=row.start_day,
                indication=row.indication,
                status=row.status,
                planned_dosing_sessions=row.planned_dosing_sessions,
                doses=tuple(DoseFact(None, day(d["dosed_at"]), True, d["is_maintenance"]) for d in given),
            )
        )
        if filters.route and row.route != filters.route:
            continue
        if filters.age_band and row.age_band != filters.age_band:
            continue
        for instrument in INSTRUMENTS:
            row.series[instrument] = CourseSeries(
                instrument=instrument,
                scores=tuple(scores.get((course_id, instrument), ())),
                first_dose_at=row.first_dose_at,
                first_dose_day=day(row.first_dose_at) if row.first_dose_at else None,
                end_day=row.end_day,
                maintenance_days=row.maintenance_days,
                discontinued=row.discontinued,
                stopped_day=row.status_changed_day if row.discontinued else None,
            )
        result.append(row)
    return result
