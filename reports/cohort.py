"""Load the cohort of a report: filtered courses as plain rows, in a fixed number of queries.

Three queries whatever the number of courses (courses with their patients, doses, scores);
everything after that is plain Python over plain data (reports/outcomes.py). On PostgreSQL the
report reads the same cohort through reports/outcomes_sql.py instead.
"""

import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db.models import BooleanField, ExpressionWrapper, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from courses.choices import CourseStatus
from courses.models import Course, Dose
from measures.models import Response
from measures.schedule import CourseFacts, DoseFact, course_end
from reports.outcomes import CourseSeries, ScorePoint

INSTRUMENTS = ("phq9", "gad7", "pcl5")
NOT_RECORDED = "not_recorded"
# Course start dates the filters accept. Beyond them the report's day arithmetic would leave the
# calendar (9999-12-31 plus a day), and no course of this clinic starts there anyway.
EARLIEST_START, LATEST_START = date(1900, 1, 1), date(2100, 12, 31)
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
    route: str = ""
    first_dose_at: datetime | None = None
    first_dose_day: date | None = None  # in the clinic's time zone
    end_day: date | None = None
    end_reason: str = ""  # measures.schedule.EndReason, "" while the course runs
    maintenance_days: tuple[date, ...] = ()
    doses_given: int = 0
    series: dict = field(default_factory=dict)  # instrument -> CourseSeries
    follow_up_stopped: bool = False
    # A discontinued course with any score, on any instrument, on a day after end_day (the course
    # flow counts them); False for every other course.
    scored_after_end: bool = False
    patient_id: object = None  # counts patients (a patient can have several courses); never exported

    @property
    def discontinued(self) -> bool:
        return self.status == CourseStatus.DISCONTINUED


def course_row(
    course_id,
    patient_id,
    start: date,
    indication: str,
    course_format: str,
    status: str,
    status_changed_day: date | None,
    planned: int,
    date_of_birth: date,
    sex: str,
    race_ethnicity: str,
    follow_up_stopped: bool,
    first_dose_at: datetime | None,
) -> CourseRow:
    """A cohort row from the course's own columns (load_cohort and reports/outcomes_sql.py read the
    same columns in the same order)."""
    return CourseRow(
        course_id=course_id,
        key=course_key(course_id),
        start_day=start,
        indication=indication,
        format=course_format,
        status=status,
        status_changed_day=status_changed_day,
        sex=sex,
        race_ethnicity=race_ethnicity or NOT_RECORDED,
        age_band=age_band(date_of_birth, start),
        planned_dosing_sessions=planned,
        patient_id=patient_id,
        first_dose_at=first_dose_at,
        follow_up_stopped=follow_up_stopped,
    )


def set_end(row: CourseRow, induction_days, *, as_of: date, stall_after_days: int) -> None:
    """The end of the acute course, and why, from the days the induction doses were given: it has one
    definition, the schedule's (measures.schedule.course_end; maintenance doses do not move it)."""
    end = course_end(
        CourseFacts(
            opened_on=row.start_day,
            indication=row.indication,
            status=row.status,
            planned_dosing_sessions=row.planned_dosing_sessions,
            doses=tuple(DoseFact(None, day, True, False) for day in induction_days),
            as_of=as_of,
        ),
        stall_after_days,
    )
    row.end_day, row.end_reason = (end.day, end.why) if end else (None, "")


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
    # The day the course started (a back-dated course included), not the day it was typed in.
    if filters.start_from:
        qs = qs.filter(started_on__gte=filters.start_from)
    if filters.start_to:
        qs = qs.filter(started_on__lte=filters.start_to)
    return qs


def load_cohort(filters: ReportFilters, *, as_of: date, stall_after_days: int) -> list[CourseRow]:
    """The report's courses with their doses and scores (route and age band are filtered here,
    since they are known only once the doses and the start day are), and how each course ended
    as of `as_of` (a stalled course has, in effect, ended)."""
    courses = filtered_courses(filters)
    # Calendar days are taken in the clinic's zone by the database: at 10,000 courses, parsing
    # every timestamp in Python (Django's timestamptz loader is psycopg's pure-Python one) and
    # moving it to the clinic's zone was two thirds of the report's load time. Full timestamps
    # are read only where the definitions compare moments: the scores and each first dose.
    tz = timezone.get_current_timezone()
    first_dose = (
        Dose.objects.active()
        .filter(course=OuterRef("pk"), session__voided_at__isnull=True, dosed_at__isnull=False, is_maintenance=False)
        .order_by("session__starts_at", "pk")
        .values("dosed_at")[:1]
    )

    rows: dict = {}
    for values in courses.values_list(
        "id",
        "patient_id",
        "started_on",
        "indication",
        "format",
        "status",
        TruncDate("status_changed_at", tzinfo=tz),
        "planned_dosing_sessions",
        "patient__date_of_birth",
        "patient__sex",
        "patient__race_ethnicity",
        ExpressionWrapper(Q(follow_up_stopped_at__isnull=False), output_field=BooleanField()),
        Subquery(first_dose),
    ).order_by("-created_at", "pk"):
        rows[values[0]] = course_row(*values)

    doses = defaultdict(list)  # course -> [(dosed day or None, is_maintenance, route)], in session order
    for course_id, *dose in (
        Dose.objects.active()
        .filter(course__in=courses, session__voided_at__isnull=True)
        .order_by("session__starts_at", "pk")
        .values_list("course_id", TruncDate("dosed_at", tzinfo=tz), "is_maintenance", "route")
    ):
        doses[course_id].append(dose)

    scores = defaultdict(list)
    for course_id, instrument, answered_at, answered_day, total in (
        Response.objects.filter(course__in=courses, complete=True)
        .order_by("answered_at", "pk")
        .values_list("course_id", "instrument", "answered_at", TruncDate("answered_at", tzinfo=tz), "total")
    ):
        scores[(course_id, instrument)].append(ScorePoint(answered_at, answered_day, total))

    result = []
    for course_id, row in rows.items():
        course_doses = doses.get(course_id, [])
        given = [(day, maintenance) for day, maintenance, _route in course_doses if day is not None]
        induction_routes = [route for day, maintenance, route in course_doses if day is not None and not maintenance]
        row.route = induction_routes[0] if induction_routes else (course_doses[0][2] if course_doses else "")
        row.doses_given = len(given)
        row.maintenance_days = tuple(day for day, maintenance in given if maintenance)
        set_end(
            row,
            [day for day, maintenance in given if not maintenance],
            as_of=as_of,
            stall_after_days=stall_after_days,
        )
        row.scored_after_end = (
            row.discontinued
            and row.end_day is not None
            and any(
                point.day > row.end_day
                for instrument in INSTRUMENTS
                for point in scores.get((course_id, instrument), ())
            )
        )
        if filters.route and row.route != filters.route:
            continue
        if filters.age_band and row.age_band != filters.age_band:
            continue
        first_dose_day = row.first_dose_at.astimezone(tz).date() if row.first_dose_at else None
        row.first_dose_day = first_dose_day
        for instrument in INSTRUMENTS:
            row.series[instrument] = CourseSeries(
                instrument=instrument,
                scores=tuple(scores.get((course_id, instrument), ())),
                first_dose_at=row.first_dose_at,
                first_dose_day=first_dose_day,
                end_day=row.end_day,
                maintenance_days=row.maintenance_days,
                discontinued=row.discontinued,
            )
        result.append(row)
    return result
