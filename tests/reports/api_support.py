"""Small cohorts for the export, API and CSV tests, built through the real services.

Each course is placed in 2025 by passing every service the time the action happened (`now=`),
so that by the tests' clock (NOW, 10 March 2026) every follow-up window has closed.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from courses import services as course_services
from courses.choices import CourseStatus, Indication, RaceEthnicity, Sex
from devtools import builders
from devtools.builders import book_dose, dose_given
from measures import services as measure_services
from measures.models import Administration

START = dt.datetime(2025, 4, 1, 14, 0, tzinfo=dt.UTC)
FOLLOW_UP_DAYS = {"month_1": 30, "month_3": 90, "month_6": 180}


@dataclass
class Spec:
    """One course: who, what, and its scores by timepoint (baseline, end, month_1/3/6)."""

    indication: str = Indication.MDD_TRD
    sex: str = Sex.FEMALE
    race_ethnicity: str = RaceEthnicity.WHITE
    date_of_birth: dt.date = dt.date(1980, 5, 17)
    scores: dict = field(default_factory=dict)
    doses: int = 6
    maintenance_after_end: tuple[int, ...] = ()
    discontinue: bool = False


def build_course(spec: Spec, *, n: int, therapist, provider):
    """A course of `spec`, the n-th of its cohort (each starts 4 hours after the previous one)."""
    t0 = START + dt.timedelta(hours=4 * n)
    patient = builders.patient(
        by=therapist,
        now=t0,
        mrn=f"RPT-{n:04d}",
        given_name=f"Synthetic{n}",
        family_name="Report-Demo",
        date_of_birth=spec.date_of_birth,
        sex=spec.sex,
        race_ethnicity=spec.race_ethnicity,
        email=f"rpt{n}@example.invalid",
        weight_kg=70,
    )
    course = builders.course(patient, by=therapist, medical_provider=provider, indication=spec.indication, now=t0)
    builders.clear_course(
        course,
        provider,
        therapist,
        at=t0,
        evaluated_on=timezone.localdate(t0),
        diagnosis="Synthetic",
        psych_after=dt.timedelta(0),
        sign_delay=dt.timedelta(0),
    )
    course_services.course_change_status(course=course, by=therapist, to_status=CourseStatus.PREPARATION, now=t0)
    prep = course_services.preparatory_session_add(course=course, by=therapist, held_at=t0, note="Prep.", now=t0)
    course_services.record_sign(record=prep, by=therapist, now=t0)

    def enter(timepoint: str, at: dt.datetime) -> None:
        key = "end" if timepoint == "end_of_course" else timepoint
        for instrument, by_timepoint in spec.scores.items():
            if by_timepoint.get(key) is None:
                continue
            administration = Administration.objects.get(
                course=course, instrument=instrument, timepoint=timepoint, dose__isnull=True
            )
            measure_services.response_enter(
                administration=administration,
                by=therapist,
                answers=builders.answers_summing_to(instrument, by_timepoint[key]),
                answered_at=at,
                now=at,
            )

    enter("baseline", t0 + dt.timedelta(days=1))
    builders.waive_open_baselines(
        course, therapist, reason="No baseline in this spec.", now=t0 + dt.timedelta(days=1), missed=False
    )
    course_services.course_change_status(
        course=course, by=provider, to_status=CourseStatus.DOSING, now=t0 + dt.timedelta(days=1, hours=1)
    )
    last = None
    for k in range(2 if spec.discontinue else spec.doses):
        dose = book_dose(course, provider, therapist, t0 + dt.timedelta(days=3 + 2 * k), now=t0)
        dose_given(dose, provider)
        last = dose.session.starts_at
    if spec.discontinue:
        course_services.course_change_status(
            course=course, by=therapist, to_status=CourseStatus.DISCONTINUED, reason="Moved away.", now=last
        )
        return course
    course_services.course_change_status(
        course=course, by=therapist, to_status=CourseStatus.INTEGRATION, now=last + dt.timedelta(hours=4)
    )
    enter("end_of_course", last + dt.timedelta(days=4))
    for after in spec.maintenance_after_end:
        booster = book_dose(course, provider, therapist, last + dt.timedelta(days=after), now=last)
        dose_given(booster, provider)
    for timepoint, day in FOLLOW_UP_DAYS.items():
        enter(timepoint, last + dt.timedelta(days=day))
    return course


# The cohort most tests use: a responder who keeps it with maintenance then loses it, a
# remitter, one with no end-of-course score, a partial responder of a rare race/ethnicity, a
# discontinued course, and a PTSD course whose PHQ-9 baseline is below the cut-off.
COHORT = (
    Spec(
        indication=Indication.PTSD,
        scores={
            "phq9": {"baseline": 20, "end": 8, "month_1": 9, "month_3": 9, "month_6": 14},
            "gad7": {"baseline": 15, "end": 6, "month_1": 7, "month_3": 8, "month_6": 8},
            "pcl5": {"baseline": 50, "end": 30, "month_1": 28, "month_3": 30, "month_6": 40},
        },
        maintenance_after_end=(60,),
    ),
    Spec(
        sex=Sex.MALE,
        race_ethnicity=RaceEthnicity.BLACK,
        date_of_birth=dt.date(1995, 2, 1),
        scores={
            "phq9": {"baseline": 15, "end": 4, "month_1": 5, "month_3": 6},
            "gad7": {"baseline": 8, "end": 3, "month_1": 3, "month_3": 4},
            "pcl5": {"baseline": 20},
        },
    ),
    Spec(
        scores={
            "phq9": {"baseline": 12, "month_1": 10},
            "gad7": {"baseline": 11, "end": 9, "month_1": 9},
            "pcl5": {"baseline": 10},
        },
    ),
    Spec(
        indication=Indication.ANXIETY,
        race_ethnicity=RaceEthnicity.ASIAN,
        date_of_birth=dt.date(1960, 9, 9),
        scores={
            "phq9": {"baseline": 18, "end": 12, "month_1": 12, "month_3": 15, "month_6": 17},
            "gad7": {"baseline": 16, "end": 7, "month_1": 6, "month_3": 7, "month_6": 7},
            "pcl5": {"baseline": 15},
        },
    ),
    Spec(discontinue=True, scores={"phq9": {"baseline": 22}, "gad7": {"baseline": 14}, "pcl5": {"baseline": 5}}),
    Spec(
        indication=Indication.PTSD,
        sex=Sex.MALE,
        scores={
            "phq9": {"baseline": 9, "end": 5},
            "gad7": {"baseline": 12, "end": 5, "month_1": 5, "month_3": 5, "month_6": 5},
            "pcl5": {"baseline": 40, "end": 28, "month_1": 25, "month_3": 22, "month_6": 20},
        },
    ),
)


def build_cohort(*, therapist, provider, specs=COHORT) -> list:
    return [build_course(spec, n=n, therapist=therapist, provider=provider) for n, spec in enumerate(specs)]
