"""The demo practice: thirty-one patients' courses in every stage, a group dosing practice, amended
and voided records."""

import datetime as dt
from decimal import Decimal

from courses import services
from courses.choices import CourseStatus, Indication, PreparationTopic, SessionFormat, SuicideRisk, VitalPhase
from courses.models import Course
from devtools import builders
from devtools.demo.clinic import GROUP_SIZE, PATIENT_COUNT, Clinic
from devtools.demo.story import (
    DISSOCIATION,
    HYPERTENSIVE_CRISIS,
    NAUSEA,
    SUICIDALITY,
    advance,
    close_session,
    dose_fields,
    evaluate,
    individual_dose,
    medical_evaluation,
    open_course,
    prepare,
    psychiatric_evaluation,
    register,
    run_dose,
    schedule,
    through_integration,
)


def build_practice(c: Clinic) -> None:
    numbers = iter(range(1, PATIENT_COUNT + 1))

    def new_course(opened_days_ago: int, **kwargs):
        number = next(numbers)
        opened = c.at(opened_days_ago, 10)
        patient = register(c, number, opened)
        return open_course(c, patient, number, opened, **kwargs), opened

    # Completed: the whole course, follow-up to six months. The first patient came back.
    completed = []
    for days_ago in (300, 280, 260):
        course, opened = new_course(days_ago)
        last = through_integration(c, course, opened, [days_ago - d for d in (7, 10, 14, 17, 21, 24)], "iv")
        advance(course, course.therapists.first(), CourseStatus.FOLLOW_UP, c.at(last - 14, 12))
        advance(course, course.therapists.first(), CourseStatus.COMPLETED, c.at(last - 190, 12))
        completed.append(course)

    # Follow-up: one with a maintenance dose, one whose signed records were corrected.
    follow_up = []
    for days_ago, kind in ((110, "im"), (95, "sublingual"), (80, "iv"), (70, "esketamine")):
        course, opened = new_course(days_ago)
        last = through_integration(c, course, opened, [days_ago - d for d in (7, 10, 14, 17)], kind)
        advance(course, course.therapists.first(), CourseStatus.FOLLOW_UP, c.at(last - 14, 12))
        follow_up.append(course)
    individual_dose(c, follow_up[0], c.at(12, 10), "im")  # in follow-up, so recorded as maintenance
    acknowledged = individual_dose(
        c, follow_up[1], c.at(20, 10), "sublingual", events=[(dt.timedelta(minutes=90), SUICIDALITY)], discharge=False
    )
    services.adverse_event_acknowledge(
        event=acknowledged.adverse_events.get(),
        by=c.lead,
        now=c.at(20, 16),
        note="Spoke with the provider; admission confirmed; safety plan reviewed.",
    )
    amend_signed_records(c, follow_up[2])

    # Integration.
    for days_ago in (34, 31, 29):
        course, opened = new_course(days_ago)
        through_integration(c, course, opened, [days_ago - d for d in (7, 10, 14, 17)], "iv")

    # Dosing, individual: an over-maximum dose, an alert, a serious event not yet acknowledged,
    # and one session booked for later today.
    course, opened = new_course(22)
    evaluate(c, course, opened)
    prepare(c, course, opened, sessions=2)
    individual_dose(c, course, c.at(15, 9), "iv")
    individual_dose(
        c, course, c.at(11, 9), "iv", over_maximum=True, alert=True, events=[(dt.timedelta(minutes=30), NAUSEA)]
    )
    course, opened = new_course(20)
    evaluate(c, course, opened)
    prepare(c, course, opened, waive="pcl5")
    individual_dose(c, course, c.at(13, 11), "esketamine", events=[(dt.timedelta(minutes=20), DISSOCIATION)])
    individual_dose(c, course, c.at(9, 11), "esketamine", hold=True)
    individual_dose(c, course, c.at(2, 11), "esketamine", events=[(dt.timedelta(minutes=35), HYPERTENSIVE_CRISIS)])
    course, opened = new_course(18)
    evaluate(c, course, opened)
    prepare(c, course, opened)
    individual_dose(c, course, c.at(9, 14), "sublingual", discharge_exception=True)
    booked_today(c, course)
    course, opened = new_course(16, indication=Indication.PTSD)
    evaluate(
        c,
        course,
        opened,
        decision="cleared_with_cautions",
        caution_substance_use_history=True,
        caution_note="Alcohol use disorder in sustained remission (4 years); no take-home doses.",
    )
    prepare(c, course, opened)
    individual_dose(c, course, c.at(6, 9), "im")

    # Stalled: two of six doses, the last seven weeks ago, never closed. The worklist asks staff to
    # resume or close it; the report counts it as ended on its last dose (DOMAIN §6), and its
    # follow-up questionnaires are planned, as the daily beat task would have done.
    course, opened = new_course(60)
    evaluate(c, course, opened)
    prepare(c, course, opened)
    individual_dose(c, course, c.at(52, 10), "iv")
    individual_dose(c, course, c.at(49, 10), "iv")
    from measures.services import schedule_sync_stalled  # measures builds on the course record

    schedule_sync_stalled(now=c.now)

    # Dosing, group: five group-format courses, a signed session last week and one under way now.
    build_group(c, [new_course(26, group=True) for _ in range(GROUP_SIZE)])

    # Preparation: one note entered on the wrong course and voided.
    prepared = []
    for days_ago, sessions in ((12, 2), (11, 1), (10, 1), (9, 1)):
        course, opened = new_course(days_ago)
        evaluate(c, course, opened)
        prepare(c, course, opened, sessions=sessions, sign=days_ago != 9)
        prepared.append(course)
    void_wrong_note(c, prepared[-1])

    # Evaluation: nothing yet; a screen not decided; cautions, cleared and signed; a returning patient.
    new_course(3)
    course, opened = new_course(5)
    medical_evaluation(c, course, opened + dt.timedelta(days=1), decision="pending", sign=False)
    course, opened = new_course(6)
    medical_evaluation(c, course, opened + dt.timedelta(days=1))
    psychiatric_evaluation(c, course, opened + dt.timedelta(days=2), risk=SuicideRisk.MODERATE)
    course, opened = new_course(7, indication=Indication.ANXIETY)
    evaluate(
        c,
        course,
        opened,
        decision="cleared_with_cautions",
        caution_uncontrolled_hypertension=True,
        caution_note="Hypertension treated; BP controlled on review; pre-dose hold applies as usual.",
    )
    returning = completed[0].patient
    services.course_open(
        patient=returning,
        by=completed[0].therapists.first(),
        now=c.at(4, 10),
        indication=Indication.MDD_TRD,
        therapists=list(completed[0].therapists.all()),
        medical_provider=completed[0].medical_provider,
        indication_detail="Relapse after 8 months",
    )

    # Discontinued: not cleared (absolute contraindication), moved away, withdrew during dosing.
    course, opened = new_course(40)
    medical_evaluation(
        c, course, opened + dt.timedelta(days=1), decision="not_cleared", ci_aneurysmal_vascular_disease=True
    )
    advance_discontinued(
        course,
        c,
        opened + dt.timedelta(days=2),
        "Not cleared: abdominal aortic aneurysm "
        "(absolute contraindication). Referred back to the treating psychiatrist.",
    )
    course, opened = new_course(45)
    evaluate(c, course, opened)
    prepare(c, course, opened)
    advance_discontinued(course, c, opened + dt.timedelta(days=8), "Patient moved out of state before dosing.")
    course, opened = new_course(50)
    evaluate(c, course, opened)
    prepare(c, course, opened)
    individual_dose(c, course, c.at(43, 9), "iv", events=[(dt.timedelta(minutes=25), DISSOCIATION)])
    individual_dose(c, course, c.at(40, 9), "iv")
    advance_discontinued(course, c, c.at(37, 12), "Patient withdrew: found the dissociation too distressing.")
    assert next(numbers, None) is None, "every demo patient has a course"


def advance_discontinued(course: Course, c: Clinic, at: dt.datetime, reason: str) -> None:
    services.course_change_status(
        course=course, by=course.therapists.first(), to_status=CourseStatus.DISCONTINUED, reason=reason, now=at
    )


def booked_today(c: Clinic, course: Course) -> None:
    """A session later today with its dose planned: the provider's day view shows it."""
    start = (c.now + dt.timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    session = builders.dosing_session(
        provider=course.medical_provider,
        facilitators=[course.therapists.first()],
        start=start,
        hours=3,
        now=c.now,
        location="Room 1 (demo)",
    )
    builders.dose_planned(
        session=session,
        course=course,
        provider=course.medical_provider,
        now=c.now,
        **dose_fields(c, course, "sublingual", start),
    )


def build_group(c: Clinic, courses_opened) -> None:
    provider = c.providers[0]
    courses = [course for course, _ in courses_opened]
    for course, opened in courses_opened:
        evaluate(c, course, opened)
        prepare(c, course, opened)
    for course in courses:
        services.course_change_status(course=course, by=provider, to_status=CourseStatus.DOSING, now=c.at(7, 9))

    last_week = c.at(7, 10)
    session = schedule(c, provider, c.therapists, last_week, SessionFormat.GROUP)
    doses = [
        builders.dose_planned(
            session=session,
            course=course,
            provider=provider,
            now=last_week - dt.timedelta(minutes=20),
            **dose_fields(c, course, "im", last_week),
        )
        for course in courses
    ]
    for i, dose in enumerate(doses):
        run_dose(c, dose, last_week, events=[(dt.timedelta(minutes=25), NAUSEA)] if i == 2 else ())
    close_session(
        session,
        doses,
        c.therapists[0],
        last_week + dt.timedelta(hours=2, minutes=40),
        "Synthetic group facilitation note: shared intention circle, eyeshades and music, group sharing.",
    )

    # Under way now: one pre-dose hold overridden, one reading above the alert threshold,
    # three discharged, two still being monitored; the note not written yet.
    start = (c.now - dt.timedelta(minutes=100)).replace(second=0, microsecond=0)
    session = builders.dosing_session(
        provider=provider,
        facilitators=c.therapists,
        start=start,
        hours=3,
        now=c.at(7, 14),
        format=SessionFormat.GROUP,
        location="Group room (demo)",
    )
    doses = [
        builders.dose_planned(
            session=session,
            course=course,
            provider=provider,
            now=start - dt.timedelta(minutes=20),
            **dose_fields(c, course, "im", start),
        )
        for course in courses
    ]
    for i, dose in enumerate(doses):
        run_dose(
            c,
            dose,
            start,
            hold=i == 0,
            alert=i == 1,
            close_alert=False,
            discharge=i >= 2,
            events=[(dt.timedelta(minutes=20), DISSOCIATION)] if i == 3 else (),
        )


def amend_signed_records(c: Clinic, course: Course) -> None:
    provider = course.medical_provider
    evaluation = course.medical_evaluations.get()
    services.record_amend(
        record=evaluation,
        by=provider,
        now=evaluation.signed_at + dt.timedelta(days=2),
        changes={"weight_kg": evaluation.weight_kg + Decimal("2.5")},
        reason="Weight transcribed from an old scale reading; corrected from the clinic scale.",
    )
    dose = course.doses.order_by("session__starts_at").first()
    reading = dose.vitals.filter(phase=VitalPhase.DURING).get()
    services.record_amend(
        record=reading,
        by=provider,
        now=dose.signed_at + dt.timedelta(hours=3),
        changes={"heart_rate": reading.heart_rate + 10},
        reason="Heart rate typed from the wrong monitor line; corrected from the monitor log.",
    )


def void_wrong_note(c: Clinic, course: Course) -> None:
    note = course.preparatory_sessions.get()
    services.record_void(
        record=note,
        by=note.therapist,
        now=note.held_at + dt.timedelta(hours=3),
        reason="Entered on the wrong patient's course.",
    )
    held = note.held_at + dt.timedelta(days=1)
    right = services.preparatory_session_add(
        course=course,
        by=note.therapist,
        now=held + dt.timedelta(hours=1),
        held_at=held,
        topics=[PreparationTopic.EFFECTS_AND_RISKS, PreparationTopic.SET_AND_SETTING],
        note="Synthetic preparatory note, entered on the right course.",
    )
    services.record_sign(record=right, by=note.therapist, now=held + dt.timedelta(hours=1, minutes=5))
