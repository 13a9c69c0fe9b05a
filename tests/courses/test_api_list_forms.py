"""The faster forms the API's lists read their pages and counts in answer the same rows, in the same
order, and the same counts as the lists' own querysets: a patient page walked course by course
(selectors.patients_list_paged), a therapist's course count from their assignments
(selectors.courses_list_count), and a page's therapists handed over without Django's per-course
prefetch querysets (selectors.therapists_as_prefetched)."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from courses import selectors
from courses.choices import CourseStatus
from courses.models import Course, Patient
from devtools import bulk

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def team():
    return bulk.staff("forms")


def practice(team, n: int) -> None:
    """N courses of N patients, alternating between the two therapists (every third with both) and
    between two statuses; patient 0 has a second course, of the second therapist (already one of theirs)."""
    rows = {"patients": [], "courses": [], "links": []}
    for i in range(n):
        at = NOW - dt.timedelta(days=i)
        patient = bulk.patient_row("forms", i, created_at=at)
        status = CourseStatus.DOSING if i % 2 else CourseStatus.EVALUATION
        course = bulk.course_row(patient, provider=team["provider"], created_by=team["lead"], status=status, at=at)
        rows["patients"].append(patient)
        rows["courses"].append(course)
        rows["links"].append((course, team["therapist"] if i % 2 else team["therapist2"]))
        if i % 3 == 0:
            rows["links"].append((course, team["therapist"] if not i % 2 else team["therapist2"]))
    second = bulk.course_row(
        rows["patients"][0], provider=team["provider"], created_by=team["lead"], status=CourseStatus.DOSING, at=NOW
    )
    rows["courses"].append(second)
    rows["links"].append((second, team["therapist2"]))
    bulk.insert(patients=rows["patients"], courses=rows["courses"], links=rows["links"])


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _counted(count, rows) -> int:
    if count is None:
        return rows.count()
    return count()


def test_the_patient_page_and_count_are_the_lists_own(team, outsider):
    practice(team, 9)
    for user in (*team.values(), outsider):
        rows, count = selectors.patients_list_paged(user=user)
        own = selectors.patients_list(user=user)
        assert [p.pk for p in rows] == [p.pk for p in own], user.username
        assert _counted(count, rows) == own.count(), user.username
        assert [p.pk for p in rows[2:5]] == [p.pk for p in own[2:5]], user.username


def test_a_patient_registered_without_a_course_is_listed_and_counted(team):
    practice(team, 4)
    Patient.objects.bulk_create([bulk.patient_row("forms", 100, created_at=NOW, created_by=team["therapist"])])
    for user in team.values():
        rows, count = selectors.patients_list_paged(user=user)
        own = selectors.patients_list(user=user)
        assert [p.pk for p in rows] == [p.pk for p in own], user.username
        assert _counted(count, rows) == own.count(), user.username
    answer = api(team["therapist"]).get("/api/patients/").json()
    assert answer["count"] == selectors.patients_list(user=team["therapist"]).count()
    assert "FORMS-000100" in [p["mrn"] for p in answer["results"]]


@pytest.mark.parametrize("status", [None, CourseStatus.DOSING])
def test_the_course_count_is_the_lists_own(team, outsider, status):
    practice(team, 9)
    patient = Patient.objects.get(mrn="FORMS-000001")
    for user in (*team.values(), outsider):
        for patient_id in (None, patient.pk):
            chosen = {"status": status, "patient_id": patient_id}
            own = selectors.courses_list(user=user, **chosen).count()
            assert selectors.courses_list_count(user=user, **chosen).count() == own, (user.username, chosen)


def test_a_pages_therapists_are_those_django_prefetches(team):
    practice(team, 9)
    for user in team.values():
        page = selectors.therapists_as_prefetched(list(selectors.courses_list(user=user)[:6]))
        own = {c.pk: c for c in Course.objects.filter(pk__in=[c.pk for c in page]).prefetch_related("therapists")}
        for course in page:
            assert [t.pk for t in course.therapists.all()] == [t.pk for t in own[course.pk].therapists.all()]
            assert course.therapists.count() == own[course.pk].therapists.count()
            # What a page holds answers nothing further: no other course's therapists.
            assert not course.therapists.all().filter(pk__isnull=False).exists()
    assert any(len(c.therapists.all()) == 2 for c in page)


def test_the_lists_answer_the_counts_of_their_rows(team):
    practice(team, 9)
    for user in team.values():
        patients = api(user).get("/api/patients/?limit=3&offset=2").json()
        assert patients["count"] == selectors.patients_list(user=user).count()
        assert [p["id"] for p in patients["results"]] == [str(p.pk) for p in selectors.patients_list(user=user)[2:5]]
        courses = api(user).get("/api/courses/").json()
        assert courses["count"] == selectors.courses_list(user=user).count()
