"""The faster forms the API's lists read their pages and counts in answer the same rows, in the same
order, and the same counts as the lists' own querysets: a patient page walked course by course
(selectors.patients_list_paged), a therapist's course count from their assignments
(selectors.courses_list_count), and a page read as tuples of its columns and made into the rows
Django would have read, therapists included, without its per-row machinery
(selectors.courses_list_rows, courses_from_rows, patients_from_rows). The lists' answers are
DRF's own, byte for byte, over Django's own reads of the lists' own querysets."""

import datetime as dt

import pytest
from django.db.models import signals
from rest_framework import serializers
from rest_framework.test import APIClient

from courses import selectors
from courses.api.serializers import _common
from courses.choices import CourseStatus, Indication
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
        assert [row[0] for row in rows] == [p.pk for p in own], user.username
        assert _counted(count, rows) == own.count(), user.username
        assert [row[0] for row in rows[2:5]] == [p.pk for p in own[2:5]], user.username


def test_a_patient_registered_without_a_course_is_listed_and_counted(team):
    practice(team, 4)
    Patient.objects.bulk_create([bulk.patient_row("forms", 100, created_at=NOW, created_by=team["therapist"])])
    for user in team.values():
        rows, count = selectors.patients_list_paged(user=user)
        own = selectors.patients_list(user=user)
        assert [row[0] for row in rows] == [p.pk for p in own], user.username
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


def varied(team) -> Patient:
    """Make the practice's rows show every kind of value a list answers: a course discontinued (with
    its follow-up stopped), one backdated, one voided, one of indication "other", a voided patient,
    staff with and without credentials and names, and a patient therapist2 registered without a
    course (their list then takes its own form). Returns patient 0 (two courses)."""
    first = Patient.objects.get(mrn="FORMS-000000")
    courses = list(Course.objects.order_by("created_at", "id"))
    Course.objects.filter(pk=courses[0].pk).update(
        status=CourseStatus.DISCONTINUED,
        discontinued_reason="Synthetic: moved away.",
        follow_up_stopped_at=NOW - dt.timedelta(days=1, hours=3),
        follow_up_stopped_reason="Synthetic: declined.",
        status_changed_at=NOW - dt.timedelta(days=1, minutes=7),
    )
    Course.objects.filter(pk=courses[1].pk).update(start_backdated_reason="Synthetic: paper chart first.")
    Course.objects.filter(pk=courses[2].pk).update(voided_at=NOW, void_reason="Synthetic: opened twice.")
    Course.objects.filter(pk=courses[3].pk).update(indication=Indication.OTHER, indication_detail="Synthetic: OCD.")
    Patient.objects.filter(mrn="FORMS-000004").update(voided_at=NOW, void_reason="Synthetic: duplicate.")
    type(team["provider"]).objects.filter(pk=team["provider"].pk).update(last_name="Provider-Demo", credentials="MD")
    type(team["therapist"]).objects.filter(pk=team["therapist"].pk).update(credentials="LCSW")
    type(team["therapist2"]).objects.filter(pk=team["therapist2"].pk).update(first_name="")
    Patient.objects.bulk_create([bulk.patient_row("forms", 100, created_at=NOW, created_by=team["therapist2"])])
    return first


def _shown(row, names) -> dict:
    return {name: str(row) if name == "__str__" else getattr(row, name) for name in names}


@pytest.mark.parametrize("chosen", [{}, {"status": CourseStatus.DOSING}, {"patient": True}])
def test_a_pages_courses_are_those_django_reads(team, outsider, chosen):
    practice(team, 9)
    first = varied(team)
    chosen = {**chosen, "patient_id": first.pk} if chosen.pop("patient", None) else chosen
    course_fields = [f for f in selectors.patients_courses._COURSE_SHOWN if f not in ("patient", "medical_provider")]
    for user in (*team.values(), outsider):
        rows = selectors.courses_list_rows(user=user, **chosen)
        page = selectors.courses_from_rows(list(rows[1:7]), db=rows.db)
        own = list(selectors.courses_list(user=user, **chosen)[1:7])
        assert [c.pk for c in page] == [c.pk for c in own], user.username
        for course, read in zip(page, own, strict=True):
            assert course.get_deferred_fields() == read.get_deferred_fields()
            assert _shown(course, [*course_fields, "is_voided"]) == _shown(read, [*course_fields, "is_voided"])
            shown = [*selectors.patients_courses._PATIENT_SHOWN, "is_voided"]
            assert _shown(course.patient, shown) == _shown(read.patient, shown)
            assert course.patient.get_deferred_fields() == read.patient.get_deferred_fields()
            shown = [*selectors.patients_courses._STAFF_SHOWN, "__str__"]
            assert _shown(course.medical_provider, shown) == _shown(read.medical_provider, shown)
            mine, theirs = list(course.therapists.all()), list(read.therapists.all())
            assert [_shown(t, shown) for t in mine] == [_shown(t, shown) for t in theirs]
            assert [t.get_deferred_fields() for t in mine] == [t.get_deferred_fields() for t in theirs]
    assert selectors.courses_from_rows([]) == []


def test_a_model_something_listens_to_is_read_by_django_itself(team):
    """With a receiver of a model's init signals (which the fast reading skips), its rows are read
    by Model.from_db, the receiver called for each: the same rows and values."""
    practice(team, 4)
    varied(team)
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(type(instance))

    for model in (Course, Patient, type(team["lead"])):
        signals.post_init.connect(receiver, sender=model)
    try:
        rows = selectors.courses_list_rows(user=team["lead"])
        page = selectors.courses_from_rows(list(rows), db=rows.db)
        patients, _ = selectors.patients_list_paged(user=team["lead"])
        patient_page = selectors.patients_from_rows(list(patients), db=patients.db)
    finally:
        for model in (Course, Patient, type(team["lead"])):
            signals.post_init.disconnect(receiver, sender=model)
    assert {Course, Patient, type(team["lead"])} <= set(seen)
    own = list(selectors.courses_list(user=team["lead"]))
    course_fields = [f for f in selectors.patients_courses._COURSE_SHOWN if f not in ("patient", "medical_provider")]
    shown = [*selectors.patients_courses._STAFF_SHOWN, "__str__"]
    for course, read in zip(page, own, strict=True):
        assert _shown(course, course_fields) == _shown(read, course_fields)
        assert course.get_deferred_fields() == read.get_deferred_fields()
        assert _shown(course.patient, ["mrn", "date_of_birth", "voided_at"]) == _shown(
            read.patient, ["mrn", "date_of_birth", "voided_at"]
        )
        assert [_shown(t, shown) for t in course.therapists.all()] == [_shown(t, shown) for t in read.therapists.all()]
    fields = [*selectors.patients_courses._PATIENT_SHOWN]
    own_patients = selectors.patients_list(user=team["lead"])
    assert [_shown(p, fields) for p in patient_page] == [_shown(p, fields) for p in own_patients]


def test_a_pages_patients_are_those_django_reads(team, outsider):
    practice(team, 9)
    varied(team)
    shown = [*selectors.patients_courses._PATIENT_SHOWN, "is_voided", "pk"]
    for user in (*team.values(), outsider):
        rows, _ = selectors.patients_list_paged(user=user)
        page = selectors.patients_from_rows(list(rows[1:7]), db=rows.db)
        own = list(selectors.patients_list(user=user)[1:7])
        assert [_shown(p, shown) for p in page] == [_shown(p, shown) for p in own], user.username
        assert [p.get_deferred_fields() for p in page] == [p.get_deferred_fields() for p in own]


def drf_own_reads(monkeypatch):
    """The lists as they were answered before their fast paths: Django's own reads of the lists' own
    querysets (their rows, prefetch_related's therapists, the patient list's own form and count)
    and DRF's own Serializer.to_representation."""
    monkeypatch.setattr(
        _common.PlainOut,
        "to_representation",
        lambda self, instance: serializers.Serializer.to_representation(self, instance),
    )
    monkeypatch.setattr(selectors, "courses_list_rows", selectors.courses_list)
    monkeypatch.setattr(selectors, "courses_from_rows", lambda rows, db: rows)
    monkeypatch.setattr(selectors, "patients_list_paged", lambda user: (selectors.patients_list(user=user), None))
    monkeypatch.setattr(selectors, "patients_from_rows", lambda rows, db: rows)


def test_the_lists_answer_drfs_own_bytes(team, outsider, monkeypatch):
    practice(team, 9)
    first = varied(team)
    urls = [
        "/api/courses/",
        "/api/courses/?limit=4&offset=3",
        f"/api/courses/?status={CourseStatus.DOSING}",
        f"/api/courses/?status={CourseStatus.DISCONTINUED}",
        f"/api/courses/?patient={first.pk}",
        f"/api/courses/?patient={first.pk}&status={CourseStatus.DOSING}",
        "/api/patients/",
        "/api/patients/?limit=4&offset=2",
    ]
    readers = [*team.values(), outsider]
    fast = {(u.username, url): api(u).get(url) for u in readers for url in urls}
    drf_own_reads(monkeypatch)
    own = {(u.username, url): api(u).get(url) for u in readers for url in urls}
    for key, response in fast.items():
        assert response.status_code == (403 if key[0] == "outsider" else 200), key
        assert response.status_code == own[key].status_code, key
        assert response.content == own[key].content, key
    # The comparison compared something: every kind of value is in some answer.
    lead = fast[("forms-lead", "/api/courses/")].json()["results"]
    assert {c["status"] for c in lead} >= {CourseStatus.DOSING, CourseStatus.DISCONTINUED, CourseStatus.EVALUATION}
    assert any(c["is_voided"] for c in lead) and any(c["patient"]["is_voided"] for c in lead)
    assert any(c["follow_up_stopped_at"] for c in lead) and any(len(c["therapists"]) == 2 for c in lead)
    assert {t["name"] for c in lead for t in c["therapists"]} == {"Forms, LCSW", "forms-therapist2"}
    assert lead[0]["medical_provider"]["name"] == "Forms Provider-Demo, MD"
    assert {c["created_at"][-6:] for c in lead} == {"-04:00", "-05:00"}  # both sides of the clock change
    assert "FORMS-000100" in [p["mrn"] for p in fast[("forms-therapist2", "/api/patients/")].json()["results"]]


def test_the_lists_answer_the_counts_of_their_rows(team):
    practice(team, 9)
    for user in team.values():
        patients = api(user).get("/api/patients/?limit=3&offset=2").json()
        assert patients["count"] == selectors.patients_list(user=user).count()
        assert [p["id"] for p in patients["results"]] == [str(p.pk) for p in selectors.patients_list(user=user)[2:5]]
        courses = api(user).get("/api/courses/").json()
        assert courses["count"] == selectors.courses_list(user=user).count()
