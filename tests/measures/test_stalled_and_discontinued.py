"""No silent exits (DOMAIN §6): a course discontinued part-way keeps its follow-up questionnaires
from its last dose unless staff stop them with a reason; a course that stops dosing without being
closed stalls, gets its follow-ups, is on the worklist, and resumes when it doses again."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from courses import services as course_services
from courses.choices import CourseStatus
from courses.models import AuditEvent, Course
from courses.selectors import stalled_courses
from devtools.builders import book_dose, dose_given
from measures import services
from measures.models import AdministrationStatus, MeasureSettings
from measures.schedule import EndReason, course_end
from measures.selectors import worklist_for
from tests.measures.support import rows
from tests.measures.test_services_schedule import answer_baseline, booking_course  # noqa: F401 (fixture)
from tests.support import NOW

FOLLOW_UPS = {"end_of_course", "month_1", "month_3", "month_6"}
LIVE = (AdministrationStatus.SCHEDULED, AdministrationStatus.OPEN)


@pytest.fixture
def dosed_once(booking_course, provider, therapist, clock):  # noqa: F811
    """A course with its first of six doses given on day 8 (NOW + 8 days)."""
    dose = book_dose(booking_course, provider, therapist, NOW + dt.timedelta(days=8), now=NOW)
    answer_baseline(booking_course, therapist)
    clock.move_to(NOW + dt.timedelta(days=8, hours=1))
    dose_given(dose, provider)
    booking_course.refresh_from_db()
    return booking_course


def live(course) -> set[str]:
    return {a.timepoint for a in rows(course) if a.status in LIVE}


def last_dose_day(course) -> dt.date:
    return (NOW + dt.timedelta(days=8)).date()


def test_discontinued_part_way_keeps_its_follow_ups_counted_from_its_last_dose(dosed_once, therapist, clock):
    assert not live(dosed_once) & FOLLOW_UPS  # 1 of 6 given: still in the series
    clock.move_to(NOW + dt.timedelta(days=10))
    course_services.course_change_status(
        course=dosed_once, by=therapist, to_status=CourseStatus.DISCONTINUED, reason="Could not attend."
    )
    assert live(dosed_once) == FOLLOW_UPS
    month_1 = rows(dosed_once, timepoint="month_1", instrument="phq9")[0]
    assert month_1.target_date == last_dose_day(dosed_once) + dt.timedelta(days=30)
    # The tick opens it when its window opens: the discontinued course still gets its questionnaire.
    clock.move_to(NOW + dt.timedelta(days=8 + 23, hours=2))
    services.tick()
    month_1.refresh_from_db()
    assert month_1.status == AdministrationStatus.OPEN


def test_stopping_follow_up_on_discontinuing_needs_its_own_reason(dosed_once, therapist, clock):
    with pytest.raises(ValidationError) as refused:
        course_services.course_change_status(
            course=dosed_once, by=therapist, to_status=CourseStatus.DISCONTINUED, reason="Moved.", stop_follow_up=True
        )
    assert "follow_up_stop_reason" in refused.value.message_dict
    dosed_once.refresh_from_db()
    assert dosed_once.status != CourseStatus.DISCONTINUED  # nothing half-done
    course_services.course_change_status(
        course=dosed_once,
        by=therapist,
        to_status=CourseStatus.DISCONTINUED,
        reason="Moved abroad.",
        stop_follow_up=True,
        follow_up_stop_reason="Declined further questionnaires.",
    )
    dosed_once.refresh_from_db()
    assert dosed_once.follow_up_stopped_reason == "Declined further questionnaires."
    assert not live(dosed_once)
    assert {a.cancelled_reason for a in rows(dosed_once) if a.status == AdministrationStatus.CANCELLED} >= {
        "follow-up stopped"
    }
    assert AuditEvent.objects.filter(record_id=str(dosed_once.pk), detail="follow-up stopped").count() == 1
    services.tick()
    assert not live(dosed_once)


def test_stop_follow_up_only_applies_to_a_discontinuation(dosed_once, therapist):
    with pytest.raises(ValidationError) as refused:
        course_services.course_change_status(
            course=dosed_once, by=therapist, to_status=CourseStatus.INTEGRATION, stop_follow_up=True
        )
    assert "stop_follow_up" in refused.value.message_dict


def test_follow_up_stopped_later_through_the_api_and_refused_on_an_open_course(dosed_once, therapist, clock):
    client = APIClient()
    client.force_authenticate(therapist)
    url = f"/api/courses/{dosed_once.pk}/follow-up-stop/"
    refused = client.post(url, {"follow_up_stop_reason": "Declined."}, format="json")
    assert refused.status_code == 400 and "follow_up_stop_reason" in refused.json()["errors"]
    course_services.course_change_status(
        course=dosed_once, by=therapist, to_status=CourseStatus.DISCONTINUED, reason="Could not attend."
    )
    assert client.post(url, {}, format="json").json()["errors"].keys() >= {"follow_up_stop_reason"}
    done = client.post(url, {"follow_up_stop_reason": "Asked not to be contacted."}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["follow_up_stopped_reason"] == "Asked not to be contacted."
    assert not live(dosed_once)
    again = client.post(url, {"follow_up_stop_reason": "Again."}, format="json")
    assert again.status_code == 400 and "already" in str(again.json())


def test_follow_up_stopped_from_the_course_page(dosed_once, therapist, client, clock):
    course_services.course_change_status(
        course=dosed_once, by=therapist, to_status=CourseStatus.DISCONTINUED, reason="Could not attend."
    )
    client.force_login(therapist)
    page = client.get(f"/courses/{dosed_once.pk}/")
    assert b"continue (end of course, +1, +3, +6 months)" in page.content
    empty = client.post(f"/courses/{dosed_once.pk}/follow-up-stop/", {"follow_up_stop_reason": ""})
    assert empty.status_code == 400 and b"Say why the follow-up questionnaires stop" in empty.content
    done = client.post(f"/courses/{dosed_once.pk}/follow-up-stop/", {"follow_up_stop_reason": "Declined."})
    assert done.status_code == 302
    assert b"stopped" in client.get(f"/courses/{dosed_once.pk}/").content


def test_a_course_that_stops_dosing_stalls_gets_its_follow_ups_and_is_on_the_worklist(
    dosed_once, therapist, provider, clock
):
    limit = MeasureSettings.load().stall_after_days
    # On the limit's last day it has not stalled; the day after, it has.
    clock.move_to(NOW + dt.timedelta(days=8 + limit, hours=2))
    assert services.schedule_sync_stalled() == 0
    assert not live(dosed_once) & FOLLOW_UPS
    assert worklist_for(user=therapist).stalled == []
    clock.move_to(NOW + dt.timedelta(days=8 + limit + 1, hours=2))
    assert services.schedule_sync_stalled() == 1
    assert {"month_1", "month_3", "month_6"} <= live(dosed_once)  # end of course: its window had closed
    worklist = worklist_for(user=therapist)
    assert [c.pk for c in worklist.stalled] == [dosed_once.pk]
    assert worklist.stalled[0].days_without_dose == limit + 1

    # Resumed: the next dose is given; the course runs again and its follow-ups wait for its end.
    booked_at = NOW + dt.timedelta(days=8 + limit + 1, hours=2)
    resumed = book_dose(dosed_once, provider, therapist, NOW + dt.timedelta(days=8 + limit + 2), now=booked_at)
    clock.move_to(NOW + dt.timedelta(days=8 + limit + 2, hours=1))
    dose_given(resumed, provider)
    assert not live(dosed_once) & FOLLOW_UPS
    assert worklist_for(user=therapist).stalled == []


def test_the_stalled_query_agrees_with_the_schedule_rule(dosed_once, therapist, clock):
    limit = 28
    for days in (limit - 1, limit, limit + 1, limit + 30):
        today = last_dose_day(dosed_once) + dt.timedelta(days=days)
        in_query = stalled_courses(Course.objects.all(), today=today, stall_after_days=limit).exists()
        end = course_end(services.course_facts(dosed_once, today), limit)
        assert in_query == (end is not None and end.why == EndReason.STALLED), days


def test_a_discontinuation_cannot_be_back_dated_before_a_dose_given(dosed_once, therapist, provider, clock):
    second = book_dose(dosed_once, provider, therapist, NOW + dt.timedelta(days=11), now=NOW + dt.timedelta(days=9))
    clock.move_to(NOW + dt.timedelta(days=11, hours=1))
    dose_given(second, provider)
    clock.move_to(NOW + dt.timedelta(days=14))
    with pytest.raises(ValidationError) as refused:
        course_services.course_change_status(
            course=dosed_once,
            by=therapist,
            to_status=CourseStatus.DISCONTINUED,
            reason="Stopped coming.",
            effective_on=(NOW + dt.timedelta(days=10)).date(),
            late_entry_reason="Entered late.",
        )
    assert "A dose was given on" in " ".join(refused.value.message_dict["effective_on"])
    # On the day of the last dose or after: accepted, and the follow-ups count from that dose.
    course_services.course_change_status(
        course=dosed_once,
        by=therapist,
        to_status=CourseStatus.DISCONTINUED,
        reason="Stopped coming.",
        effective_on=(NOW + dt.timedelta(days=12)).date(),
        late_entry_reason="Entered late.",
    )
    assert live(dosed_once) >= {"month_1", "month_3", "month_6"}
