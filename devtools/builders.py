"""Builders of synthetic clinic data, through the real services, shared by the tests and the demo.

Every builder goes through `courses.services` and `measures.services`, so what it makes obeys
every rule a clinician's entry obeys (a builder that a rule refuses raises, as the service does).
Names are plainly fake (MRNs like TEST-0001, emails @example.invalid, "Synthetic" and "-Demo").

Times: a builder given `at` (or `now`) places the action then, as the demo and the report tests do
to build history; without it, the action happens at `timezone.now()` (the tests' frozen clock).

- staff: `staff(username, role, first_name, last_name)`
- a patient and a course: `patient(...)`, `course(...)`
- the screen: `SIGNABLE_EVALUATION`, `medical_evaluation(...)`, `psychiatric_evaluation(...)`,
  `clear_course(...)` (both signed, cleared for dosing), `prepare_course(...)` (what the first dose
  waits for besides), `cleared_course_for(n=...)` (a new patient's cleared course)
- doses: `dosing_session(...)`, `dose_planned(...)`, `book_dose(...)` (a session with the dose in it),
  `normal_vitals(...)`, `pre_dose_vitals(...)`, `dose_given(...)` (vitals, the dose, discharge),
  `monitor(...)`, `DISCHARGE_CHECKLIST`, `SERIOUS_EVENT`, `group_session_with(...)`
- questionnaires: `answers_summing_to(instrument, total)`
"""

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from courses import rules, selectors, services
from courses.choices import Indication, SessionFormat, Sex, VitalPhase

# The password of every account `staff()` makes (test and fuzz databases only).
PASSWORD = "correct-horse-battery-staple"


# --- staff, patients, courses ---------------------------------------------------------------------


def staff(username: str, role: str, first_name: str, last_name: str, credentials: str = "", **extra) -> User:
    """A staff account with PASSWORD and an @kapclinic.invalid email (`role` "" for no clinical role)."""
    return User.objects.create_user(
        username=username,
        password=PASSWORD,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email=f"{username}@kapclinic.invalid",
        credentials=credentials,
        **extra,
    )


def patient(
    *,
    by,
    mrn: str,
    given_name: str,
    family_name: str,
    email: str,
    date_of_birth: dt.date = dt.date(1980, 5, 17),
    sex: str = Sex.FEMALE,
    weight_kg=Decimal("70.0"),
    now: dt.datetime | None = None,
    **fields,
):
    """A registered patient (registered by `by`); other registration fields pass through."""
    return services.patient_register(
        by=by,
        now=now,
        mrn=mrn,
        given_name=given_name,
        family_name=family_name,
        date_of_birth=date_of_birth,
        sex=sex,
        email=email,
        weight_kg=weight_kg,
        **fields,
    )


def course(
    patient,
    *,
    by,
    medical_provider,
    therapists=None,
    indication: str = Indication.MDD_TRD,
    now: dt.datetime | None = None,
    **fields,
):
    """An open course for `patient`, opened by `by` (its one therapist unless `therapists`)."""
    return services.course_open(
        patient=patient,
        by=by,
        now=now,
        indication=indication,
        therapists=therapists or [by],
        medical_provider=medical_provider,
        **fields,
    )


# --- the screen -------------------------------------------------------------------------------------

SIGNABLE_EVALUATION = {
    "evaluated_on": dt.date(2026, 3, 1),
    "systolic_bp": 124,
    "diastolic_bp": 78,
    "heart_rate": 72,
    "spo2": 98,
    "respiratory_rate": 14,
    "weight_kg": Decimal("70.0"),
    # Every item answered on purpose: nothing found, no childbearing potential.
    **rules.SCREEN_NOTHING_FOUND,
}


def _later(at: dt.datetime | None, after: dt.timedelta) -> dt.datetime | None:
    return None if at is None else at + after


def medical_evaluation(
    course,
    by,
    *,
    decision: str = "cleared",
    at: dt.datetime | None = None,
    sign: bool = True,
    signed_after: dt.timedelta = dt.timedelta(0),
    **fields,
):
    """A medical evaluation by provider `by`: SIGNABLE_EVALUATION unless `fields` say otherwise;
    signed (`sign`) `signed_after` its entry."""
    evaluation = services.medical_evaluation_add(
        course=course, by=by, now=at, decision=decision, **{**SIGNABLE_EVALUATION, **fields}
    )
    if sign:
        services.record_sign(record=evaluation, by=by, now=_later(at, signed_after))
    return evaluation


def psychiatric_evaluation(
    course,
    by,
    *,
    evaluated_on: dt.date,
    diagnosis: str = "Major depressive disorder, recurrent",
    suicide_risk: str = "low",
    at: dt.datetime | None = None,
    signed_after: dt.timedelta = dt.timedelta(0),
    **fields,
):
    """A signed psychiatric evaluation by therapist `by`, signed `signed_after` its entry."""
    evaluation = services.psychiatric_evaluation_add(
        course=course,
        by=by,
        now=at,
        evaluated_on=evaluated_on,
        diagnosis=diagnosis,
        suicide_risk=suicide_risk,
        **fields,
    )
    services.record_sign(record=evaluation, by=by, now=_later(at, signed_after))
    return evaluation


def clear_course(
    course,
    provider,
    therapist,
    *,
    evaluated_on: dt.date = dt.date(2026, 3, 1),
    diagnosis: str = "Major depressive disorder, recurrent",
    at: dt.datetime | None = None,
    psych_after: dt.timedelta = dt.timedelta(days=1),
    sign_delay: dt.timedelta = dt.timedelta(minutes=30),
    **screen,
):
    """A signed, cleared screen and a signed psychiatric evaluation on `course` (refreshed, returned).

    The screen is SIGNABLE_EVALUATION evaluated on `evaluated_on` (`screen` overrides its fields);
    the psychiatric evaluation comes `psych_after` later (on that day). With `at`, the screen is
    entered then and signed `sign_delay` later, the psychiatric one signed twice as long after."""
    medical_evaluation(course, provider, at=at, signed_after=sign_delay, evaluated_on=evaluated_on, **screen)
    psychiatric_evaluation(
        course,
        therapist,
        at=_later(at, psych_after),
        signed_after=2 * sign_delay,
        evaluated_on=evaluated_on + dt.timedelta(days=psych_after.days),
        diagnosis=diagnosis,
    )
    course.refresh_from_db()
    return course


def waive_open_baselines(course, by, *, reason: str, now: dt.datetime | None = None, missed: bool = True) -> None:
    """Waive the course's baseline questionnaires not answered yet (with `missed`, missed ones too)."""
    from measures import services as measures
    from measures.models import Administration, AdministrationStatus, Timepoint

    statuses = [AdministrationStatus.SCHEDULED, AdministrationStatus.OPEN]
    if missed:
        statuses.append(AdministrationStatus.MISSED)
    for administration in Administration.objects.filter(
        course=course, timepoint=Timepoint.BASELINE, status__in=statuses
    ):
        measures.administration_waive(administration=administration, by=by, reason=reason, now=now)


def prepare_course(course, therapist, *, now: dt.datetime | None = None, baseline: str = "waive"):
    """What the first dose waits for besides the screen: a signed preparatory session, and the
    baseline questionnaires answered ("answer", all zeros) or waived ("waive", the default here:
    the baseline is not what these tests are about)."""
    from measures import services as measures
    from measures.models import Administration, AdministrationStatus, Timepoint

    now = now or timezone.now()
    note = services.preparatory_session_add(
        course=course, by=therapist, held_at=now - dt.timedelta(hours=1), note="Synthetic preparation.", now=now
    )
    services.record_sign(record=note, by=therapist, now=now)
    if baseline == "answer":
        open_baselines = Administration.objects.filter(
            course=course,
            timepoint=Timepoint.BASELINE,
            status__in=[AdministrationStatus.SCHEDULED, AdministrationStatus.OPEN, AdministrationStatus.MISSED],
        )
        for administration in open_baselines:
            measures.response_enter(
                administration=administration,
                by=therapist,
                answers=answers_summing_to(administration.instrument, 0),
                now=now,
            )
    else:
        waive_open_baselines(course, therapist, reason="Baseline not under test here.", now=now)
    course.refresh_from_db()
    return course


def cleared_course_for(*, n: int, therapist, provider, format=SessionFormat.INDIVIDUAL, prepared=True):
    """A new patient (MRN BLD-n) with a PTSD course whose screen and psychiatric evaluation are signed,
    and (`prepared`) what the first dose waits for: a signed preparatory session, baseline waived."""
    registered = patient(
        by=therapist,
        mrn=f"BLD-{n:04d}",
        given_name=f"Synthetic{n}",
        family_name="Builder-Demo",
        date_of_birth=dt.date(1985, 1, 1),
        sex=Sex.MALE,
        email=f"p{n}@example.invalid",
        weight_kg=Decimal("70"),
    )
    opened = course(registered, by=therapist, medical_provider=provider, indication=Indication.PTSD, format=format)
    clear_course(opened, provider, therapist, diagnosis="PTSD")
    return prepare_course(opened, therapist) if prepared else opened


# --- doses ------------------------------------------------------------------------------------------

# A serious adverse event as a provider records it: grade 4 is serious by definition (21 CFR 312.32).
SERIOUS_EVENT = {
    "term": "hypertensive_crisis",
    "grade": 4,
    "serious": True,
    "serious_criteria": ["life_threatening"],
    "relatedness": "probable",
    "expectedness": "expected",
    "action_taken": "transferred",
}

DISCHARGE_CHECKLIST = {"alert_oriented": True, "escort_present": True, "no_driving_advised": True}


def normal_vitals(**overrides) -> dict:
    """A full set of unremarkable vital signs (`overrides` change some)."""
    values = {"systolic_bp": 128, "diastolic_bp": 80, "heart_rate": 76, "spo2": 98, "respiratory_rate": 14}
    values.update(overrides)
    return values


def dosing_session(
    *,
    provider,
    facilitators,
    start: dt.datetime | None = None,
    hours: float = 2,
    now: dt.datetime | None = None,
    **fields,
):
    """A dosing session led by `provider`, from `start` (default: half an hour ago) for `hours`."""
    start = start or timezone.now() - dt.timedelta(minutes=30)
    return services.dosing_session_schedule(
        by=provider,
        now=now,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=hours),
        medical_provider=provider,
        facilitators=facilitators,
        **fields,
    )


def session(*, therapist, provider, format=SessionFormat.INDIVIDUAL, start=None, hours=2):
    """An individual (or `format`) dosing session with one facilitator."""
    return dosing_session(provider=provider, facilitators=[therapist], start=start, hours=hours, format=format)


def dose_planned(*, session, course, provider, now: dt.datetime | None = None, **dose):
    """The course's dose planned in `session`: 35 mg IV on 70 kg, fasting, unless `dose` says otherwise."""
    values = {"route": "iv", "dose_mg": Decimal("35"), "weight_kg": Decimal("70"), "fasting_confirmed": True}
    values.update(dose)
    return services.dose_add(session=session, course=course, by=provider, now=now, **values)


def book_dose(
    course,
    provider,
    therapist,
    starts_at: dt.datetime,
    *,
    now: dt.datetime | None = None,
    weigh: bool = True,
    lot_number: str = "LOT-MEASURES",
    **dose,
):
    """A three-hour dosing session at `starts_at` with this course's dose planned in it, on the
    patient's recorded weight (with `weigh`, weighed again on the morning of the session when that
    is more than 30 days old, as the clinic would). Booked at `now` (default: the day before)."""
    now = now or starts_at - dt.timedelta(days=1)
    latest = course.patient.weights.active().order_by("-measured_on").first()
    if weigh and (latest is None or (starts_at.date() - latest.measured_on).days > 30):
        services.weight_add(
            patient=course.patient, by=provider, measured_on=starts_at.date(), weight_kg=Decimal("70"), now=starts_at
        )
    booked = dosing_session(provider=provider, facilitators=[therapist], start=starts_at, hours=3, now=now)
    return dose_planned(session=booked, course=course, provider=provider, now=now, lot_number=lot_number, **dose)


def pre_dose_vitals(dose, provider, **overrides):
    """Normal pre-dose vitals, taken now (`overrides` change some)."""
    return services.vital_reading_add(dose=dose, by=provider, phase=VitalPhase.PRE_DOSE, **normal_vitals(**overrides))


def dose_given(dose, provider, *, discharge: bool = True, monitored: dt.timedelta | None = dt.timedelta(minutes=65)):
    """Normal pre-dose vitals at the session's start and the dose ten minutes later; then
    (`discharge`) the reading at 40 minutes, a full set before discharge and the discharge,
    `monitored` after the dose (None: the protocol's minimum monitoring for its route). Returns
    the dose."""
    start = dose.session.starts_at
    services.vital_reading_add(
        dose=dose,
        by=provider,
        phase=VitalPhase.PRE_DOSE,
        taken_at=start,
        now=start + dt.timedelta(minutes=1),
        **normal_vitals(),
    )
    dosed = start + dt.timedelta(minutes=10)
    dose = services.dose_administer(dose=dose, by=provider, dosed_at=dosed, now=dosed)
    if not discharge:
        return dose
    peak = dosed + dt.timedelta(minutes=40)
    ready = dosed + (monitored if monitored is not None else selectors.minimum_monitoring(dose))
    for phase, at in ((VitalPhase.DURING, peak), (VitalPhase.PRE_DISCHARGE, ready)):
        services.vital_reading_add(dose=dose, by=provider, phase=phase, taken_at=at, now=at, **normal_vitals())
    return services.dose_discharge(dose=dose, by=provider, now=ready, **DISCHARGE_CHECKLIST)


def monitor(dose, provider, *, final=None):
    """What discharge needs in readings: the one at about 40 minutes after the dose, and a full set
    before discharge, taken now (`final` changes its values)."""
    dose.refresh_from_db()
    services.vital_reading_add(
        dose=dose,
        by=provider,
        phase=VitalPhase.DURING,
        taken_at=dose.dosed_at + dt.timedelta(minutes=40),
        **normal_vitals(),
    )
    return services.vital_reading_add(
        dose=dose, by=provider, phase=VitalPhase.PRE_DISCHARGE, **normal_vitals(**(final or {}))
    )


def group_session_with(n: int, *, therapist, provider, first: int = 100):
    """A group session with `n` new patients' prepared group courses' doses planned in it."""
    group = session(therapist=therapist, provider=provider, format=SessionFormat.GROUP)
    doses = [
        dose_planned(
            session=group,
            course=cleared_course_for(n=first + i, therapist=therapist, provider=provider, format=SessionFormat.GROUP),
            provider=provider,
        )
        for i in range(n)
    ]
    return group, doses


# --- questionnaires -------------------------------------------------------------------------------


def answers_summing_to(
    instrument: str, total: int, *, item_9: int = 0, rng: random.Random | None = None
) -> dict[int, int]:
    """Item answers of `instrument` ("phq9", "gad7", "pcl5") adding up to `total`.

    Without `rng`: filled from item 1, each to its highest value, and `total` must be reachable.
    With `rng` (the demo): spread at random, `total` clipped to what the items can hold. PHQ-9
    item 9 (the safety item) is `item_9` either way, counted in the total."""
    from measures.instruments import INSTRUMENTS, PHQ9_SAFETY_ITEM

    definition = INSTRUMENTS[instrument]
    top = max(definition.values)
    safety = instrument == "phq9"
    numbers = [i.number for i in definition.items if not (safety and i.number == PHQ9_SAFETY_ITEM)]
    if rng is not None:
        answers = dict.fromkeys(numbers, 0)
        left = max(0, min(total - item_9, top * len(numbers)))
        while left:
            n = rng.choice(numbers)
            if answers[n] < top:
                answers[n] += 1
                left -= 1
        if safety:
            answers[PHQ9_SAFETY_ITEM] = item_9
        return answers
    answers = dict.fromkeys((i.number for i in definition.items), 0)
    if safety:
        answers[PHQ9_SAFETY_ITEM] = item_9
    left = total - item_9
    for number in numbers:
        answers[number] = min(top, left)
        left -= answers[number]
    assert left == 0, f"{instrument} cannot total {total}"
    return answers
