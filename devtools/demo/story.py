"""The story of one demo course, step by step through the services: registration, the two
evaluations, preparation, individual doses with their vitals and events, integration."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from courses import rules, selectors, services
from courses.choices import (
    AdverseEventAction,
    AdverseEventOutcome,
    CourseStatus,
    Drug,
    Expectedness,
    Indication,
    IntegrationTechnique,
    PreparationTopic,
    RaceEthnicity,
    Relatedness,
    Route,
    SessionFormat,
    Sex,
    SuicideRisk,
    VitalPhase,
)
from courses.models import ClinicSettings, Course, Patient
from devtools import builders
from devtools.demo.clinic import GIVEN_NAMES, MRN_PREFIX, Clinic


def register(clinic: Clinic, number: int, opened: dt.datetime) -> Patient:
    r = clinic.rng
    sms = number % 7 == 0
    return builders.patient(
        by=clinic.lead,
        now=opened,
        mrn=f"{MRN_PREFIX}{number:04d}",
        given_name=GIVEN_NAMES[number - 1],
        family_name=f"Demo-{number:02d}",
        date_of_birth=dt.date(1950 + r.randint(0, 50), r.randint(1, 12), r.randint(1, 28)),
        sex=Sex.INTERSEX if number == 11 else Sex.UNKNOWN if number == 23 else [Sex.MALE, Sex.FEMALE][number % 2],
        race_ethnicity=list(RaceEthnicity.values)[number % len(RaceEthnicity.values)] if number % 9 else "",
        email=f"demo.patient{number:02d}@example.invalid",
        phone=f"+1-202-555-01{number:02d}",
        preferred_channel="sms" if sms else "email",
        weight_kg=Decimal(55 + r.randint(0, 45)),
    )


def open_course(
    clinic: Clinic, patient: Patient, number: int, opened: dt.datetime, *, group=False, indication=None
) -> Course:
    therapists = clinic.therapists if group or number % 5 == 0 else [clinic.therapists[number % 2]]
    indications = [
        Indication.MDD_TRD,
        Indication.PTSD,
        Indication.ANXIETY,
        Indication.MDD_TRD,
        Indication.CHRONIC_PAIN_DEPRESSION,
        Indication.SUD,
        Indication.OCD,
    ]
    return builders.course(
        patient,
        by=therapists[0],
        now=opened,
        indication=indication or indications[number % len(indications)],
        therapists=therapists,
        medical_provider=clinic.providers[0] if group else clinic.providers[number % 2],
        format=SessionFormat.GROUP if group else SessionFormat.INDIVIDUAL,
        planned_dosing_sessions=4 if group else 6,
    )


def weight_of(patient: Patient) -> Decimal:
    return patient.weights.active().first().weight_kg


def childbearing(patient: Patient, on: dt.date) -> str:
    # The demo's answer: women under 50 have childbearing potential (a negative test before each dose).
    age = on.year - patient.date_of_birth.year
    return rules.YES if patient.sex == Sex.FEMALE and age < 50 else rules.NO


def medical_evaluation(clinic: Clinic, course: Course, at: dt.datetime, *, decision="cleared", sign=True, **screen):
    """Every screen item answered on purpose: "no" unless the story says otherwise (`screen`)."""
    provider = course.medical_provider
    answers = {**rules.SCREEN_NOTHING_FOUND, rules.CHILDBEARING_FIELD: childbearing(course.patient, at.date())}
    if decision == "pending":
        # Not decided yet: the provider has gone through the absolute items only so far.
        answers.update(dict.fromkeys(rules.CAUTION_ITEMS, ""))
    answers.update({k: v if isinstance(v, str) else (rules.YES if v else rules.NO) for k, v in screen.items()})
    return builders.medical_evaluation(
        course,
        provider,
        at=at,
        sign=sign,
        signed_after=dt.timedelta(minutes=40),
        evaluated_on=timezone.localdate(at),
        history="Synthetic demo history.",
        medications="None reported.",
        weight_kg=weight_of(course.patient),
        decision=decision,
        **clinic.vitals(),
        **answers,
    )


def psychiatric_evaluation(clinic: Clinic, course: Course, at: dt.datetime, *, risk=SuicideRisk.LOW):
    therapist = course.therapists.first()
    return builders.psychiatric_evaluation(
        course,
        therapist,
        at=at,
        signed_after=dt.timedelta(minutes=50),
        evaluated_on=timezone.localdate(at),
        diagnosis=f"{course.get_indication_display()} (synthetic)",
        suicide_risk=risk,
        risk_plan="" if risk == SuicideRisk.LOW else "Safety plan agreed; crisis line and a named support person.",
    )


def evaluate(clinic: Clinic, course: Course, opened: dt.datetime, **screen) -> None:
    medical_evaluation(clinic, course, opened + dt.timedelta(days=1, hours=1), **screen)
    psychiatric_evaluation(clinic, course, opened + dt.timedelta(days=2, hours=3))


def prepare(
    clinic: Clinic, course: Course, opened: dt.datetime, *, sessions: int = 1, sign=True, waive: str = ""
) -> None:
    """Preparation: the stage, 1–2 preparatory sessions, and the baseline questionnaires answered
    (the first dose waits for them), or, with `waive`, that instrument's baseline waived."""
    therapist = course.therapists.first()
    answer_baseline(clinic, course, opened + dt.timedelta(days=3, hours=8), waive=waive)
    services.course_change_status(
        course=course, by=therapist, to_status=CourseStatus.PREPARATION, now=opened + dt.timedelta(days=2, hours=5)
    )
    for n in range(sessions):
        held = opened + dt.timedelta(days=4 + 2 * n, hours=1)
        note = services.preparatory_session_add(
            course=course,
            by=therapist,
            now=held + dt.timedelta(hours=1),
            held_at=held,
            topics=[PreparationTopic.EFFECTS_AND_RISKS, PreparationTopic.SET_AND_SETTING, PreparationTopic.INTENTIONS]
            if n == 0
            else [PreparationTopic.CHALLENGING_MOMENTS, PreparationTopic.LOGISTICS],
            intentions="Synthetic intention: reconnect with what matters.",
            note="Synthetic preparatory note for the demo practice.",
        )
        if sign:
            services.record_sign(record=note, by=therapist, now=held + dt.timedelta(hours=1, minutes=10))


def answer_baseline(c: Clinic, course: Course, at: dt.datetime, *, waive: str = "") -> None:
    """The patient answers the baseline questionnaires in the clinic, before the first dose."""
    from measures import services as measures
    from measures.models import Administration, AdministrationStatus, Timepoint

    therapist = course.therapists.first()
    baseline = Administration.objects.filter(
        course=course,
        timepoint=Timepoint.BASELINE,
        status__in=[AdministrationStatus.SCHEDULED, AdministrationStatus.OPEN],
    ).order_by("instrument")
    for administration in baseline:
        if administration.instrument == waive:
            measures.administration_waive(
                administration=administration,
                by=therapist,
                now=at,
                reason="Ran out of time at intake; PHQ-9 and GAD-7 answered. The medical director decided not to "
                "delay the first dose for the PTSD checklist.",
            )
            continue
        total = round(c.plan(course).baseline[administration.instrument] + c.rng.randint(-1, 1))
        measures.response_enter(
            administration=administration,
            by=therapist,
            answers=builders.answers_summing_to(administration.instrument, max(0, total), rng=c.rng),
            answered_at=at,
            now=at,
        )


DOSES = {
    "iv": {"drug": Drug.RACEMIC_KETAMINE, "route": Route.IV, "mg_per_kg": Decimal("0.5")},
    "im": {"drug": Drug.RACEMIC_KETAMINE, "route": Route.IM, "mg_per_kg": Decimal("0.75")},
    "sublingual": {"drug": Drug.RACEMIC_KETAMINE, "route": Route.SUBLINGUAL, "mg": Decimal("300")},
    "esketamine": {"drug": Drug.ESKETAMINE, "route": Route.INTRANASAL, "mg": Decimal("56")},
}


def dose_fields(clinic: Clinic, course: Course, kind: str, at: dt.datetime, over_maximum: bool = False) -> dict:
    """A dose calculated on the patient's recorded weight; weighed again when the last weight is
    older than the clinic accepts; a negative pregnancy test where the screen asks for one."""
    spec = DOSES[kind]
    latest = course.patient.weights.active().order_by("-measured_on").first()
    weight = latest.weight_kg
    stale = (timezone.localdate(at) - latest.measured_on).days > ClinicSettings.load().weight_max_age_days
    mg = spec.get("mg") or (weight * spec["mg_per_kg"]).quantize(Decimal("0.1"))
    screen = services.active_medical_evaluation(course)
    fields = {
        "drug": spec["drug"],
        "route": spec["route"],
        "dose_mg": mg,
        "weight_kg": weight,
        "weighed_now": stale,
        "lot_number": clinic.next_lot(),
        "fasting_confirmed": True,
        "pregnancy_test": "negative" if screen.childbearing_potential == rules.YES else "not_applicable",
    }
    if over_maximum:
        fields["dose_mg"] = (weight * Decimal("1.1")).quantize(Decimal("0.1"))
        fields["over_maximum_reason"] = "Partial response at 1.0 mg/kg; medical director approved 1.1 mg/kg."
    return fields


def schedule(clinic: Clinic, provider: User, facilitators, start: dt.datetime, fmt=SessionFormat.INDIVIDUAL):
    return builders.dosing_session(
        provider=provider,
        facilitators=facilitators,
        start=start,
        hours=3,
        now=start - dt.timedelta(days=3),
        format=fmt,
        location="Room 2 (demo)",
    )


def run_dose(
    clinic: Clinic,
    dose,
    start: dt.datetime,
    *,
    hold=False,
    alert=False,
    discharge=True,
    events=(),
    close_alert=True,
    discharge_exception=False,
) -> None:
    """Pre-dose vitals, the dose, vitals during and before discharge, adverse events, discharge.

    `hold`: a raised pre-dose pressure, overridden with a reason. `alert`: a reading above the
    alert threshold at 40 minutes, rechecked and closed with what was done (unless `close_alert`
    is off: still open, as in a session under way). `discharge_exception`: the reading before
    discharge still alerts, and the provider documents why discharge is safe."""
    provider = dose.session.medical_provider
    pre = clinic.vitals(rise=30) if hold else clinic.vitals()
    services.vital_reading_add(
        dose=dose,
        by=provider,
        phase=VitalPhase.PRE_DOSE,
        taken_at=start,
        now=start + dt.timedelta(minutes=2),
        **pre,
    )
    if hold:
        services.dosing_hold_override(
            dose=dose,
            by=provider,
            now=start + dt.timedelta(minutes=8),
            reason="Repeat BP after 10 minutes of rest still mildly raised; no symptoms, usual for this patient "
            "(white-coat pattern documented at evaluation). Dosing with closer monitoring.",
        )
    dosed = start + dt.timedelta(minutes=15)
    dose = services.dose_administer(dose=dose, by=provider, dosed_at=dosed, now=dosed)
    during_at = dosed + dt.timedelta(minutes=40)
    during = dict(clinic.vitals(rise=18), systolic_bp=184, diastolic_bp=112) if alert else clinic.vitals(rise=14)
    reading = services.vital_reading_add(
        dose=dose, by=provider, phase=VitalPhase.DURING, taken_at=during_at, now=during_at, **during
    )
    if alert and close_alert:
        recheck_at = during_at + dt.timedelta(minutes=10)
        services.vital_reading_add(
            dose=dose,
            by=provider,
            phase=VitalPhase.DURING,
            taken_at=recheck_at,
            now=recheck_at,
            **clinic.vitals(rise=22),
        )
        services.in_session_alert_close(
            alert=reading.in_session_alerts.get(),
            by=provider,
            action="recheck",
            note="Quiet room, eyeshades off, reassurance; BP down on the 10-minute recheck. No treatment needed.",
            now=recheck_at + dt.timedelta(minutes=1),
        )
    for offset, event in events:
        services.adverse_event_add(
            dose=dose,
            by=provider,
            now=dosed + offset,
            onset_at=dosed + offset - dt.timedelta(minutes=5),
            **event,
        )
    if not discharge:
        return
    minutes = selectors.minimum_monitoring(dose)
    ready = dosed + minutes + dt.timedelta(minutes=5)
    final = dict(clinic.vitals(rise=4), systolic_bp=183, diastolic_bp=98) if discharge_exception else clinic.vitals(4)
    reading = services.vital_reading_add(
        dose=dose,
        by=provider,
        phase=VitalPhase.PRE_DISCHARGE,
        taken_at=ready - dt.timedelta(minutes=5),
        now=ready,
        **final,
    )
    if discharge_exception:
        services.in_session_alert_close(
            alert=reading.in_session_alerts.get(),
            by=provider,
            action="other",
            note="Asymptomatic; BP 183/98 against 176/96 at evaluation (treated hypertension); home BP cuff; "
            "escort briefed to call if headache or chest pain.",
            now=ready,
        )
    services.dose_discharge(
        dose=dose,
        by=provider,
        now=ready,
        discharged_at=ready,
        **builders.DISCHARGE_CHECKLIST,
        exception_reason="Systolic 183 is the patient's usual treated level (176 at evaluation); alert, no headache "
        "or chest pain, escort present; GP letter sent."
        if discharge_exception
        else "",
    )


def close_session(session, doses, therapist: User, at: dt.datetime, note: str) -> None:
    services.dosing_session_note(session=session, by=therapist, now=at, facilitation_note=note)
    for dose in doses:
        services.record_sign(record=dose, by=session.medical_provider, now=at + dt.timedelta(minutes=5))
    services.record_sign(record=session, by=therapist, now=at + dt.timedelta(minutes=10))


def individual_dose(
    clinic: Clinic, course: Course, start: dt.datetime, kind: str = "iv", *, sign=True, over_maximum=False, **run
):
    provider = course.medical_provider
    therapist = course.therapists.first()
    if course.status == CourseStatus.PREPARATION:
        services.course_change_status(
            course=course, by=provider, to_status=CourseStatus.DOSING, now=start - dt.timedelta(minutes=30)
        )
        course.refresh_from_db()
    session = schedule(clinic, provider, [therapist], start)
    dose = builders.dose_planned(
        session=session,
        course=course,
        provider=provider,
        now=start - dt.timedelta(minutes=20),
        **dose_fields(clinic, course, kind, start, over_maximum),
    )
    run_dose(clinic, dose, start, **run)
    if sign:
        close_session(
            session,
            [dose],
            therapist,
            start + dt.timedelta(hours=2, minutes=30),
            "Synthetic facilitation note: settled quickly, music-guided, gentle debrief.",
        )
    course.refresh_from_db()
    return dose


def integrate(clinic: Clinic, course: Course, at: dt.datetime) -> None:
    therapist = course.therapists.first()
    if course.status == CourseStatus.DOSING:
        services.course_change_status(
            course=course, by=therapist, to_status=CourseStatus.INTEGRATION, now=at - dt.timedelta(hours=1)
        )
    note = services.integration_session_add(
        courses=[course],
        by=therapist,
        held_at=at,
        now=at + dt.timedelta(hours=1),
        techniques=[IntegrationTechnique.TALK, IntegrationTechnique.JOURNALING],
        note="Synthetic integration note: themes of self-compassion; journaling between sessions.",
    )
    services.record_sign(record=note, by=therapist, now=at + dt.timedelta(hours=1, minutes=5))
    course.refresh_from_db()


def advance(course: Course, by: User, to_status: str, at: dt.datetime) -> None:
    services.course_change_status(course=course, by=by, to_status=to_status, now=at)
    course.refresh_from_db()


def through_integration(clinic: Clinic, course: Course, opened: dt.datetime, dose_days: list[int], kind: str) -> int:
    """Evaluation, preparation, the doses on the given days ago, two integration sessions."""
    evaluate(clinic, course, opened)
    prepare(clinic, course, opened)
    for days_ago in dose_days:
        individual_dose(clinic, course, clinic.at(days_ago, 9 + len(dose_days) % 3 * 2), kind)
    last = dose_days[-1]
    integrate(clinic, course, clinic.at(last - 1, 15))
    integrate(clinic, course, clinic.at(last - 7, 15))
    return last


NAUSEA = {
    "term": "nausea",
    "grade": 1,
    "relatedness": Relatedness.PROBABLE,
    "expectedness": Expectedness.EXPECTED,
    "action_taken": AdverseEventAction.NONE,
    "outcome": AdverseEventOutcome.RESOLVED,
    "description": "Mild nausea, settled without treatment.",
}
DISSOCIATION = {
    "term": "dissociation",
    "grade": 2,
    "relatedness": Relatedness.DEFINITE,
    "expectedness": Expectedness.EXPECTED,
    "action_taken": AdverseEventAction.NONE,
    "outcome": AdverseEventOutcome.RESOLVED,
    "description": "Distressing dissociation, eased with reassurance.",
}
HYPERTENSIVE_CRISIS = {
    "term": "hypertensive_crisis",
    "grade": 3,
    "serious": True,
    "serious_criteria": ["other_important"],
    "relatedness": Relatedness.PROBABLE,
    "expectedness": Expectedness.EXPECTED,
    "action_taken": AdverseEventAction.MEDICATION_GIVEN,
    "outcome": AdverseEventOutcome.RESOLVED,
    "description": "BP 196/118 at 35 min; labetalol given; settled by 90 min.",
}
SUICIDALITY = {
    "term": "emergent_suicidality",
    "grade": 3,
    "serious": True,
    "serious_criteria": ["hospitalisation"],
    "relatedness": Relatedness.UNLIKELY,
    "expectedness": Expectedness.EXPECTED,
    "action_taken": AdverseEventAction.TRANSFERRED,
    "outcome": AdverseEventOutcome.RESOLVED,
    "description": "Voiced intent after the session; admitted overnight.",
}
