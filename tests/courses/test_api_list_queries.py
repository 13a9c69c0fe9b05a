"""The API's lists read a page in a fixed number of queries, whatever the caseload holds, and the
forms their selectors take for speed keep exactly the rows (and counts) of the caseload rules."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from courses import selectors
from courses.choices import CourseStatus
from courses.models import Dose, Patient
from devtools import bulk

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def team():
    return bulk.staff("lists")


def practice(team, first: int, n: int) -> None:
    """Courses `first`..`first + n - 1`, alternating between the two therapists, each with one given
    dose in its own session (facilitated by the first therapist) and a second, voided dose."""
    rows = {k: [] for k in ("patients", "courses", "links", "sessions", "doses")}
    for i in range(first, first + n):
        at = NOW - dt.timedelta(days=i)
        patient = bulk.patient_row("lists", i, created_at=at)
        course = bulk.course_row(
            patient, provider=team["provider"], created_by=team["lead"], status=CourseStatus.DOSING, at=at
        )
        rows["patients"].append(patient)
        rows["courses"].append(course)
        rows["links"].append((course, team["therapist"] if i % 2 else team["therapist2"]))
        for voided in (False, True):
            session, dose = bulk.dose_rows(
                course, provider=team["provider"], start=at, dosed_at=at, created_at=at - dt.timedelta(days=1)
            )
            if voided:
                dose.dosed_at = None
                dose.voided_at, dose.voided_by, dose.void_reason = at, team["provider"], "Synthetic: entered twice."
            rows["sessions"].append(session)
            rows["doses"].append(dose)
    bulk.insert(
        patients=rows["patients"],
        courses=rows["courses"],
        links=rows["links"],
        sessions=rows["sessions"],
        facilitator=team["therapist"],
        doses=rows["doses"],
    )


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def read(client, url) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), response.json()


LISTS = [
    "/api/patients/",
    "/api/courses/",
    f"/api/courses/?status={CourseStatus.DOSING}",
    "/api/dosing-sessions/",
    "/api/dosing-sessions/?day=2026-03-09",
]


@pytest.mark.parametrize("role", ["therapist", "provider", "lead"])
@pytest.mark.parametrize("url", LISTS)
def test_a_list_runs_the_same_queries_for_3_rows_and_for_30(team, role, url):
    client = api(team[role])
    practice(team, 0, 3)
    read(client, url)  # first request: the settings rows and the like, outside the count
    few, small = read(client, url)
    practice(team, 3, 27)
    many, large = read(client, url)

    assert many == few, (few, many)
    assert large["count"] > small["count"] or url.endswith("day=2026-03-09")
    assert len(large["results"]) == min(large["count"], 50)


def test_the_dose_count_of_a_session_leaves_out_voided_doses(team):
    practice(team, 0, 2)
    listed = api(team["lead"]).get("/api/dosing-sessions/").json()["results"]

    counts = {row["id"]: row["dose_count"] for row in listed}
    active = {str(d.session_id) for d in Dose.objects.filter(voided_at__isnull=True)}
    assert counts == {sid: (1 if sid in active else 0) for sid in counts}
    assert sorted(counts.values()) == [0, 0, 1, 1]


def test_a_day_of_sessions_is_the_clinics_local_day(team, settings):
    """The range the list filters on is what __date meant: the day in the clinic's zone, so a
    session at 23:30 local (04:30 UTC the next day) belongs to the day it was on the clock."""
    practice(team, 0, 1)
    zone = timezone.get_current_timezone()
    late = dt.datetime(2026, 3, 9, 23, 30, tzinfo=zone)
    early = dt.datetime(2026, 3, 10, 0, 0, tzinfo=zone)
    sessions = list(selectors.dosing_sessions_for(team["lead"]))
    for session, start in zip(sessions, (late, early), strict=True):
        type(session).objects.filter(pk=session.pk).update(starts_at=start, ends_at=start + dt.timedelta(hours=3))

    for day in (dt.date(2026, 3, 9), dt.date(2026, 3, 10), dt.date(2026, 3, 11)):
        by_range = set(selectors.dosing_sessions_list(user=team["lead"], day=day).values_list("pk", flat=True))
        by_date = set(
            selectors.dosing_sessions_for(team["lead"]).filter(starts_at__date=day).values_list("pk", flat=True)
        )
        assert by_range == by_date
    assert selectors.dosing_sessions_list(user=team["lead"], day=dt.date(2026, 3, 9)).count() == 1


def test_the_patient_list_shows_the_caseload_rule_s_patients(team, outsider):
    """patients_for_list is patients_for in another form: the same patients for every role,
    including a patient registered and still without a course (their registrar's) and one whose
    only course is another therapist's."""
    practice(team, 0, 4)
    Patient.objects.bulk_create(
        [
            bulk.patient_row("lists", 100, created_at=NOW, created_by=team["therapist"]),
            bulk.patient_row("lists", 101, created_at=NOW, created_by=team["therapist2"]),
        ]
    )
    Patient.objects.filter(mrn="LISTS-000001").update(created_by=team["therapist2"])  # course is therapist's

    for user in (*team.values(), outsider):
        assert set(selectors.patients_for_list(user)) == set(selectors.patients_for(user)), user.username
    names = [p.mrn for p in selectors.patients_list(user=team["therapist"])]
    assert names == ["LISTS-000001", "LISTS-000003", "LISTS-000100"]
    assert api(team["therapist"]).get("/api/patients/").json()["count"] == 3
