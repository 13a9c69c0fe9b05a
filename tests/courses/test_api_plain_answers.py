"""The course list and the timeline answer the same bytes by their fast paths as by DRF's own
serializers and bedside's own queries, and the timeline reads a fixed number of queries.

The fast paths: PlainOut (courses/api/serializers/_common.py) builds a serializer's answer from a
plan made once per serializer, and many_out reuses one nested serializer per parent; the timeline
hands bedside.dose_states the rows it has already read (loaded=True, CourseRecords) instead of
letting it read them again. Each is compared here with the way it replaces, on a course that has
every kind of row the timeline shows: two therapists, a given and discharged dose, a dose on hold
with a lapsed and a standing override, an alert, a serious adverse event, an amendment, a voided
dose and a voided reading."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from courses import bedside, selectors, services
from courses.api.serializers import _common
from courses.choices import Indication, Sex
from courses.models import HoldOverride, InSessionAlert
from devtools import builders
from devtools.builders import SERIOUS_EVENT, dose_given, dose_planned, normal_vitals, session

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def busy_course(n: int, *, clock, therapist, other_therapist, provider, doses_before: int = 1):
    """A cleared, prepared course of two therapists with `doses_before` given and discharged doses,
    then a dose on hold now (overridden twice, the first override lapsed by a correction), with a
    low-oxygen reading, a serious adverse event, a voided reading and a voided dose."""
    patient = builders.patient(
        by=therapist,
        mrn=f"PLN-{n:04d}",
        given_name=f"Synthetic{n}",
        family_name="Plain-Demo",
        date_of_birth=dt.date(1980, 5, 5),
        sex=Sex.FEMALE,
        email=f"plain{n}@example.invalid",
        weight_kg=Decimal("70"),
    )
    course = builders.course(
        patient,
        by=therapist,
        medical_provider=provider,
        therapists=[other_therapist, therapist],
        indication=Indication.PTSD,
    )
    builders.clear_course(course, provider, therapist, diagnosis="PTSD")
    builders.prepare_course(course, therapist)
    now = timezone.now()
    for day in range(doses_before):
        start = now - dt.timedelta(days=30 - 7 * day)
        dose_given(
            dose_planned(
                session=session(therapist=therapist, provider=provider, start=start), course=course, provider=provider
            ),
            provider,
        )
    dose = dose_planned(session=session(therapist=therapist, provider=provider), course=course, provider=provider)

    def reading(**values):
        clock.shift(dt.timedelta(minutes=1))  # each reading at its own minute: their order is their times'
        return services.vital_reading_add(dose=dose, by=provider, phase="pre_dose", **normal_vitals(**values))

    high = reading(systolic_bp=150, diastolic_bp=85)
    services.dosing_hold_override(dose=dose, by=provider, reason="Anxious; home BP normal.")
    services.record_amend(
        record=high, by=provider, changes={"systolic_bp": 175, "diastolic_bp": 105}, reason="Transcribed wrongly."
    )
    reading(systolic_bp=165, diastolic_bp=100)
    services.dosing_hold_override(dose=dose, by=provider, reason="Rechecked by hand; white-coat pattern known.")
    reading(spo2=86)
    slip = reading(heart_rate=77)
    services.record_void(record=slip, by=provider, reason="Synthetic: entered on the wrong patient.")
    now = timezone.now()
    services.adverse_event_add(dose=dose, by=provider, onset_at=now, now=now, **SERIOUS_EVENT)
    later = session(therapist=therapist, provider=provider, start=now + dt.timedelta(days=2))
    spare = dose_planned(session=later, course=course, provider=provider)
    services.record_void(record=spare, by=provider, reason="Synthetic: booked twice.")
    return course, dose


@pytest.fixture
def busy(clock, therapist, other_therapist, provider):
    course, dose = busy_course(1, clock=clock, therapist=therapist, other_therapist=other_therapist, provider=provider)
    # The scenario holds what it is meant to: otherwise the comparisons below compare little.
    assert HoldOverride.objects.filter(dose=dose, lapsed_at__isnull=False).exists()
    assert HoldOverride.objects.filter(dose=dose, lapsed_at__isnull=True).exists()
    assert InSessionAlert.objects.filter(dose=dose).exists()
    assert course.therapists.count() == 2
    return course, dose


def drf_own(monkeypatch):
    """Answer with DRF's own Serializer.to_representation and ListSerializer instead of the fast paths."""
    monkeypatch.setattr(
        _common.PlainOut,
        "to_representation",
        lambda self, instance: serializers.Serializer.to_representation(self, instance),
    )

    def many(parent, serializer_class, rows, *, context=None):
        return serializer_class(rows, many=True, context=context or {}).data

    monkeypatch.setattr(_common, "many_out", many)
    monkeypatch.setattr("courses.api.serializers.dosing.many_out", many)


def test_the_fast_answers_are_drfs_own_byte_for_byte(busy, therapist, other_therapist, provider, lead, monkeypatch):
    course, _ = busy
    urls = [
        "/api/courses/",
        "/api/courses/?limit=1&offset=0",
        f"/api/courses/{course.pk}/",
        f"/api/courses/{course.pk}/timeline/",
        # The course as a record: its therapists are not prefetched there.
        f"/api/records/course/{course.pk}/",
    ]
    readers = [therapist, other_therapist, provider, lead]
    fast = {(u.pk, url): api(u).get(url) for u in readers for url in urls}
    drf_own(monkeypatch)
    own = {(u.pk, url): api(u).get(url) for u in readers for url in urls}
    for key, response in fast.items():
        assert response.status_code == 200, key
        assert response.content == own[key].content, key
    timeline = fast[(therapist.pk, f"/api/courses/{course.pk}/timeline/")].json()
    assert len(timeline["course"]["therapists"]) == 2
    assert any(d["hold_overrides"] for d in timeline["doses"]) and any(d["vitals"] for d in timeline["doses"])
    assert any(v["amendments"] for d in timeline["doses"] for v in d["vitals"])


def test_dose_states_from_loaded_rows_are_the_ones_it_reads(busy, other_therapist, therapist, provider):
    course, _ = busy
    data = selectors.course_timeline_data(course)
    now = timezone.now()
    records = bedside.CourseRecords(
        medical_evaluations=data["medical_evaluations"],
        psychiatric_evaluations=data["psychiatric_evaluations"],
        preparatory_sessions=data["preparatory_sessions"],
        doses=data["doses"],
    )
    loaded = bedside.dose_states(data["doses"], now=now, loaded=True, records={course.pk: records})
    read = bedside.dose_states(data["doses"], now=now)
    assert loaded.keys() == read.keys() and len(read) == 3
    for pk, state in read.items():
        other = loaded[pk]
        assert other.readings == state.readings
        assert other.hold == state.hold
        assert other.blockers == state.blockers and other.discharge == state.discharge
        assert other.monitoring == state.monitoring
        assert [a.pk for a in other.open_alerts] == [a.pk for a in state.open_alerts]
        assert [o.pk for o in other.overrides] == [o.pk for o in state.overrides]
        assert other.open_serious == state.open_serious
        assert other.course.blockers == state.course.blockers
        assert other.course.screen == state.course.screen and other.course.psych == state.course.psych
    assert any(s.open_serious for s in read.values()) and any(s.overrides for s in read.values())
    assert any(s.open_alerts for s in read.values())


def test_the_timeline_reads_the_same_queries_whatever_the_course_holds(clock, therapist, other_therapist, provider):
    def count(course) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api(therapist).get(f"/api/courses/{course.pk}/timeline/").status_code == 200
        return len(ctx.captured_queries)

    small, _ = busy_course(
        1, clock=clock, therapist=therapist, other_therapist=other_therapist, provider=provider, doses_before=1
    )
    large, _ = busy_course(
        2, clock=clock, therapist=therapist, other_therapist=other_therapist, provider=provider, doses_before=4
    )
    assert count(small) == count(large) <= 20
