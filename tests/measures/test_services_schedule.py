"""schedule_sync through course events: opening, doses logged and voided, stages, adjustments."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from courses import services as course_services
from courses.choices import CourseStatus, Indication
from devtools.builders import book_dose, dose_given
from measures import services
from measures.models import Administration, AdministrationStatus, MeasureSettings
from tests.measures.support import ZERO, ad_hoc, rows, summary
from tests.support import NOW

TODAY = dt.date(2026, 3, 10)
S = AdministrationStatus.SCHEDULED


def day(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


@pytest.fixture
def booking_course(cleared_course, therapist):
    """A cleared course in preparation, its baseline still open: doses can be booked; the first one
    is given once the baseline is answered (answer_baseline)."""
    course_services.course_change_status(course=cleared_course, by=therapist, to_status=CourseStatus.PREPARATION)
    note = course_services.preparatory_session_add(
        course=cleared_course, by=therapist, held_at=NOW - dt.timedelta(hours=1), note="Set and setting."
    )
    course_services.record_sign(record=note, by=therapist)
    cleared_course.refresh_from_db()
    return cleared_course


def answer_baseline(course, therapist):
    """The patient answers the baseline questionnaires still open (all zeros): the first dose may follow."""
    for administration in rows(course, timepoint="baseline"):
        if administration.status in (AdministrationStatus.SCHEDULED, AdministrationStatus.OPEN):
            services.response_enter(
                administration=administration, by=therapist, answers=ZERO[administration.instrument]
            )


def test_an_opened_course_gets_the_baseline_schedule(course):
    assert summary(course) == [("baseline", i, S) for i in ("gad7", "pcl5", "phq9")]
    for a in rows(course):
        assert (a.open_from, a.due_by, a.missed_after, a.target_date) == (TODAY, day(7), day(30), TODAY)
        assert a.created_at == NOW and a.dose_id is None


def test_sync_is_idempotent(course):
    assert services.schedule_sync(course=course) == {"created": 0, "moved": 0, "cancelled": 0, "closed": 0}
    assert Administration.objects.filter(course=course).count() == 3


def test_booking_a_dose_creates_its_pre_dose_slot_and_closes_baseline_on_that_day(
    booking_course, provider, therapist, clock
):
    dose = book_dose(booking_course, provider, therapist, NOW + dt.timedelta(days=10), now=NOW)
    pre = rows(booking_course, timepoint="pre_dose")
    assert [(a.instrument, a.dose_id, a.status) for a in pre] == [
        ("gad7", dose.pk, S),
        ("phq9", dose.pk, S),
    ]
    assert {(a.open_from, a.due_by, a.missed_after) for a in pre} == {(day(7), day(10), day(10))}
    assert {a.missed_after for a in rows(booking_course, timepoint="baseline")} == {day(10)}


def test_a_dose_within_7_days_of_baseline_gets_no_pre_dose_slot(booking_course, provider, therapist, clock):
    book_dose(booking_course, provider, therapist, NOW + dt.timedelta(days=4), now=NOW)
    assert rows(booking_course, timepoint="pre_dose") == []


def test_voiding_a_dose_cancels_its_pre_dose_slot_and_reopens_baseline(booking_course, provider, therapist, clock):
    dose = book_dose(booking_course, provider, therapist, NOW + dt.timedelta(days=10), now=NOW)
    course_services.record_void(record=dose, by=provider, reason="Booked on the wrong day.")
    pre = rows(booking_course, timepoint="pre_dose")
    assert {a.status for a in pre} == {AdministrationStatus.CANCELLED}
    assert {a.cancelled_reason for a in pre} == {"no longer on the schedule"}
    assert {a.missed_after for a in rows(booking_course, timepoint="baseline")} == {day(30)}


def test_voiding_the_dosing_session_cancels_the_slot_too(booking_course, provider, therapist, clock):
    dose = book_dose(booking_course, provider, therapist, NOW + dt.timedelta(days=10), now=NOW)
    course_services.record_void(record=dose.session, by=provider, reason="Session cancelled by the clinic.")
    assert {a.status for a in rows(booking_course, timepoint="pre_dose")} == {AdministrationStatus.CANCELLED}


def test_moving_to_integration_creates_end_of_course_and_follow_ups(booking_course, provider, therapist, clock):
    first = book_dose(booking_course, provider, therapist, NOW + dt.timedelta(days=8), now=NOW)
    answer_baseline(booking_course, therapist)
    clock.move_to(NOW + dt.timedelta(days=8, hours=1))
    dose_given(first, provider)
    assert rows(booking_course, timepoint="end_of_course") == []  # 1 of 6 planned, still dosing
    clock.move_to(NOW + dt.timedelta(days=9))
    course_services.course_change_status(course=booking_course, by=therapist, to_status=CourseStatus.INTEGRATION)
    got = {a.timepoint: a for a in rows(booking_course) if a.instrument == "phq9"}
    # Not PTSD and no baseline PCL-5: no PCL-5 after baseline.
    assert sorted(a.instrument for a in rows(booking_course, timepoint="month_3")) == ["gad7", "phq9"]
    end = day(8)
    assert (got["end_of_course"].open_from, got["end_of_course"].missed_after) == (
        end + dt.timedelta(days=1),
        end + dt.timedelta(days=14),
    )
    assert (got["month_1"].open_from, got["month_1"].missed_after) == (
        end + dt.timedelta(days=23),
        end + dt.timedelta(days=37),
    )
    assert (got["month_6"].open_from, got["month_6"].missed_after) == (
        end + dt.timedelta(days=150),
        end + dt.timedelta(days=210),
    )


def test_a_maintenance_dose_does_not_move_the_follow_ups(booking_course, provider, therapist, clock):
    first = book_dose(booking_course, provider, therapist, NOW + dt.timedelta(days=8), now=NOW)
    answer_baseline(booking_course, therapist)
    clock.move_to(NOW + dt.timedelta(days=8, hours=1))
    dose_given(first, provider)
    course_services.course_change_status(course=booking_course, by=therapist, to_status=CourseStatus.INTEGRATION)
    before = {(a.timepoint, a.instrument): (a.open_from, a.missed_after) for a in rows(booking_course)}
    clock.move_to(NOW + dt.timedelta(days=20))
    booster = book_dose(booking_course, provider, therapist, NOW + dt.timedelta(days=30))
    assert booster.is_maintenance
    clock.move_to(NOW + dt.timedelta(days=30, hours=1))
    dose_given(booster, provider)
    after = {(a.timepoint, a.instrument): (a.open_from, a.missed_after) for a in rows(booking_course)}
    assert {k: v for k, v in after.items() if k[0] != "pre_dose"} == {
        k: v for k, v in before.items() if k[0] != "pre_dose"
    }
    assert {a.dose_id for a in rows(booking_course, timepoint="pre_dose")} == {first.pk, booster.pk}


def test_discontinuing_cancels_every_future_administration(booking_course, provider, therapist, clock):
    book_dose(booking_course, provider, therapist, NOW + dt.timedelta(days=10), now=NOW)
    course_services.course_change_status(
        course=booking_course, by=therapist, to_status=CourseStatus.DISCONTINUED, reason="Moved away."
    )
    assert {a.status for a in rows(booking_course)} == {AdministrationStatus.CANCELLED}
    assert {a.cancelled_reason for a in rows(booking_course)} == {"course discontinued"}


def test_discontinuing_keeps_what_was_answered(course, therapist, clock):
    phq9 = rows(course, instrument="phq9")[0]
    services.response_enter(administration=phq9, by=therapist, answers=dict.fromkeys(range(1, 10), 1))
    course_services.course_change_status(
        course=course, by=therapist, to_status=CourseStatus.DISCONTINUED, reason="Withdrew."
    )
    assert summary(course, exclude_cancelled=False) == [
        ("baseline", "gad7", AdministrationStatus.CANCELLED),
        ("baseline", "pcl5", AdministrationStatus.CANCELLED),
        ("baseline", "phq9", AdministrationStatus.COMPLETED),
    ]


def test_voiding_the_course_cancels_its_schedule(course, therapist, clock):
    course_services.record_void(record=course, by=therapist, reason="Opened for the wrong patient.")
    assert {(a.status, a.cancelled_reason) for a in rows(course)} == {(AdministrationStatus.CANCELLED, "course voided")}


def test_a_ptsd_course_keeps_pcl5_after_baseline(patient, therapist, provider, clock):
    course = course_services.course_open(
        patient=patient, by=therapist, indication=Indication.PTSD, therapists=[therapist], medical_provider=provider
    )
    services.schedule_sync(course=course)
    assert [a.instrument for a in rows(course)] == ["gad7", "pcl5", "phq9"]


def test_a_baseline_pcl5_at_the_cutoff_brings_pcl5_into_the_follow_ups(booking_course, provider, therapist, clock):
    first = book_dose(booking_course, provider, therapist, NOW + dt.timedelta(days=8), now=NOW)
    pcl5 = rows(booking_course, instrument="pcl5")[0]
    services.response_enter(administration=pcl5, by=therapist, answers=dict.fromkeys(range(1, 21), 2))  # 40
    answer_baseline(booking_course, therapist)
    clock.move_to(NOW + dt.timedelta(days=8, hours=1))
    dose_given(first, provider)
    course_services.course_change_status(course=booking_course, by=therapist, to_status=CourseStatus.INTEGRATION)
    assert sorted(a.instrument for a in rows(booking_course, timepoint="month_1")) == ["gad7", "pcl5", "phq9"]


# --- adjustments by a clinician ---------------------------------------------------------------


def test_an_adjusted_window_survives_a_later_sync(booking_course, provider, therapist, clock):
    phq9 = rows(booking_course, timepoint="baseline", instrument="phq9")[0]
    services.administration_adjust(
        administration=phq9,
        by=therapist,
        reason="Patient travelling; answers on return.",
        target_date=day(12),
        open_from=day(10),
        due_by=day(12),
        missed_after=day(14),
    )
    book_dose(booking_course, provider, therapist, NOW + dt.timedelta(days=20), now=NOW)
    phq9.refresh_from_db()
    assert (phq9.open_from, phq9.missed_after, phq9.manually_adjusted) == (day(10), day(14), True)
    gad7 = rows(booking_course, timepoint="baseline", instrument="gad7")[0]
    assert gad7.missed_after == day(20)  # the event still moves the rest


@pytest.mark.parametrize(
    "window, field",
    [
        ((day(5), day(6), day(5), day(9)), "due_by"),  # open after due
        ((day(12), day(2), day(3), day(9)), "target_date"),  # target outside
        ((day(1), day(0), day(1), day(200)), "missed_after"),  # too long
        ((day(-5), day(-9), day(-6), day(-1)), "missed_after"),  # already closed
    ],
)
def test_adjust_refuses_bad_windows(course, therapist, clock, window, field):
    target_date, open_from, due_by, missed_after = window
    with pytest.raises(ValidationError) as caught:
        services.administration_adjust(
            administration=rows(course)[0],
            by=therapist,
            reason="x",
            target_date=target_date,
            open_from=open_from,
            due_by=due_by,
            missed_after=missed_after,
        )
    assert field in caught.value.message_dict


def test_adjust_and_cancel_need_a_clinician_on_the_course(course, other_therapist, outsider, therapist, clock):
    baseline = rows(course)[0]
    with pytest.raises(ValidationError) as exc:
        services.administration_cancel(administration=baseline, by=therapist, reason="Patient declined.")
    assert "waive it" in exc.value.messages[0]
    a = ad_hoc(course, therapist)
    for who in (other_therapist, outsider):
        with pytest.raises(PermissionDenied):
            services.administration_cancel(administration=a, by=who, reason="x")
    with pytest.raises(ValidationError):
        services.administration_cancel(administration=a, by=therapist, reason=" ")
    services.administration_cancel(administration=a, by=therapist, reason="Not needed for this patient.")
    a.refresh_from_db()
    assert a.status == AdministrationStatus.CANCELLED
    with pytest.raises(ValidationError):
        services.administration_cancel(administration=a, by=therapist, reason="again")


def test_an_added_questionnaire_is_not_touched_by_sync(course, therapist, clock):
    extra = services.administration_add(
        course=course, by=therapist, instrument="phq9", open_from=day(2), missed_after=day(9)
    )
    services.schedule_sync(course=course)
    extra.refresh_from_db()
    assert (extra.timepoint, extra.status, extra.open_from) == ("ad_hoc", S, day(2))


# --- the clinic's settings --------------------------------------------------------------------


def test_measure_settings_update_by_a_lead_only(lead, therapist, clock):
    with pytest.raises(PermissionDenied):
        services.measure_settings_update(by=therapist, changes={"reminder_after_days": 2})
    row, _moves = services.measure_settings_update(by=lead, changes={"reminder_after_days": 2, "month_1_tolerance": 5})
    assert (row.reminder_after_days, row.month_1_tolerance, row.updated_by) == (2, 5, lead)
    assert MeasureSettings.load().reminder_after_days == 2


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"colour": "red"}, "__all__"),
        ({"instruments_by_timepoint": {"baseline": ["bdi"]}}, "instruments_by_timepoint"),
        ({"instruments_by_timepoint": {"month_12": ["phq9"]}}, "instruments_by_timepoint"),
        ({"instruments_by_timepoint": ["phq9"]}, "instruments_by_timepoint"),
        ({"end_of_course_first_day": 10, "end_of_course_last_day": 5}, "end_of_course_last_day"),
        ({"link_expiry_days": 0}, "link_expiry_days"),
        ({"send_max_attempts": 50}, "send_max_attempts"),
        ({"month_3_day": 200}, "month_3_day"),  # after +6 months
        ({"month_1_day": 95}, "month_1_day"),
        ({"month_6_day": 80}, "month_6_day"),
        # Windows that overlap would let one score count for two timepoints.
        ({"month_1_tolerance": 20}, "month_1_tolerance"),  # opens on day 10, inside the end window
        ({"end_of_course_last_day": 30}, "end_of_course_last_day"),
        ({"month_1_tolerance": 60, "month_3_day": 60}, "month_1_tolerance"),
        ({"month_3_tolerance": 60}, "month_3_tolerance"),  # 30 to 150 overlaps +1 month (23 to 37)
        ({"end_of_course_first_day": 0}, "end_of_course_first_day"),
        ({"baseline_days_before_first_dose": 0}, "baseline_days_before_first_dose"),
    ],
)
def test_measure_settings_update_refuses_bad_values(lead, clock, fields, error):
    with pytest.raises(ValidationError) as caught:
        services.measure_settings_update(by=lead, changes=fields)
    assert error in caught.value.message_dict


def test_a_settings_change_reaches_open_courses_on_resync(course, lead, clock):
    services.measure_settings_update(by=lead, changes={"instruments_by_timepoint": {"baseline": ["phq9"]}})
    assert services.schedule_sync_open_courses() == 1
    assert summary(course) == [("baseline", "phq9", S)]


def test_a_partial_instrument_mapping_keeps_the_other_timepoints(lead, clock):
    services.measure_settings_update(by=lead, changes={"instruments_by_timepoint": {"pre_dose": ["phq9"]}})
    mapping = MeasureSettings.load().instruments_by_timepoint
    assert mapping["pre_dose"] == ["phq9"]
    assert mapping["month_6"] == ["phq9", "gad7", "pcl5"]


def test_an_added_questionnaire_is_due_at_the_end_of_its_window(course, therapist, clock):
    extra = services.administration_add(
        course=course, by=therapist, instrument="gad7", open_from=day(0), missed_after=day(6)
    )
    assert (extra.due_by, extra.missed_after) == (day(6), day(6))


def test_an_added_window_that_ends_before_it_starts_names_the_last_day(course, therapist, clock):
    with pytest.raises(ValidationError) as caught:
        services.administration_add(
            course=course, by=therapist, instrument="gad7", open_from=day(5), missed_after=day(2)
        )
    assert list(caught.value.message_dict) == ["missed_after"]


def test_a_window_already_closed_when_planned_is_not_created(booking_course, provider, therapist, clock):
    """A late event (here a dose logged for a session 60 days ago) does not create slots whose
    window closed before it was planned: they were never due, so they are not 'missed'."""
    from courses.models import Course

    for baseline in rows(booking_course, timepoint="baseline"):
        services.administration_waive(administration=baseline, by=therapist, reason="Course entered after the fact.")
    dose_given(book_dose(booking_course, provider, therapist, NOW - dt.timedelta(days=60)), provider)
    course_services.course_change_status(course=booking_course, by=therapist, to_status=CourseStatus.INTEGRATION)
    timepoints = set(Course.objects.get(pk=booking_course.pk).administrations.values_list("timepoint", flat=True))
    assert "end_of_course" not in timepoints  # days 1-14 after a dose 60 days ago: closed
    assert {"month_3", "month_6"} <= timepoints  # still ahead


def test_a_before_dosing_questionnaire_closes_when_its_dose_is_given(booking_course, provider, therapist, clock):
    # Pre-dose scores are read as the patient's state before the dose: answers after it must not
    # pass for them. The one answered before stays; the other is missed at the dose, and later
    # entry takes only a time before the dose (a paper form filled in the waiting room).
    answer_baseline(booking_course, therapist)
    starts = NOW + dt.timedelta(days=10)
    dose = book_dose(booking_course, provider, therapist, starts, now=NOW)
    gad7, phq9 = rows(booking_course, timepoint="pre_dose")
    services.response_enter(administration=gad7, by=therapist, answers=ZERO["gad7"], answered_at=starts, now=starts)
    dose = dose_given(dose, provider)
    phq9.refresh_from_db()
    assert (phq9.status, phq9.missed_at) == (AdministrationStatus.MISSED, dose.dosed_at)
    gad7.refresh_from_db()
    assert gad7.status == AdministrationStatus.COMPLETED
    assert services.schedule_sync(course=booking_course, now=dose.dosed_at)["closed"] == 0  # once

    later = dose.dosed_at + dt.timedelta(hours=2)
    for answered_at in (None, dose.dosed_at + dt.timedelta(minutes=1)):
        with pytest.raises(ValidationError) as refused:
            services.response_enter(
                administration=phq9, by=therapist, answers=ZERO["phq9"], answered_at=answered_at, now=later
            )
        assert "for before the dose" in refused.value.message_dict["answered_at"][0]
    phq9.refresh_from_db()
    assert phq9.status == AdministrationStatus.MISSED and not hasattr(phq9, "response")
    before = dose.dosed_at - dt.timedelta(minutes=20)
    services.response_enter(administration=phq9, by=therapist, answers=ZERO["phq9"], answered_at=before, now=later)
    phq9.refresh_from_db()
    assert phq9.status == AdministrationStatus.COMPLETED and phq9.response.answered_at == before


def test_a_dose_given_before_its_pre_dose_slot_was_planned_gets_none(booking_course, provider, therapist, lead, clock):
    # Three days after baseline: within the 7 days the baseline covers, so no pre-dose slot. The
    # interval is shortened after the dose was given: the plan now has a slot for it, which was
    # never due (it would open already closed), so none is made.
    answer_baseline(booking_course, therapist)
    dose = dose_given(book_dose(booking_course, provider, therapist, NOW + dt.timedelta(days=3), now=NOW), provider)
    assert rows(booking_course, timepoint="pre_dose") == []
    services.measure_settings_update(by=lead, changes={"pre_dose_min_interval_days": 1}, now=dose.dosed_at)
    services.schedule_sync(course=booking_course, now=dose.dosed_at)
    assert rows(booking_course, timepoint="pre_dose") == []
