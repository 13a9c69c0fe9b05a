"""The demo's questionnaires: the schedule the course events made, answered in the past."""

import datetime as dt

from django.utils import timezone

from courses.choices import CourseStatus
from courses.models import Course
from devtools import builders
from devtools.demo.clinic import Clinic


def answered_at(c: Clinic, administration) -> dt.datetime:
    """When the demo patient answered: before the dose for a pre-dose one, otherwise a day or
    two into the window, in the evening."""
    from measures.models import Timepoint

    if administration.timepoint == Timepoint.PRE_DOSE:
        day, at = administration.missed_after, dt.time(7, 30)
    else:
        day = min(administration.open_from + dt.timedelta(days=c.rng.randint(1, 3)), administration.missed_after)
        at = dt.time(18, c.rng.choice((0, 15, 30, 45)))
    return timezone.make_aware(dt.datetime.combine(day, at))


def build_measures(c: Clinic) -> None:
    """Answer the schedule the course events made, in the past, through the services."""
    from django.test.utils import override_settings

    from measures import services as measures
    from measures.models import FOLLOW_UP_TIMEPOINTS, Administration, AdministrationStatus, Timepoint

    today = timezone.localdate(c.now)
    courses = Course.objects.active().exclude(status=CourseStatus.EVALUATION).order_by("created_at")
    alert_course = None
    for course in courses:
        plan = c.plan(course)
        therapist = course.therapists.first()
        for administration in Administration.objects.filter(course=course).order_by("target_date", "instrument"):
            administration.refresh_from_db()  # a baseline PCL-5 can re-plan the rest
            # The doses were given before this pass, and a dose closes its "before dosing"
            # questionnaires (missed): the patient answered them that morning, entered here with
            # that time, before the dose, as a paper form would be.
            answered_before_its_dose = (
                administration.timepoint == Timepoint.PRE_DOSE and administration.status == AdministrationStatus.MISSED
            )
            if (
                administration.status not in (AdministrationStatus.SCHEDULED, AdministrationStatus.OPEN)
                and not answered_before_its_dose
            ):
                continue
            when = answered_at(c, administration)
            if when > c.now - dt.timedelta(hours=1) or administration.open_from > today:
                continue  # still ahead: the tick will invite the patient
            follow_up = administration.timepoint in FOLLOW_UP_TIMEPOINTS
            if c.rng.random() > (plan.answers_follow_ups if follow_up else 0.9):
                continue  # not answered: missed once its window closes
            if administration.timepoint == Timepoint.BASELINE:
                share = 1.0
            elif administration.timepoint == Timepoint.PRE_DOSE:
                given = course.doses.active().filter(session__starts_at__lt=when).count()
                share = 1 - (1 - plan.kept_at_end) * min(1.0, given / max(1, course.planned_dosing_sessions))
            else:
                # Durability: some drift back up over the months after the series.
                drift = {"end_of_course": 0, "month_1": 0.05, "month_3": 0.1, "month_6": 0.15}[administration.timepoint]
                share = min(1.0, plan.kept_at_end + drift * c.rng.random())
            total = round(plan.baseline[administration.instrument] * share + c.rng.randint(-1, 1))
            item_9 = 0
            if (
                alert_course is None
                and course.status == CourseStatus.FOLLOW_UP
                and (administration.instrument, administration.timepoint) == ("phq9", Timepoint.PRE_DOSE)
            ):
                alert_course, item_9 = course, 1
            answers = builders.answers_summing_to(administration.instrument, max(0, total), item_9=item_9, rng=c.rng)
            # The demo's past messages were sent back then: keep them out of today's mail output.
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                response = measures.response_enter(
                    administration=administration, by=therapist, answers=answers, answered_at=when, now=when
                )
                if item_9:
                    for message in response.safety_alert.messages.all():
                        measures.message_send(message_id=message.pk, now=when + dt.timedelta(minutes=1))
                    measures.safety_alert_acknowledge(
                        alert=response.safety_alert,
                        by=therapist,
                        now=when + dt.timedelta(hours=2),
                        action_note="Called the patient the same morning: passive thoughts, no plan or intent; "
                        "safety plan reviewed with the patient and the support person; dosing went ahead.",
                    )
    # Close the windows that have passed, as the tick would have done day by day.
    measures.administrations_mark_missed(now=c.now)
